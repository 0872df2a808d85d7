"""Local skin motion measured from the pixels, where landmarks lag.

FaceMesh fits a whole-face shape model, so a movement of one brow alone is partly spread to
the other and partly missed (the known pull of landmark models towards symmetry). Here the
brow's own texture is followed instead: a patch above each eye, resampled in the
face-aligned frame, is reduced to its vertical brightness profile (the brow is a dark band
across it) and registered to its resting profile by cross-correlation.

Shape contract
    ``brow_shift(video, landmarks, signals)``:
        video path, landmarks float [n, 478, 3] (NaN rows without a face), the signals table
        -> DataFrame [n] with ``brow_shift_left_mm``, ``brow_shift_right_mm``: how far the brow
           patch has moved up (positive) from its appearance in the first second of trusted
           frames, in mm. NaN where there is no trusted face.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .geometry import SIDES

PATCH = 48  # samples across the patch
SIZE = 0.6  # patch side as a fraction of the distance between the eyes
ABOVE = 0.45  # patch centre above the eye centre, same unit


def _patch_maps(points: np.ndarray) -> dict[str, np.ndarray]:
    """2x3 affine matrices mapping patch coordinates to image coordinates, per side."""
    centres = {s: (points[ix.eye_outer, :2] + points[ix.eye_inner, :2]) / 2 for s, ix in SIDES.items()}
    ex = centres["left"] - centres["right"]
    d = float(np.linalg.norm(ex))
    ex = ex / d
    ey = np.array([-ex[1], ex[0]])
    if ey[1] < 0:  # y points down the face
        ey = -ey
    k = SIZE * d / PATCH
    out = {}
    for s, c in centres.items():
        centre = c - ey * ABOVE * d
        origin = centre - (ex + ey) * k * PATCH / 2
        out[s] = np.array([[ex[0] * k, ey[0] * k, origin[0]], [ex[1] * k, ey[1] * k, origin[1]]], dtype=np.float64)
    return out


def brow_shift(video: str | os.PathLike[str], landmarks: np.ndarray, signals: pd.DataFrame) -> pd.DataFrame:
    import cv2

    from ..media.video import iter_gray

    n = len(signals)
    ok = signals["quality_ok"].to_numpy() & np.isfinite(landmarks[:, 0, 0])
    mm_per_px = signals["mm_per_px"].to_numpy(np.float64)
    t = signals["time_s"].to_numpy()
    ref_until = t[ok][0] + 1.0 if ok.any() else -1
    refs: dict[str, list[np.ndarray]] = {s: [] for s in SIDES}
    profiles: dict[str, dict[int, np.ndarray]] = {s: {} for s in SIDES}  # 48 numbers a frame
    scale = np.full(n, np.nan)
    for i, gray in iter_gray(video, ok):
        gray = gray.astype(np.float64)
        maps = _patch_maps(landmarks[i].astype(np.float64))
        for s, m in maps.items():
            p = cv2.warpAffine(gray, m, (PATCH, PATCH), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
            p = (p - p.mean()) / (p.std() + 1e-6)
            profiles[s][i] = _profile(p)
            if t[i] <= ref_until:
                refs[s].append(p)
        scale[i] = np.hypot(maps["left"][0, 0], maps["left"][1, 0])  # image px per patch sample
    out = {}
    for s in SIDES:
        col = np.full(n, np.nan)
        if refs[s]:
            ref = _profile(np.median(np.stack(refs[s]), axis=0))
            for i, prof in profiles[s].items():
                # content that moved up appears higher in the patch (smaller row): shift < 0
                col[i] = -_shift_1d(ref, prof) * scale[i] * mm_per_px[i]
        out[f"brow_shift_{s}_mm"] = col.astype(np.float32)
    return pd.DataFrame(out)


def _profile(patch: np.ndarray) -> np.ndarray:
    """Vertical brightness profile (the brow is a dark band across the patch), gradient form."""
    prof = patch.mean(axis=1)
    return np.gradient(prof)


MAX_SHIFT = 20  # patch samples


def _shift_1d(ref: np.ndarray, cur: np.ndarray) -> float:
    """Shift of ``cur`` against ``ref`` in samples (positive: moved down), sub-sample precise."""
    lags = np.arange(-MAX_SHIFT, MAX_SHIFT + 1)
    n = len(ref)
    cc = np.array([np.dot(ref[max(0, -k):n - max(0, k)], cur[max(0, k):n - max(0, -k)]) / (n - abs(k))
                   for k in lags])
    j = int(np.argmax(cc))
    if 0 < j < len(cc) - 1:
        a, b, c = cc[j - 1], cc[j], cc[j + 1]
        den = a - 2 * b + c
        return float(lags[j] + (0.5 * (a - c) / den if den else 0.0))
    return float(lags[j])
