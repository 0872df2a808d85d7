"""Turn a video summary into the ``video_*`` findings the triage rules read.

Shape contract
    in:  a parsed summary.json of ``facenerve analyze`` (key ``twitch``) and/or of
         ``facenerve exam`` (key ``exam``), or a mapping that already holds ``video_*`` keys
    out: dict of ``video_*`` findings (vocabulary in knowledge/questions.yaml ``findings``),
         plus nothing for what the summary does not show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InputError


def _from_twitch(t: Mapping[str, Any]) -> dict[str, Any]:
    """From the twitch finding (``twitch.findings``): a side only when the recording showed
    the pattern of spasm; nothing at all when there was not enough footage to judge."""
    finding = t.get("finding")
    if not isinstance(finding, Mapping) or finding.get("status") not in ("spasm", "no_spasm"):
        return {}
    out: dict[str, Any] = {"video_bilateral_spasm": "yes" if finding.get("blepharospasm_like") else "no"}
    affected = [s for s in finding.get("affected_sides") or [] if s in ("left", "right")]
    out["video_twitch_side"] = "both" if len(affected) == 2 else (affected[0] if affected else "none")
    per_side = t.get("per_side") or {}
    if affected:
        main = max(affected, key=lambda s: (per_side.get(s) or {}).get("twitch_count", 0))
        regions: list[str] = []
        for s in affected:
            for r in (per_side.get(s) or {}).get("regions", []):
                if r not in regions:
                    regions.append(r)
        out["video_twitch_regions"] = regions
        if (per_side.get(main) or {}).get("first_region"):
            out["video_twitch_first_region"] = per_side[main]["first_region"]
        out["video_twitches_per_min"] = max(float((per_side.get(s) or {}).get("twitches_per_min") or 0)
                                            for s in affected)
    return out


def _from_exam(e: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    weak = e.get("weaker_side")
    if weak in ("left", "right", "both", "none"):
        out["video_weak_side"] = weak
    fs = e.get("forehead_sparing") or {}
    if "detected" in fs:
        out["video_forehead_spared"] = "yes" if fs["detected"] else "no"
    syn = e.get("synkinesis") or {}
    if "detected" in syn:
        out["video_synkinesis"] = "yes" if syn["detected"] else "no"
    hb = ((e.get("grades") or {}).get("house_brackmann") or {}).get("grade")
    if isinstance(hb, (int, float)):
        out["video_hb_grade"] = float(hb)
    return out


def findings_from_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """See the module's shape contract."""
    if not isinstance(summary, Mapping):
        raise InputError("the findings file must be a JSON object (a summary.json of facenerve analyze or exam)")
    out = {k: v for k, v in summary.items() if k.startswith("video_")}
    if isinstance(summary.get("twitch"), Mapping):
        out.update(_from_twitch(summary["twitch"]))
    if isinstance(summary.get("exam"), Mapping):
        out.update(_from_exam(summary["exam"]))
    if not out:
        raise InputError("the findings file holds no video findings; give the summary.json written by "
                         "'facenerve analyze' or 'facenerve exam'")
    return out
