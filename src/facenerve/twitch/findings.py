"""Hemifacial spasm findings: rates per side and estimated SMC and Jankovic grades.

Shape contract
    in:  events DataFrame (``events.EVENT_COLUMNS``) and the signals it came from
    out: dict, JSON-ready: ``per_side`` {left, right: rates and regions}, ``grades`` (SMC grade
         and Jankovic severity and frequency, each with its reasons), ``analysed_s``.

Scales (../shared/CLINICAL.md): SMC grade (Lee 2012) I eye only, II spread to other muscles
of the same side, III frequent tonic spasms that interfere with vision, IV disfiguring
asymmetry. Jankovic rating scale: severity 0-4 and frequency 0-4. From a short video these
are estimates of what a clinician would grade, and say so with their reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..settings import AnalysisSettings

ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}


def _side_summary(ev: pd.DataFrame, side: str, blinks: int, minutes: float) -> dict[str, Any]:
    tw = ev[(ev["kind"] == "twitch") & (ev["side"] == side)]
    dur = (tw["offset_s"] - tw["onset_s"]).clip(lower=0)
    tonic = tw[tw["pattern"] == "tonic"]
    regions = sorted({r for rs in tw["regions"] for r in str(rs).split("+") if r},
                     key=["eye", "brow", "cheek", "mouth"].index)
    return {
        "blinks_per_min": round(blinks / minutes, 2) if minutes else None,
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
        "other_babinski_sign": bool(tw["brow_raise"].any()) if len(tw) else False,
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


def summarize_events(events: pd.DataFrame, signals: pd.DataFrame,
                     settings: AnalysisSettings | None = None) -> dict[str, Any]:
    fps_t = signals["time_s"].to_numpy()
    frame_s = float(np.median(np.diff(fps_t))) if len(fps_t) > 1 else 1 / 30
    analysed_s = float(signals["quality_ok"].sum()) * frame_s
    minutes = analysed_s / 60
    blinks = int((events["kind"] == "blink").sum())
    per_side = {side: _side_summary(events, side, blinks, minutes) for side in ("left", "right")}
    grades: dict[str, Any] = {}
    for side, s in per_side.items():
        g, reasons = smc_grade(s)
        grades[side] = {"smc_grade": ROMAN[g], "smc_reasons": reasons, "jankovic": jankovic(s)}
    both = events[(events["kind"] == "twitch") & (events["side"] == "both")]
    affected = [s for s in ("left", "right") if per_side[s]["twitch_count"]]
    return {
        "analysed_s": round(analysed_s, 2),
        "blinks_total": blinks,
        "per_side": per_side,
        "bilateral_closures": int(len(both)),
        "affected_sides": affected,
        "grades": grades,
        "note": ("Grades are estimates from this recording, not a diagnosis; a clinician grades "
                 "the spasm over a longer observation."),
    }
