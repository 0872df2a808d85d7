"""Hemifacial spasm findings: a finding only from a pattern, with the footage it rests on.

Shape contract
    in:  events DataFrame (``events.EVENT_COLUMNS``) and the signals it came from
    out: dict, JSON-ready:
         ``finding``  {status: spasm | no_spasm | not_enough_footage, affected_sides,
                      reason, blepharospasm_like, blepharospasm_reason}: the one finding that
                      summary.json, the reports, triage and the web app all show;
         ``footage``  seconds recorded, with a trusted face, at rest and assessable (the
                      footage twitch rates rest on), and in speech, expressions, head motion;
         ``per_side`` {left, right: twitches in assessable footage, rates per assessable
                      minute, regions}; ``grades`` (SMC and Jankovic, only for an affected
                      side, each with its reasons); ``movements`` and ``closures`` (one-sided
                      movements during activity and long closures of both eyes: reported,
                      never counted as spasm).

A finding needs a pattern (../shared/CLINICAL.md: repeated, stereotyped, one-sided
contractions): at least ``finding_min_twitches`` twitches of one side, at least
``finding_one_sided`` of all twitches on that side, in at least ``finding_min_assessable_s``
of assessable footage. Anything less is "no spasm seen" or "not enough footage", in words.

Scales (../shared/CLINICAL.md): SMC grade (Lee 2012) I eye only, II spread to other muscles
of the same side, III frequent tonic spasms that interfere with vision, IV disfiguring
asymmetry. Jankovic rating scale: severity 0-4 and frequency 0-4. From a short video these
are estimates of what a clinician would grade, and say so with their reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..reporting import shown_against
from ..settings import AnalysisSettings
from .activity import activity

ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
MIN_CLOSURES_PER_MIN = 2.0  # forced closures of both eyes per minute that suggest blepharospasm


def _side_summary(ev: pd.DataFrame, side: str, minutes: float) -> dict[str, Any]:
    tw = ev[(ev["kind"] == "twitch") & (ev["side"] == side)]
    dur = (tw["offset_s"] - tw["onset_s"]).clip(lower=0)
    tonic = tw[tw["pattern"] == "tonic"]
    regions = sorted({r for rs in tw["regions"] for r in str(rs).split("+") if r},
                     key=["eye", "brow", "cheek", "mouth"].index)
    return {
        "twitch_count": int(len(tw)),
        "twitches_per_min": round(len(tw) / minutes, 2) if minutes else None,
        "clonic_count": int((tw["pattern"] == "clonic").sum()),
        "tonic_count": int(len(tonic)),
        "episodes": int(tw["episode"].nunique()) if len(tw) else 0,
        "percent_time_in_spasm": round(100 * float(dur.sum()) / (minutes * 60), 2) if minutes else None,
        "regions": regions,
        "first_region": str(tw.iloc[0]["region"]) if len(tw) else None,
        "longest_tonic_s": round(float((tonic["offset_s"] - tonic["onset_s"]).max()), 3) if len(tonic) else 0.0,
        "max_amplitude_mm": round(float(tw["amplitude_mm"].max()), 2) if len(tw) else 0.0,
    }


def smc_grade(side: dict[str, Any]) -> tuple[int, list[str]]:
    """Estimated SMC grade (0 = no spasm seen) with reasons."""
    if side["twitch_count"] == 0:
        return 0, ["no twitch was seen in this recording"]
    reasons = []
    lower = [r for r in side["regions"] if r != "eye"]
    grade = 1
    if "eye" in side["regions"]:
        reasons.append("twitches of the eyelid")
    if lower:
        grade = 2
        reasons.append(f"spread beyond the eye to the {', '.join(lower)} on the same side")
    if side["tonic_count"] >= 2 and "eye" in side["regions"]:
        grade = 3
        reasons.append(f"{side['tonic_count']} tonic spasms closing the eye, which interfere with vision")
    if side["percent_time_in_spasm"] and side["percent_time_in_spasm"] >= 50 and lower:
        grade = 4
        reasons.append(f"the face is pulled for {side['percent_time_in_spasm']}% of the time: a lasting asymmetry")
    return grade, reasons


def jankovic(side: dict[str, Any]) -> dict[str, Any]:
    """Estimated Jankovic severity and frequency (0-4 each) with reasons."""
    pct = side["percent_time_in_spasm"] or 0.0
    rate = side["twitches_per_min"] or 0.0
    n = side["twitch_count"]
    if n == 0:
        sev, sev_r = 0, "no spasm seen"
    elif side["tonic_count"] and (side["longest_tonic_s"] >= 5 or pct >= 25):
        sev, sev_r = 4, f"tonic closures up to {side['longest_tonic_s']} s, {pct}% of the time: incapacitating"
    elif side["tonic_count"] or pct >= 10:
        sev, sev_r = 3, f"very noticeable spasms ({side['tonic_count']} tonic, {pct}% of the time)"
    elif rate >= 2 or side["max_amplitude_mm"] >= 3:
        sev, sev_r = 2, f"noticeable twitching ({rate}/min, up to {side['max_amplitude_mm']} mm)"
    else:
        sev, sev_r = 1, f"occasional small twitches ({rate}/min)"
    if n == 0:
        freq, freq_r = 0, "no spasm seen"
    elif pct >= 50:
        freq, freq_r = 4, f"spasm for {pct}% of the time: functionally blind while it lasts"
    elif side["longest_tonic_s"] >= 60 or pct >= 20:
        freq, freq_r = 3, f"spasms filling {pct}% of the time"
    elif rate >= 1:
        freq, freq_r = 2, f"fluttering {rate} times a minute, each shorter than a minute"
    else:
        freq, freq_r = 1, f"infrequent ({rate}/min)"
    return {"severity": sev, "frequency": freq, "total": sev + freq,
            "reasons": {"severity": sev_r, "frequency": freq_r}}


def pupils_px(signals: pd.DataFrame) -> np.ndarray:
    """Pixels between the pupils in each frame with a face: the recording's interpupillary
    distance over the frame's scale, which follows a rolling median (steady as the head turns)."""
    ipd = signals["ipd_mm"].to_numpy(dtype=float)
    if not np.isfinite(ipd).any():
        return np.full(len(ipd), np.nan)
    return float(np.nanmedian(ipd)) / signals["mm_per_px"].to_numpy(dtype=float)


def too_small(signals: pd.DataFrame, settings: AnalysisSettings) -> np.ndarray:
    """Frames whose face is too small in the picture to judge (``settings.min_pupils_px``): the
    real clips blinks and twitches were evaluated on go down to 37 pixels between the pupils
    (ZJU 45, ``natural/`` 37 while the head turns). A smaller face is followed and measured
    (``measure.landmarks``) but not judged."""
    with np.errstate(invalid="ignore"):
        return pupils_px(signals) < settings.min_pupils_px


def _footage(signals: pd.DataFrame, act: pd.DataFrame, small: np.ndarray | None = None) -> dict[str, Any]:
    t = signals["time_s"].to_numpy()
    frame_s = float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30
    ok = signals["quality_ok"].to_numpy(dtype=bool)
    small = np.zeros(len(t), bool) if small is None else small
    rest = ok & ~act["active"].to_numpy()
    if "cheek_lift_left_mm" in signals:  # twitch detection also needs the skin motion there
        rest &= signals["cheek_lift_left_mm"].notna().to_numpy()
    ctx = act["context"].to_numpy()
    return {
        "recorded_s": round(len(t) * frame_s, 2),
        "face_trusted_s": round(float(ok.sum()) * frame_s, 2),
        "assessable_s": round(float(rest.sum()) * frame_s, 2),
        "assessable_fraction": round(float(rest.mean()), 4) if len(rest) else 0.0,
        "speech_s": round(float((ctx == "speech").sum()) * frame_s, 2),
        "expression_s": round(float((ctx == "expression").sum()) * frame_s, 2),
        "head_motion_s": round(float((ctx == "head_motion").sum()) * frame_s, 2),
        "face_too_small_s": round(float(small.sum()) * frame_s, 2),
        "pupils_px": round(float(np.nanmedian(px)), 1) if np.isfinite(px := pupils_px(signals)).any() else None,
        "meaning": ("assessable: a trusted face at rest (no speech, expression or head motion), "
                    "where twitches are counted; a face too small in the picture is not trusted"),
    }


def _finding(per_side: dict[str, Any], footage: dict[str, Any], closures: pd.DataFrame,
             settings: AnalysisSettings) -> dict[str, Any]:
    secs = footage["assessable_s"]
    counts = {s: per_side[s]["twitch_count"] for s in ("left", "right")}
    total = sum(counts.values())
    pattern = [s for s in ("left", "right") if counts[s] >= settings.finding_min_twitches
               and counts[s] >= settings.finding_one_sided * total]
    where = f"{shown_against(secs, settings.finding_min_assessable_s)} s of assessable resting footage"
    if secs < settings.finding_min_assessable_s and footage["face_too_small_s"] >= footage["recorded_s"] / 2:
        status, reason = "not_enough_footage", (
            f"the face is too small in the picture to judge: {footage['pupils_px']:.0f} pixels between the "
            f"pupils, at least {settings.min_pupils_px:.0f} are needed; film closer, the face filling a good "
            "part of the picture")
    elif secs < settings.finding_min_assessable_s:
        status, reason = "not_enough_footage", (
            f"too little steady resting footage to judge: {where} (needs "
            f"{settings.finding_min_assessable_s:.0f} s); record sitting still, facing the camera, "
            "without talking")
    elif pattern:
        side = pattern[0]
        status, reason = "spasm", (
            f"repeated one-sided twitching: {counts[side]} twitches of the {side} side "
            f"({', '.join(per_side[side]['regions'])}) against {total - counts[side]} of the "
            f"other, in {where}")
    else:
        status = "no_spasm"
        seen = f"; {total} isolated twitch{'es' if total != 1 else ''} seen, not a pattern" if total else ""
        reason = f"no repeated one-sided twitching in {where}{seen}"
    # squeezing the eyes shut while laughing or talking is ordinary; a squeeze raises both
    # cheeks, so the closure's own context may read as an expression
    n_cl = len(closures)
    n_forced = int(((closures["pattern"] == "forced")
                    & closures["context"].isin(["rest", "expression"])).sum())
    bleph = bool(status != "not_enough_footage" and n_forced >= settings.finding_min_twitches
                 and n_forced / (secs / 60) >= MIN_CLOSURES_PER_MIN)
    if status == "not_enough_footage":
        bleph_reason = f"too little steady resting footage to judge closures of both eyes ({secs:.0f} s)"
    else:
        bleph_reason = (f"{n_cl} long closures of both eyes, {n_forced} of them squeezed shut without speech, "
                        f"in {where}" + (": repeated forced closures, as in blepharospasm" if bleph else
                                         ": no repeated forced closures (a slow blink or a look down "
                                         "is not blepharospasm)"))
    return {"status": status, "affected_sides": pattern if status == "spasm" else [],
            "reason": reason, "blepharospasm_like": bleph, "blepharospasm_reason": bleph_reason}


def summarize_events(events: pd.DataFrame, signals: pd.DataFrame,
                     settings: AnalysisSettings | None = None,
                     act: pd.DataFrame | None = None, small: np.ndarray | None = None) -> dict[str, Any]:
    """See the module's shape contract; ``act`` as in ``events.detect_events``; ``small``: the
    frames left out as too small to judge (``too_small``)."""
    settings = settings or AnalysisSettings()
    footage = _footage(signals, activity(signals, settings) if act is None else act, small)
    enough = footage["assessable_s"] >= settings.finding_min_assessable_s
    minutes = footage["assessable_s"] / 60 if enough else 0.0  # no rate from too little footage
    blinks = int((events["kind"] == "blink").sum())
    blink_minutes = footage["face_trusted_s"] / 60 if footage["face_trusted_s"] >= settings.finding_min_assessable_s else 0.0
    per_side = {side: _side_summary(events, side, minutes) for side in ("left", "right")}
    for s in per_side.values():
        s["blinks_per_min"] = round(blinks / blink_minutes, 2) if blink_minutes else None
    closures = events[events["kind"] == "closure"]
    finding = _finding(per_side, footage, closures, settings)
    grades: dict[str, Any] = {}
    for side, s in per_side.items():
        if side in finding["affected_sides"]:
            g, reasons = smc_grade(s)
            grades[side] = {"smc_grade": ROMAN[g], "smc_reasons": reasons, "jankovic": jankovic(s)}
        else:
            grades[side] = {"smc_grade": None, "jankovic": None,
                            "smc_reasons": ["not graded: " + finding["reason"]]}
    moves = events[events["kind"] == "movement"]
    return {
        "finding": finding,
        "footage": footage,
        "analysed_s": footage["assessable_s"],
        "blinks_total": blinks,
        "per_side": per_side,
        "bilateral_closures": int(len(closures)),
        "affected_sides": finding["affected_sides"],
        "grades": grades,
        "movements": {"count": int(len(moves)),
                      "by_context": {str(k): int(v) for k, v in moves["context"].value_counts().items()},
                      "meaning": "one-sided movements during speech, expressions or head motion; "
                                 "never counted as spasm"},
        "note": ("Grades are estimates from this recording, not a diagnosis; a clinician grades "
                 "the spasm over a longer observation."),
    }
