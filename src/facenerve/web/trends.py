"""Trends over a patient's recordings, diary and treatments (pure functions, no database).

Shape contract
    recordings: list of dicts {id, kind, day (date), metrics (from ``metrics_from_summary``)}
    diary:      list of dicts {day, sleep_hours, caffeine_drinks, alcohol_units, stress, twitching}
    treatments: list of dicts {day, kind, dose, muscles}
    out:        JSON-ready dicts of series and plain-language notes, each note with its source.

Expected courses (``shared/CLINICAL.md``): Bell's palsy begins to improve within 3 weeks in
most people and should be reassessed or referred if recovery is incomplete at 3 months
(AAO-HNS 2013); botulinum toxin for hemifacial spasm relieves for 3-4 months, then wears off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from ..exam.grading import synkinesis_word


def _cite(source_id: str) -> str:
    from ..triage.knowledge import load_knowledge

    return load_knowledge().cite(source_id)

RECOVERY_START_DAYS = 21
REFER_DAYS = 90
TOXIN_PEAK_DAYS = (14, 56)  # the toxin's full effect: weeks 2 to 8
TRIGGERS = {"sleep_hours": "sleep (hours)", "caffeine_drinks": "caffeine (drinks)",
            "alcohol_units": "alcohol (units)", "stress": "stress (0-10)"}
MIN_DAYS_FOR_ASSOCIATION = 6


def metrics_from_summary(kind: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a recording contributes to trends, from its summary.json."""
    out: dict[str, Any] = {"duration_s": summary.get("duration_s"), "face_fraction": summary.get("face_fraction")}
    if kind == "exam":
        e = summary.get("exam", {})
        g = e.get("grades", {})
        status = e.get("exam_status") or {}
        out.update({
            "hb_grade": g.get("house_brackmann", {}).get("grade"),
            "hb_roman": g.get("house_brackmann", {}).get("roman"),
            "hb_reason": g.get("house_brackmann", {}).get("reason"),  # why it was declined
            "sunnybrook": g.get("sunnybrook", {}).get("composite"),
            "eface": g.get("eface", {}).get("total"),
            "weaker_side": e.get("weaker_side"),
            "exam_status": status.get("status"),
            "exam_status_reason": status.get("reason"),
            "tasks_found": list(status.get("tasks_found") or []),
            "tasks_missing": list(status.get("tasks_missing") or []),
            "provisional": bool(e.get("provisional")),
            "notes": [n for n in e.get("notes", []) if n.startswith("Provisional")],
            "synkinesis": bool(e.get("synkinesis", {}).get("detected")),
            "synkinesis_assessed": bool(e.get("synkinesis", {}).get("assessed", True)),
            "central_pattern": bool(e.get("central_pattern")),
        })
        return out
    t = summary.get("twitch", {})
    sides = t.get("per_side", {})
    finding = t.get("finding") or {}
    affected = finding.get("affected_sides") or []

    def rate(s: str) -> float | None:
        v = sides.get(s, {}).get("twitches_per_min")
        return None if v is None else float(v)

    main = affected[0] if affected else max(("left", "right"), key=lambda s: rate(s) or 0.0)
    grades = t.get("grades", {}).get(main, {})
    out.update({
        # the one finding of summary.json (twitch.findings), with the footage it rests on
        "finding_status": finding.get("status", "not_enough_footage"),
        "finding_reason": finding.get("reason", "this recording predates twitch findings; analyse it again"),
        "assessable_s": (t.get("footage") or {}).get("assessable_s"),
        "recorded_s": (t.get("footage") or {}).get("recorded_s"),
        "twitches_per_min": rate(main),
        "twitch_side": "both" if len(affected) == 2 else (affected[0] if affected else "none"),
        "twitches_per_min_left": rate("left"), "twitches_per_min_right": rate("right"),
        "blinks_per_min": sides.get("left", {}).get("blinks_per_min"),
        "percent_time_in_spasm": sides.get(main, {}).get("percent_time_in_spasm"),
        "regions": sides.get(main, {}).get("regions", []) if affected else [],
        "smc_grade": grades.get("smc_grade"),
        "jankovic_total": (grades.get("jankovic") or {}).get("total"),
        "analysed_s": t.get("analysed_s"),
    })
    return out


MIN_GOOD_REST_S = 60.0  # a minute of steady resting footage: a rate worth comparing over time


def describe(kind: str, m: dict[str, Any]) -> dict[str, Any]:
    """One recording's finding in words, the same on every page and in both reports: a
    headline, the reason, the footage it rests on, a quality badge (good | limited | poor) and,
    when the result is partial, what to redo. "Not enough to judge" is a result like any other.

    Shape contract: ``m`` from ``metrics_from_summary``; out: JSON-ready dict of strings."""
    if kind == "exam":
        return _describe_exam(m)
    status, secs, recorded = m.get("finding_status"), m.get("assessable_s"), m.get("recorded_s")
    of = f" of {recorded:.0f} s recorded" if recorded else ""
    footage = (f"from {secs:.0f} s of steady resting video{of}" if secs is not None
               else "footage not known: analyse the recording again")
    if status == "spasm":
        rate = m.get("twitches_per_min")
        headline = f"Spasm pattern, {m.get('twitch_side')} side" + (f": {rate:.1f} twitches/min" if rate is not None else "")
    elif status == "no_spasm":
        headline = "No spasm seen"
    else:
        headline = "Not enough to judge"
    if status not in ("spasm", "no_spasm") or secs is None:
        quality = "poor"
    elif secs < MIN_GOOD_REST_S:
        quality = "limited"
    else:
        quality = "good"
    redo = ("Record again: a minute or more sitting still, facing the camera in good light, without "
            "talking." if quality != "good" else "")
    return {"headline": headline, "reason": m.get("finding_reason") or "", "footage": footage,
            "quality": quality, "quality_label": QUALITY_LABEL[quality], "redo": redo,
            "judged": status in ("spasm", "no_spasm")}


QUALITY_LABEL = {"good": "good footage", "limited": "limited footage", "poor": "not enough footage"}


def _describe_exam(m: dict[str, Any]) -> dict[str, Any]:
    from ..exam.protocol import load_protocol

    tasks = {t.id: t for t in load_protocol().tasks if t.measure != "rest"}
    status = m.get("exam_status")
    found, missing = m.get("tasks_found") or [], m.get("tasks_missing") or []
    footage = (f"from {len(found)} of the {len(tasks)} exam movements" if status else
               "tasks not known: analyse the recording again")
    reason = m.get("exam_status_reason") or ""
    if status == "not_an_exam" or m.get("hb_roman") is None:
        headline, quality = "Not graded: not enough to judge", "poor"
        # an exam whose grade was declined (no smile or snarl to judge the mouth by, too few
        # tasks graded) is not "not an exam": say why it was declined
        label = "not an exam" if status == "not_an_exam" or not status else "not graded"
        if label == "not graded" and m.get("hb_reason"):
            reason = "House-Brackmann " + m["hb_reason"]
    else:
        headline = f"House-Brackmann {m['hb_roman']}" + (" (provisional)" if m.get("provisional") else "")
        quality = "limited" if (m.get("provisional") or missing) else "good"
        label = {"good": "complete exam", "limited": "incomplete exam"}[quality]
    if status == "not_an_exam" or not found:
        redo = ("Record the guided exam (Record, then Start guided exam): it prompts each movement in "
                "turn, face the camera, in good light.")
    elif missing:
        redo = "Record the exam again, doing these movements clearly: " + " ".join(
            f"{tasks[t].prompt}" for t in missing if t in tasks)
    else:  # every movement found, but some not gradable: the note names them
        redo = " ".join(m.get("notes") or [])
    return {"headline": headline, "reason": reason, "footage": footage, "quality": quality,
            "quality_label": label, "redo": redo,
            "judged": quality != "poor",
            "synkinesis": synkinesis_word({"detected": m.get("synkinesis"),
                                           "assessed": m.get("synkinesis_assessed", True)})}


def twitch_series(recordings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{"id": r["id"], "day": r["day"], "rate": r["metrics"]["twitches_per_min"],
             "side": r["metrics"].get("twitch_side"), "smc": r["metrics"].get("smc_grade"),
             "jankovic": r["metrics"].get("jankovic_total"),
             "limited": (r["metrics"].get("assessable_s") or 0.0) < MIN_GOOD_REST_S}
            for r in recordings if r["kind"] == "twitch" and r.get("metrics")
            and r["metrics"].get("twitches_per_min") is not None]
    return sorted(rows, key=lambda x: x["day"])


def exam_series(recordings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{"id": r["id"], "day": r["day"], "hb": r["metrics"].get("hb_grade"),
             "sunnybrook": r["metrics"].get("sunnybrook"), "eface": r["metrics"].get("eface"),
             "central": r["metrics"].get("central_pattern")}
            for r in recordings if r["kind"] == "exam" and r.get("metrics")]
    return sorted(rows, key=lambda x: x["day"])


def _mean(xs: list[float]) -> float | None:
    return float(np.mean(xs)) if xs else None


def toxin_course(series: Sequence[dict[str, Any]], treatments: Sequence[dict[str, Any]],
                 today: dt.date) -> list[dict[str, Any]]:
    """For each toxin injection: twitch rate before, at full effect (weeks 2-8) and since; a
    note when the rate climbs back after the full-effect weeks (the toxin wearing off)."""
    shots = sorted(t["day"] for t in treatments if t["kind"] == "botulinum_toxin")
    out = []
    for i, shot in enumerate(shots):
        until = shots[i + 1] if i + 1 < len(shots) else today + dt.timedelta(days=1)
        before = [s["rate"] for s in series if 0 < (shot - s["day"]).days <= 42]
        peak = [s["rate"] for s in series
                if TOXIN_PEAK_DAYS[0] <= (s["day"] - shot).days <= TOXIN_PEAK_DAYS[1] and s["day"] < until]
        after = [s for s in series if (s["day"] - shot).days > TOXIN_PEAK_DAYS[1] and s["day"] < until]
        item: dict[str, Any] = {"day": shot, "rate_before": _mean(before), "rate_full_effect": _mean(peak),
                                "rate_latest": after[-1]["rate"] if after else None, "note": None,
                                "source": _cite("wang_jankovic_1998")}
        base = item["rate_full_effect"]
        if base is not None and after:
            rising = [s for s in after if s["rate"] >= max(2 * base, base + 2)]
            if rising:
                week = (rising[0]["day"] - shot).days // 7
                item["note"] = (f"Twitching is back up ({rising[0]['rate']:.1f}/min, against {base:.1f}/min "
                                f"at the toxin's full effect) from week {week} after this injection: the "
                                "usual sign of the toxin wearing off (relief commonly lasts 3-4 months). "
                                "Worth raising when planning the next injection.")
        if item["note"] is None and base is not None and item["rate_before"]:
            drop = 1 - base / item["rate_before"] if item["rate_before"] else 0
            item["note"] = (f"At full effect the twitch rate was {100 * drop:.0f}% lower than in the 6 weeks "
                            "before the injection.")
        out.append(item)
    return out


def palsy_course(series: Sequence[dict[str, Any]], onset: dt.date | None, today: dt.date) -> dict[str, Any]:
    """Compare recovery with the expected course; a note when it falls behind."""
    res: dict[str, Any] = {"onset": onset, "status": "no_data", "notes": [], "source": _cite("aao_hns_2013")}
    if not series:
        return res
    if onset is None:
        res["status"] = "no_onset"
        res["notes"].append("The day the weakness started is not known, so recovery is not compared "
                            "with the expected course.")
        return res
    days_now = (today - onset).days
    first, last = series[0], series[-1]
    hb_first, hb_last = first.get("hb"), last.get("hb")
    sb_first, sb_last = first.get("sunnybrook"), last.get("sunnybrook")
    improved = ((hb_first is not None and hb_last is not None and hb_last < hb_first)
                or (sb_first is not None and sb_last is not None and sb_last - sb_first >= 10))
    normal = (hb_last == 1) or (sb_last is not None and sb_last >= 90)
    worse = ((hb_first is not None and hb_last is not None and hb_last > hb_first)
             or (sb_first is not None and sb_last is not None and sb_first - sb_last >= 10))
    res.update({"days_since_onset": days_now, "improved": bool(improved), "recovered": bool(normal)})
    if any(s.get("central") for s in series):
        res["notes"].append("An exam showed a spared forehead with a weak lower face: a central pattern. "
                            "This needs urgent medical assessment, not watchful waiting.")
    if normal:
        res["status"] = "recovered"
        res["notes"].append("The latest exam grades as normal or near normal.")
    elif worse and days_now > RECOVERY_START_DAYS:
        res["status"] = "worsening"
        res["notes"].append(f"The weakness is worse than at the first exam, {days_now} days after onset. "
                            "Weakness that keeps worsening beyond 3 weeks needs a doctor's review.")
    elif days_now >= REFER_DAYS:
        res["status"] = "refer"
        res["notes"].append(f"Recovery is incomplete {days_now} days after onset. Guidelines advise "
                            "reassessment or referral to a facial nerve specialist at 3 months.")
    elif days_now >= RECOVERY_START_DAYS and not improved:
        res["status"] = "behind"
        res["notes"].append(f"No clear improvement {days_now} days after onset, while most people begin "
                            "to improve within 3 weeks. Tell your doctor; recovery can still come, but "
                            "it should be checked.")
    else:
        res["status"] = "on_track"
        res["notes"].append("So far within the expected course: most people begin to improve within "
                            "3 weeks, and recovery should be complete by about 3 months.")
    return res


def trigger_associations(diary: Sequence[dict[str, Any]], series: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spearman correlation of each diary trigger with the day's twitching: the measured rate
    (days with a recording) and the self-rated twitching (days with a rating)."""
    measured: dict[dt.date, list[float]] = {}
    for s in series:
        measured.setdefault(s["day"], []).append(s["rate"])
    out = []
    for field, label in TRIGGERS.items():
        for outcome in ("measured", "self_rated"):
            pairs = []
            for d in diary:
                x = d.get(field)
                y = (_mean(measured.get(d["day"], [])) if outcome == "measured" else d.get("twitching"))
                if x is not None and y is not None:
                    pairs.append((float(x), float(y)))
            item: dict[str, Any] = {"trigger": field, "label": label, "outcome": outcome, "n_days": len(pairs)}
            if len(pairs) >= MIN_DAYS_FOR_ASSOCIATION and len({p[0] for p in pairs}) > 1 and len({p[1] for p in pairs}) > 1:
                rho, p = spearmanr([p[0] for p in pairs], [p[1] for p in pairs])
                item.update({"rho": round(float(rho), 2), "p": round(float(p), 3)})
                strength = "strong" if abs(rho) >= 0.6 else "moderate" if abs(rho) >= 0.3 else "weak or no"
                direction = "more" if rho > 0 else "less"
                item["text"] = (f"{strength} link: on days with more {label.split(' (')[0]}, "
                                f"{'measured' if outcome == 'measured' else 'self-rated'} twitching was "
                                f"{direction} (Spearman {rho:+.2f}, p={p:.2f}, {len(pairs)} days)"
                                if abs(rho) >= 0.3 else
                                f"no clear link ({rho:+.2f} over {len(pairs)} days)")
            else:
                item["text"] = f"not enough days yet ({len(pairs)} of {MIN_DAYS_FOR_ASSOCIATION} needed)"
            out.append(item)
    return out


# ---- figures (matplotlib, as SVG for pages and PNG for the PDF) ---------------------------------

def _figure(kind: str, series, treatments, onset, fmt: str) -> bytes | None:
    from ..reporting import plt_agg

    plt = plt_agg()
    if kind == "twitch":
        if not series:
            return None
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.plot([s["day"] for s in series], [s["rate"] for s in series], "-", color="#d62728")
        for limited, face, label in ((False, "#d62728", "a minute or more at rest"),
                                     (True, "white", "under a minute at rest (less sure)")):
            pts = [s for s in series if s.get("limited", False) == limited]
            if pts:
                ax.plot([s["day"] for s in pts], [s["rate"] for s in pts], "o", color="#d62728",
                        markerfacecolor=face, label=label)
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
        for t in treatments:
            ax.axvline(t["day"], color="#2ca02c" if t["kind"] == "botulinum_toxin" else "#888",
                       ls="--", lw=1)
            ax.annotate("toxin" if t["kind"] == "botulinum_toxin" else t["kind"].replace("_", " "),
                        (t["day"], 0.97), xycoords=("data", "axes fraction"), rotation=90, va="top",
                        ha="left", fontsize=7, xytext=(2, 0), textcoords="offset points")
        ax.set_ylabel("twitches per minute")
        ax.set_ylim(bottom=0)
        import matplotlib.dates as mdates

        days = [s["day"] for s in series] + [t["day"] for t in treatments]
        pad = dt.timedelta(days=max(3, (max(days) - min(days)).days // 20))
        ax.set_xlim(min(days) - pad, max(days) + pad)
        loc = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    else:
        if not series:
            return None
        fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharex=True)
        x0 = onset or series[0]["day"]
        days = [(s["day"] - x0).days for s in series]
        axes[0].plot(days, [s["hb"] for s in series], "o-")
        axes[0].set_ylim(6.5, 0.5)
        axes[0].set_yticks(range(1, 7), ["I", "II", "III", "IV", "V", "VI"])
        axes[0].set_ylabel("House-Brackmann")
        axes[1].plot(days, [s["sunnybrook"] for s in series], "o-", color="#9467bd")
        axes[1].set_ylim(0, 100)
        axes[1].set_ylabel("Sunnybrook composite")
        for ax in axes:
            for d, lab in ((RECOVERY_START_DAYS, "3 weeks"), (REFER_DAYS, "3 months")):
                ax.axvline(d, color="#888", ls="--", lw=1)
                ax.annotate(lab, (d, 0.02), xycoords=("data", "axes fraction"), fontsize=7, rotation=90)
            ax.set_xlabel("days since onset" if onset else "days since first exam")
        axes[1].axhspan(65, 100, color="#2ca02c", alpha=0.08, lw=0)
        axes[0].set_xlim(min(0, *days) - 5, max(REFER_DAYS, *days) + 5)  # both panels: onset to 3 months at least
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def twitch_figure(series, treatments, fmt: str = "svg") -> bytes | None:
    return _figure("twitch", series, treatments, None, fmt)


def palsy_figure(series, onset, fmt: str = "svg") -> bytes | None:
    return _figure("palsy", series, [], onset, fmt)


def overview(recordings, diary, treatments, onset: dt.date | None, today: dt.date) -> dict[str, Any]:
    tw, ex = twitch_series(recordings), exam_series(recordings)
    return {"twitch": tw, "exam": ex, "toxin": toxin_course(tw, treatments, today),
            "palsy": palsy_course(ex, onset, today), "triggers": trigger_associations(diary, tw)}
