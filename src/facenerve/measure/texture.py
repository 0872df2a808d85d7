"""Local skin motion measured from the pixels, where landmarks lag.

FaceMesh fits a whole-face shape model, so a movement of one brow alone is partly spread to
the other and partly missed (the known pull of landmark models towards symmetry). Here the
brow's own texture is followed instead: a patch above each eye, resampled in the
face-aligned frame, is reduced to its vertical brightness profile (the brow is a dark band
across it) and registered to its resting profile by cross-correlation.

The eyelid, likewise: FaceMesh's shape model pulls towards open, symmetric eyes, and reads
eyes squeezed shut as two-thirds closed. The pixels where the iris was at rest are dark while
the eye is open and turn skin-bright once the lid covers them (``iris_dark``).

Shape contract
    ``exam_texture(frames, landmarks, signals)``:
        (index, uint8 grayscale) of the trusted frames, landmarks float [n, 478, 3] (NaN rows
        without a face), the signals table -> DataFrame [n] with
        ``brow_shift_left_mm``, ``brow_shift_right_mm``: how far the brow patch has moved up
           (positive) from its appearance in the first second of trusted frames, in mm;
        ``iris_dark_left``, ``iris_dark_right``: (cheek skin - disc at the iris's resting place)
           / cheek skin brightness, the iris's place found in the same first second.
        NaN where there is no trusted face.
    ``video_texture(video, landmarks, signals)``: the same over a video file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

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


def brow_patches(gray: np.ndarray, points: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """Per side, the patch above the eye (``PATCH`` x ``PATCH``, standardised brightness) in
    the face-aligned frame of ``points``, and the image pixels per patch sample."""
    import cv2

    maps = _patch_maps(points)
    out = {}
    for s, m in maps.items():
        p = cv2.warpAffine(gray.astype(np.float64), m, (PATCH, PATCH),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        out[s] = (p - p.mean()) / (p.std() + 1e-6)
    return out, float(np.hypot(maps["left"][0, 0], maps["left"][1, 0]))


def brow_rise_px(ref_gray: np.ndarray, ref_points: np.ndarray, gray: np.ndarray,
                 points: np.ndarray) -> dict[str, float]:
    """Per side, how far the brow's texture rose (image pixels of ``gray``; negative: fell)
    from ``ref_gray`` to ``gray``, each with its landmarks [478, 2+]: ``exam_texture``'s
    measure for one pair of pictures."""
    ref, _ = brow_patches(ref_gray, ref_points)
    cur, scale = brow_patches(gray, points)
    return {s: -_shift_1d(_profile(ref[s]), _profile(cur[s])) * scale for s in SIDES}


def _eye_frames(points: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Per side: the eye's centre (between its corners), unit axes along and across the eye
    (y down the face) and the eye's width, in image pixels."""
    out = {}
    for s, ix in SIDES.items():
        a, b = points[ix.eye_outer, :2], points[ix.eye_inner, :2]
        ex = b - a
        w = float(np.linalg.norm(ex))
        ex = ex / w
        ey = np.array([-ex[1], ex[0]])
        if ey[1] < 0:
            ey = -ey
        out[s] = ((a + b) / 2, np.stack([ex, ey]), w)
    return out


def _disc_mean(gray: np.ndarray, centre: np.ndarray, r: float) -> float:
    h, w = gray.shape
    x0, x1 = int(max(centre[0] - r, 0)), int(min(centre[0] + r + 1, w))
    y0, y1 = int(max(centre[1] - r, 0)), int(min(centre[1] + r + 1, h))
    if x1 <= x0 or y1 <= y0:
        return float("nan")
    yy, xx = np.mgrid[y0:y1, x0:x1]
    m = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= r * r
    return float(gray[y0:y1, x0:x1][m].mean()) if m.any() else float("nan")


IRIS_DISC = 0.12  # radius of the disc sampled at the resting iris centre, in eye widths
CHEEK_BELOW = 0.75  # the skin reference: a disc this far below the eye centre, in eye widths


def exam_texture(frames: Iterable[tuple[int, np.ndarray]], landmarks: np.ndarray,
                 signals: pd.DataFrame) -> pd.DataFrame:
    """Brow shift and iris darkness from the pixels (see the module's shape contract);
    ``frames`` yields (index, uint8 grayscale) of the trusted frames in order."""
    n = len(signals)
    ok = signals["quality_ok"].to_numpy() & np.isfinite(landmarks[:, 0, 0])
    mm_per_px = signals["mm_per_px"].to_numpy(np.float64)
    t = signals["time_s"].to_numpy()
    ref_until = t[ok][0] + 1.0 if ok.any() else -1
    refs: dict[str, list[np.ndarray]] = {s: [] for s in SIDES}
    profiles: dict[str, dict[int, np.ndarray]] = {s: {} for s in SIDES}  # 48 numbers a frame
    scale = np.full(n, np.nan)
    # where the iris sits at rest, in each eye's own frame (units of eye width)
    iris_at_rest: dict[str, list[np.ndarray]] = {s: [] for s in SIDES}
    dark = {s: np.full(n, np.nan) for s in SIDES}
    pending: list[tuple[int, np.ndarray, dict]] = []
    for i, gray8 in frames:
        pts = landmarks[i].astype(np.float64)
        patches, scale[i] = brow_patches(gray8, pts)
        for s, p in patches.items():
            profiles[s][i] = _profile(p)
            if t[i] <= ref_until:
                refs[s].append(p)
        eyes = _eye_frames(pts)
        if t[i] <= ref_until:
            for s, ix in SIDES.items():
                c, axes, w = eyes[s]
                iris_at_rest[s].append(axes @ (pts[ix.iris_center, :2] - c) / w)
        pending.append((i, gray8, eyes))  # the first second waits for the iris's resting place
        if t[i] > ref_until:
            _iris_darkness(pending, iris_at_rest, dark)
            pending = []
    _iris_darkness(pending, iris_at_rest, dark)
    out = {}
    for s in SIDES:
        col = np.full(n, np.nan)
        if refs[s]:
            ref = _profile(np.median(np.stack(refs[s]), axis=0))
            for i, prof in profiles[s].items():
                # content that moved up appears higher in the patch (smaller row): shift < 0
                col[i] = -_shift_1d(ref, prof) * scale[i] * mm_per_px[i]
        out[f"brow_shift_{s}_mm"] = col.astype(np.float32)
    for s in SIDES:
        out[f"iris_dark_{s}"] = dark[s].astype(np.float32)
    return pd.DataFrame(out)


def _iris_darkness(pending: list[tuple[int, np.ndarray, dict]], iris_at_rest: dict[str, list[np.ndarray]],
                   dark: dict[str, np.ndarray]) -> None:
    """How much darker than the cheek's skin the place of the resting iris is, as a fraction
    of the skin's brightness: the iris and pupil at rest, the lid's skin once it covers them."""
    for i, gray, eyes in pending:
        for s in SIDES:
            if not iris_at_rest[s]:
                continue
            c, axes, w = eyes[s]
            u = np.median(np.stack(iris_at_rest[s]), axis=0)
            iris = _disc_mean(gray, c + axes.T @ u * w, IRIS_DISC * w)
            skin = _disc_mean(gray, c + axes[1] * CHEEK_BELOW * w, 2 * IRIS_DISC * w)
            dark[s][i] = (skin - iris) / (skin + 1.0)


def video_texture(video: str | os.PathLike[str], landmarks: np.ndarray, signals: pd.DataFrame) -> pd.DataFrame:
    """``exam_texture`` over a video's trusted frames."""
    from ..media.video import iter_gray

    ok = signals["quality_ok"].to_numpy() & np.isfinite(landmarks[:, 0, 0])
    return exam_texture(iter_gray(video, ok), landmarks, signals)


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
