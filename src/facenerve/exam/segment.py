"""Automatic segmentation of an unguided exam recording into the protocol's tasks.

Shape contract
    ``segment_auto``  signals DataFrame, Protocol -> [Segment], each with a confidence: movement
                      bouts aligned to the protocol's order by dynamic programming
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .measures import _feature, movement_features, rest_baseline
from .protocol import CLASS_SCALE, MOVE_CLASSES, Protocol, Segment


def _class_scores(feats: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in MOVE_CLASSES:
        col = _feature(c)
        out[c] = feats[[f"{col}_left", f"{col}_right"]].max(axis=1).clip(lower=0) / CLASS_SCALE[c]
    return pd.DataFrame(out).fillna(0.0)


def _bouts(active: np.ndarray, t: np.ndarray, min_s: float, gap_s: float) -> list[tuple[int, int]]:
    idx = np.flatnonzero(np.diff(np.r_[0, active.astype(int), 0]))
    runs = list(zip(idx[::2], idx[1::2], strict=True))
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and t[a] - t[merged[-1][1] - 1] < gap_s:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged if t[b - 1] - t[a] >= min_s]


def segment_auto(signals: pd.DataFrame, protocol: Protocol) -> list[Segment]:
    """Find the tasks of an unguided exam from the movements themselves.

    Movement bouts (any class above its typical scale for at least 0.6 s) are aligned to the
    protocol's order by dynamic programming, so a stray blink or an omitted task does not
    shift the others. Confidence = the share of the bout's movement that is of the expected
    kind. The rest segment is the quiet time before the first bout.
    """
    t = signals["time_s"].to_numpy()
    ok = signals["quality_ok"].to_numpy()
    first = t[ok][: max(3, int(np.sum(t[ok] < t[ok][0] + 2.0)))] if ok.any() else t[:0]
    if len(first) < 3:
        raise InputError("the face is not measurable at the start; record again facing the camera")
    feats = movement_features(signals, rest_baseline(signals, (t <= first[-1]) & ok))
    scores = _class_scores(feats)
    # refine the rest baseline on the quiet frames, then score again
    quiet = (scores.max(axis=1).to_numpy() < 0.3) & ok
    if quiet.sum() >= 10:
        feats = movement_features(signals, rest_baseline(signals, quiet))
        scores = _class_scores(feats)
    act = scores.max(axis=1).to_numpy()
    bouts = _bouts(act > 0.7, t, min_s=0.6, gap_s=0.3)
    moves = [task for task in protocol.tasks if task.measure != "rest"]
    cls = [("smile" if task.measure == "snarl" else task.measure) for task in moves]
    mean = [scores.iloc[a:b].mean() for a, b in bouts]
    share = [m / max(m.sum(), 1e-9) for m in mean]
    nb, nt = len(bouts), len(moves)
    skip_b, skip_t = 0.3, 0.6
    best = np.full((nb + 1, nt + 1), -np.inf)
    move = np.zeros((nb + 1, nt + 1), dtype=int)
    best[0, :] = -skip_t * np.arange(nt + 1)
    best[:, 0] = -skip_b * np.arange(nb + 1)
    for i in range(1, nb + 1):
        for j in range(1, nt + 1):
            opts = (best[i - 1, j - 1] + share[i - 1][cls[j - 1]], best[i - 1, j] - skip_b, best[i, j - 1] - skip_t)
            move[i, j] = int(np.argmax(opts))
            best[i, j] = opts[move[i, j]]
    i, j, pairs = nb, nt, []
    while i > 0 and j > 0:
        if move[i, j] == 0:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move[i, j] == 1:
            i -= 1
        else:
            j -= 1
    segs = []
    for bi, tj in sorted(pairs):
        a, b = bouts[bi]
        segs.append(Segment(moves[tj].id, float(t[a]), float(t[b - 1]) + 1e-6, "auto",
                            round(float(share[bi][cls[tj]]), 3)))
    start_first = segs[0].start_s if segs else float(t[-1])
    rest_end = max(float(t[0]) + 0.5, start_first - 0.3)
    rest_conf = 1.0 if rest_end - float(t[0]) >= 1.5 else 0.5
    segs.insert(0, Segment("rest", float(t[0]), rest_end, "auto", rest_conf))
    return segs
