"""``facenerve evaluate blinks``: blink detection against ``.tag`` annotations.

For every ``<clip>.mp4`` with a ``<clip>.tag`` beside it, the clip is analysed and its
blinks are matched to the annotated ones (overlapping frame intervals, each annotation
matched at most once). Only annotated frames are scored: detections that start after the
last annotated frame are left out. Reported over the whole set:

- event-level precision, recall and F1 of facenerve's detector;
- blinks misreported as twitches (twitch events overlapping an annotated blink) and all
  twitches reported in these twitch-free clips, also per 10 minutes of scored video;
- per-eye agreement on fully-closed frames (annotated ``C``; detected: closure >= 0.7);
- the classic baseline side by side: an eye-aspect-ratio threshold (Soukupova & Cech 2016;
  both eyes' mean EAR below T for at least 2 frames) at T = 0.2 and at the T that scores
  best on this set (the baseline's most favourable setting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..settings import AnalysisSettings
from ..twitch.events import eye_closure
from .annotations import TagAnnotation, read_tag
from .metrics import EventScore, match_intervals, score_ci

CLOSED_LEVEL = 0.7


def ear_threshold_blinks(signals: pd.DataFrame, threshold: float, min_frames: int = 2) -> list[tuple[int, int]]:
    ear = signals[["ear_left", "ear_right"]].mean(axis=1).to_numpy()
    below = np.nan_to_num(ear, nan=1.0) < threshold
    from ..twitch.events import _runs

    return [(int(s), int(e)) for s, e in _runs(below) if e - s + 1 >= min_frames]


def find_clips(folder: str | Path) -> list[tuple[Path, Path]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give the folder holding the .mp4 and .tag files")
    clips = [(v, v.with_suffix(".tag")) for v in sorted(folder.iterdir())
             if v.suffix.lower() in (".mp4", ".avi", ".mov", ".mkv") and v.with_suffix(".tag").exists()]
    if not clips:
        raise InputError(f"{folder} has no video with a .tag annotation beside it")
    return clips


def _closed_agreement(sig: pd.DataFrame, ann: TagAnnotation, fps: float) -> dict[str, Any]:
    out = {}
    n = min(len(sig), ann.n_frames)
    mask = ann.annotated[:n]
    for side, truth in (("left", ann.closed_left), ("right", ann.closed_right)):
        c, _ = eye_closure(sig.iloc[:n], side, fps)
        pred = np.nan_to_num(c, nan=0) >= CLOSED_LEVEL
        t = truth[:n][mask]
        p = pred[mask]
        out[side] = (int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum()), int((~t & ~p).sum()))
    return out


def evaluate_blinks(folder: str | Path, settings: AnalysisSettings | None = None,
                    progress: bool = False, work: str | Path | None = None) -> dict[str, Any]:
    """The module's figures over the annotated clips of ``folder``; each clip's measures are
    kept in (and read from) ``work`` when given, as ``evaluate natural`` and ``injected`` keep
    theirs."""
    from ..twitch.activity import frame_rate
    from .realfaces import _events, measured

    settings = settings or AnalysisSettings()
    work = Path(work) if work else None
    clips = find_clips(folder)
    ours = EventScore()
    thresholds = np.round(np.arange(0.10, 0.36, 0.01), 2)
    base = {float(t): EventScore() for t in thresholds}
    misreported = 0
    twitches = 0
    scored_s = 0.0
    closed = {"left": np.zeros(4, int), "right": np.zeros(4, int)}
    per_clip = []
    iterator = clips
    if progress:
        from tqdm import tqdm

        iterator = tqdm(clips, unit="clip", leave=False)
    for video, tag in iterator:
        ann = read_tag(tag)
        signals, _ = measured(video, work, settings)
        events, _ = _events(signals, settings)
        fps = frame_rate(signals)
        last = int(np.flatnonzero(ann.annotated)[-1])
        scored_s += (last + 1) / fps
        ev = events[events["onset_frame"] <= last]
        truth = ann.blinks()
        det = [(int(a), int(b)) for a, b in ev[ev["kind"] == "blink"][["onset_frame", "offset_frame"]].to_numpy()]
        score, _ = match_intervals(det, truth)
        ours.add(score)
        tw = ev[ev["kind"] == "twitch"]
        twitches += len(tw)
        misreported += sum(any(a <= t1 and b >= t0 for t0, t1 in truth)
                           for a, b in tw[["onset_frame", "offset_frame"]].to_numpy())
        for t in thresholds:
            bdet = [d for d in ear_threshold_blinks(signals, float(t)) if d[0] <= last]
            s, _ = match_intervals(bdet, truth)
            base[float(t)].add(s)
        for side, counts in _closed_agreement(signals, ann, fps).items():
            closed[side] += np.array(counts)
        per_clip.append({"clip": video.name, "annotated": len(truth), **score.to_dict(),
                         "twitches": len(tw)})
    best_t = max(base, key=lambda t: base[t].f1)
    agreement = {}
    for side, (tp, fp, fn, tn) in closed.items():
        total = tp + fp + fn + tn
        po = (tp + tn) / total
        pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / total**2
        agreement[side] = {"frames": int(total), "accuracy": round(po, 4),
                           "kappa": round((po - pe) / (1 - pe), 4) if pe < 1 else None,
                           "closed_frames_annotated": int(tp + fn), "closed_frames_detected": int(tp + fp)}
    return {
        "clips": len(clips),
        "annotated_blinks": ours.tp + ours.fn,
        "facenerve": {**ours.to_dict(), "ci95_by_clip": score_ci([[c["tp"], c["fp"], c["fn"]] for c in per_clip])},
        "blinks_misreported_as_twitches": int(misreported),
        "twitches_reported": int(twitches),
        "twitches_per_10_min": round(10 * twitches / (scored_s / 60), 2) if scored_s else None,
        "closed_frame_agreement": agreement,
        "baseline_ear_threshold": {
            "method": "mean EAR of both eyes < T for >= 2 frames (Soukupova & Cech 2016)",
            "T=0.20": base[0.2].to_dict(),
            f"T={best_t:.2f} (best on this set)": base[best_t].to_dict(),
        },
        "per_clip": per_clip,
    }
