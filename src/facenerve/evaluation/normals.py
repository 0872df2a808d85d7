"""eFACE-like scores of real normal faces, which should score as normal (100).

There is no exam recording of a normal face in ../shared/data, so this scores what real
videos of normal faces do show: the static items (brow, palpebral fissure, commissure at rest,
from the median of trusted frames) and one dynamic item, eye closure, from the spontaneous
blinks (the weaker eye's closure, summed over each blink, over the other's; median over
blinks). auto-eFACE gives
normal faces 93.8 where clinicians give 100.

Shape contract
    in:  a folder of face videos (*.mp4, *.mov, *.avi; searched recursively)
    out: dict: per video the items and their mean, and the mean over videos
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FacenerveError, InputError
from ..exam.grading import eface
from ..exam.protocol import EMOTRICS, SIDES


def normal_face_scores(result) -> dict[str, Any] | None:
    sig, ev = result.signals, result.events
    ok = sig["quality_ok"].to_numpy()
    if ok.sum() < 10:
        return None
    rest = {m: {s: float(np.nanmedian(sig.loc[ok, f"{m}_{s}_mm"])) for s in SIDES} for m in EMOTRICS}
    closures = []  # per blink and side: closure summed over the blink (robust to a frame's lag)
    for _, b in ev[ev["kind"] == "blink"].iterrows():
        win = sig.iloc[int(b["onset_frame"]):int(b["offset_frame"]) + 1]
        c = {s: float(np.nansum(np.clip(1 - win[f"eye_aperture_{s}_mm"] / rest["eye_aperture"][s], 0, 1)))
             for s in SIDES}
        if max(c.values()) > 0:
            closures.append(c)
    ratio = None
    if closures:
        r = [min(c.values()) / max(c.values()) for c in closures]
        ratio = float(np.clip(np.median(r), 0, 1))
    # the side that moves less is graded, as for an exam
    side = "left" if closures and np.median([c["left"] - c["right"] for c in closures]) < 0 else "right"
    no_synk = {"per_expression": {}}
    e = eface(rest, {"gentle_eye_closure": ratio}, no_synk, side)
    items = [*e["static_items"].values(), *e["dynamic_items"].values()]
    return {"static_items": e["static_items"], "eye_closure_item": e["dynamic_items"].get("gentle_eye_closure"),
            "blinks": len(closures), "score": round(float(np.mean(items)), 1)}


def evaluate_normal_faces(folder: str | Path, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from ..twitch.analyze import analyze_video

    folder = Path(folder)
    videos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mp4", ".mov", ".avi"))
    if not videos:
        raise InputError(f"no face videos in {folder}")
    rows, skipped = [], []
    for v in tqdm(videos, desc="normal faces", disable=not progress):
        try:
            res = analyze_video(v)
        except FacenerveError as err:
            skipped.append({"video": v.name, "why": str(err)})
            continue
        s = normal_face_scores(res)
        if s is None:
            skipped.append({"video": v.name, "why": "too few frames facing the camera"})
            continue
        rows.append({"video": v.name, **s})
    scores = [r["score"] for r in rows]
    return {
        "videos": len(rows),
        "mean_score": round(float(np.mean(scores)), 1) if scores else None,
        "min_score": round(float(np.min(scores)), 1) if scores else None,
        "items": "static brow, palpebral fissure, commissure; dynamic eye closure from blinks",
        "per_video": rows,
        "skipped": skipped,
    }
