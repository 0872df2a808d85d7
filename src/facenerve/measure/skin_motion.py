"""Skin motion of each cheek and mouth corner, from dense optical flow in a steadied face crop.

Why not the landmarks: FaceMesh fits one shape model to the whole face. Measured on rendered
twitch videos, its cheek points moved 0.1 mm on average when the cheek skin rose 3-5 mm, but
2 mm when the eye above them closed, and the whole mesh shifts by 1-2 mm whenever one eye
closes. A twitch of the cheek was then missed, and an eyelid twitch was reported as a cheek
or mouth twitch. The pixels themselves do not have that coupling.

Method
    1. Template: a typical face's shape (``data/face_template.json``: the median over 22 real
       clips), in the face-aligned frame (as ``geometry.align``, eyes' distance as unit), drawn
       into a ``CROP`` x ``CROP`` image. Fixed, so that any part of a video measured on its own
       is steadied into the same crop.
    2. Each trusted frame is warped into the crop by the similarity that best maps its
       ``STABLE`` landmarks (forehead, nose, face outline: points a facial twitch does not
       move) onto the template's (least median of squares).
    3. Reference: for each block of ``BLOCK_S`` seconds of the video's clock, the pixel-wise
       median of the block's crops, the face at rest most of the time. Lighting and slow drift
       do not accumulate across blocks; the events stage removes the level of each signal anyway.
    4. DIS optical flow from the reference to each crop (Kroeger et al. 2016, OpenCV). What
       is left of the head's own motion (the landmark fit jitters, and tilts when an eye
       closes) is a similarity fitted to the flow over the nose, the glabella, the forehead's
       sides and the temples (``RIGID``), and is removed. The forehead's sides and temples give
       the fit a base as wide as the face: over the nose's narrow line alone, a small roll of
       the head as the eyes reopened was left in, and one side's cheek and mouth corner seemed
       to rise 2-3 mm (healthy ZJU blinks, where it was taken for a twitch).
    5. Per side: the median flow over a disc at the eye's centre (downwards positive), at
       the cheek (FaceMesh's cheek points) and at the mouth corner (upwards and outwards
       positive), the discs placed at the block's median landmark positions in the crop;
       crop pixels become mm by each frame's own scale. And the lids closing (``lid_close``):
       the flow down over a small disc at the upper lid less that at the lower lid. An eye
       closed from both lids at once (a sphincter's squeeze) leaves its centre where it was, and
       FaceMesh's shape model reads such a closure, drawn 0.6-0.9 shut into real ZJU faces, as
       0.25-0.35; this difference reads it as 0.2-0.4 of the opening, and the other eye's as
       about 0.1 (``evaluate injected --style contraction``).
    A flat warp cannot undo a head turning out of the picture's plane: one side of the face
    then seems to move against the other. Frames turned (yaw or pitch) more than
    ``POSE_TOL_DEG`` from their block's median pose are left NaN.

One pass: the frames are those the landmark model sees (``measure.run``), fed one by one;
only the current block's small crops are held (``BLOCK_S`` x fps x ``CROP``^2 bytes, 4.9 MB
at 30 fps), and 48 bytes per measured frame are kept.

Shape contract
    ``SkinMotion(settings, width, height)``; ``.feed(index, t_s, gray, points)`` for each frame
    with a face, in order: uint8 [H, W] picture, float [478, >=2] landmarks in its pixels;
    ``.result(n, mm_per_px, quality_ok)`` -> DataFrame [n] with ``MOTION_COLUMNS``, float32,
    NaN where the frame is not trusted (``quality_ok`` false) or not steady.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..settings import AnalysisSettings
from .geometry import LEFT, RIGHT, SIDES, head_pose_deg, in_frame
from .signals import pose_ok

if TYPE_CHECKING:
    import pandas as pd

CROP = 128  # side of the steadied face crop, px
EYE_SPAN = 0.42  # distance between the eyes' centres, as a fraction of CROP
EYE_LINE = 0.36  # height of the eyes' line, same unit
DISC = 0.07  # radius of the regions measured, same unit
LID_DISC = 0.03  # radius of the discs on the upper and lower lid (the eye is about 0.07 high)
BLOCK_S = 10.0  # one reference per block of this many seconds
POSE_TOL_DEG = 4.0  # frames turned (yaw or pitch) further than this from their block's median
STABLE = (9, 8, 168, 6, 197, 195, 5, 4, 1, 2, 98, 327, 151, 108, 337, 67, 297, 109, 338,
          54, 284, 103, 332, 21, 251, 162, 389, 127, 356, 234, 454)
# nose, glabella, the forehead's sides and the temples: their flow is the head's
RIGID = (151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 103, 332, 54, 284, 21, 251)
EYE_CORNERS = (RIGHT.eye_outer, RIGHT.eye_inner, LEFT.eye_outer, LEFT.eye_inner)
MOTION_POINTS = tuple(sorted({*STABLE, *RIGID, *EYE_CORNERS, *RIGHT.cheek, *LEFT.cheek,
                              RIGHT.mouth_corner, LEFT.mouth_corner, RIGHT.lid_upper,
                              LEFT.lid_upper, RIGHT.lid_lower, LEFT.lid_lower}))
MOTION_COLUMNS = [f"{m}_{s}_mm" for s in ("left", "right")
                  for m in ("lid_drop", "lid_close", "cheek_lift", "mouth_lift", "mouth_out")]
_AT = {p: i for i, p in enumerate(MOTION_POINTS)}


def _idx(points: Iterable[int]) -> list[int]:
    return [_AT[p] for p in points]


def _discs(tmpl: np.ndarray) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:CROP, 0:CROP]

    def disc(c: np.ndarray, r: float) -> np.ndarray:
        return (xx - c[0]) ** 2 + (yy - c[1]) ** 2 < (r * CROP) ** 2

    out = {}
    for s, ix in SIDES.items():
        out[f"cheek_{s}"] = disc(tmpl[_idx(ix.cheek)].mean(axis=0), DISC)
        out[f"mouth_{s}"] = disc(tmpl[_AT[ix.mouth_corner]], DISC)
        out[f"lid_{s}"] = disc(tmpl[_idx((ix.lid_upper, ix.lid_lower))].mean(axis=0), 0.04)
        out[f"upper_lid_{s}"] = disc(tmpl[_AT[ix.lid_upper]], LID_DISC)
        out[f"lower_lid_{s}"] = disc(tmpl[_AT[ix.lid_lower]], LID_DISC)
    rigid = np.zeros((CROP, CROP), bool)
    for p in RIGID:
        rigid |= disc(tmpl[_AT[p]], 0.05)
    out["rigid"] = rigid
    return out


_YY, _XX = (g.ravel() for g in np.mgrid[0:CROP, 0:CROP].astype(np.float64))  # crop pixels, row by row


class _Region:
    """The pixels of a mask over the crop: their flat indices and coordinates."""

    def __init__(self, mask: np.ndarray):
        self.at = np.flatnonzero(mask)
        self.x, self.y = _XX[self.at], _YY[self.at]


class _RigidFit(_Region):
    """Least-squares similarity flow (a x - b y + tx, b x + a y + ty) over a mask."""

    def __init__(self, mask: np.ndarray):
        super().__init__(mask)
        one, zero = np.ones_like(self.x), np.zeros_like(self.x)
        design = np.empty((2 * len(self.x), 4))
        design[0::2] = np.c_[self.x, -self.y, one, zero]
        design[1::2] = np.c_[self.y, self.x, zero, one]
        self.pinv = np.linalg.pinv(design)

    def fit(self, flow: np.ndarray) -> np.ndarray:
        """(a, b, tx, ty) of ``flow`` [CROP * CROP, 2] over the mask."""
        obs = np.empty(2 * len(self.at))
        obs[0::2], obs[1::2] = flow[self.at, 0], flow[self.at, 1]
        return self.pinv @ obs


class Steadier:
    """Steps 2 and 4-5 of the method: frames warped into the steadied crop of a template, and
    the skin's motion per region against a reference crop, in crop pixels."""

    def __init__(self, tmpl: np.ndarray):
        import cv2

        self.tmpl = tmpl
        self.stable = _idx(STABLE)
        self.target = tmpl[self.stable].astype(np.float32)
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.regions(tmpl)

    def regions(self, shape: np.ndarray) -> None:
        """Place the measured discs at a face shape in crop pixels [len(MOTION_POINTS), 2]."""
        discs = _discs(shape)
        self.rigid = _RigidFit(discs.pop("rigid"))
        self.discs = {name: _Region(mask) for name, mask in discs.items()}

    def fit(self, points: np.ndarray) -> np.ndarray | None:
        """The 2x3 similarity taking ``MOTION_POINTS`` [k, 2] px into the crop; None if no fit."""
        import cv2

        m, _ = cv2.estimateAffinePartial2D(points[self.stable].astype(np.float32), self.target,
                                           method=cv2.LMEDS)
        return m

    def crop(self, gray: np.ndarray, m: np.ndarray) -> np.ndarray:
        """``gray`` warped into the crop by the similarity ``m``. Only the face's part of the
        picture is resampled: shrinking a large face by area first, or the warp aliases."""
        import cv2

        scale = float(np.hypot(m[0, 0], m[1, 0]))
        if scale >= 0.7:
            return cv2.warpAffine(gray, m, (CROP, CROP), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        inv = cv2.invertAffineTransform(m)
        corners = np.array([[0, 0, 1], [CROP, 0, 1], [0, CROP, 1], [CROP, CROP, 1]], np.float64) @ inv.T
        h, w = gray.shape
        x0, y0 = (max(0, int(np.floor(v)) - 2) for v in corners.min(axis=0))
        x1, y1 = min(w, int(np.ceil(corners[:, 0].max())) + 2), min(h, int(np.ceil(corners[:, 1].max())) + 2)
        if x1 - x0 < 2 or y1 - y0 < 2:
            x0, y0, x1, y1 = 0, 0, w, h
        k = scale * 1.4
        part = cv2.resize(gray[y0:y1, x0:x1], None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        sx, sy = part.shape[1] / (x1 - x0), part.shape[0] / (y1 - y0)  # the sizes are rounded
        # part px -> picture px (pixel centres, as cv2.resize places them)
        shift = np.array([[1 / sx, 0, x0 + 0.5 / sx - 0.5], [0, 1 / sy, y0 + 0.5 / sy - 0.5], [0, 0, 1]])
        return cv2.warpAffine(part, m @ shift, (CROP, CROP), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def motion(self, ref: np.ndarray, crop: np.ndarray) -> np.ndarray:
        """The ``MOTION_COLUMNS`` of ``crop`` against ``ref``, in crop pixels, float32 [10]: the
        median flow over each region, less the head's own motion (``_RigidFit``), computed
        at the regions' pixels only."""
        flow = self.dis.calc(ref, crop, None).reshape(-1, 2)
        a, b, tx, ty = self.rigid.fit(flow)

        def median(region: str, axis: int) -> float:
            r = self.discs[region]
            own = a * r.x - b * r.y + tx if axis == 0 else b * r.x + a * r.y + ty
            return float(np.median(flow[r.at, axis].astype(np.float64) - own))

        out = []
        for s in ("left", "right"):
            outward = 1.0 if s == "left" else -1.0  # the person's left is towards +x
            out += [median(f"lid_{s}", 1), median(f"upper_lid_{s}", 1) - median(f"lower_lid_{s}", 1),
                    -median(f"cheek_{s}", 1), -median(f"mouth_{s}", 1), outward * median(f"mouth_{s}", 0)]
        return np.asarray(out, np.float32)


def typical_face() -> np.ndarray:
    """The fixed template, crop pixels [len(MOTION_POINTS), 2]: the median over real faces of
    each frame's shape, rotated and scaled so that the eyes' corner midpoints lie level,
    ``EYE_SPAN * CROP`` apart, centred on the line ``EYE_LINE * CROP``."""
    import json
    from importlib.resources import files

    data = json.loads(files("facenerve").joinpath("data/face_template.json").read_text())
    at = dict(zip(data["points"], data["xy"], strict=True))
    return np.array([at[p] for p in MOTION_POINTS], np.float64)


class SkinMotion:
    """The method over one recording, fed frame by frame; see the shape contract."""

    def __init__(self, settings: AnalysisSettings, width: int, height: int):
        self.settings, self.size = settings, (width, height)
        self.steady = Steadier(typical_face())
        self.block: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, float]] = []
        self.block_no = -1
        self.ref: np.ndarray | None = None
        self.done: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # rows, values, scale

    def feed(self, index: int, t_s: float, gray: np.ndarray, points: np.ndarray) -> None:
        pts = points[None]
        yaw, pitch, roll = head_pose_deg(pts)[0]
        trusted = bool(pose_ok(yaw, pitch, roll, self.settings)) and bool(in_frame(pts, *self.size)[0])
        block_no = int(t_s // BLOCK_S)
        if block_no != self.block_no:
            self._measure_block()
            self.block_no = block_no
        if not trusted:
            return
        motion_points = points[MOTION_POINTS, :2]
        m = self.steady.fit(motion_points)
        if m is None:
            return
        mapped = motion_points @ m[:, :2].T + m[:, 2]
        self.block.append((index, self.steady.crop(gray, m), mapped, np.array([yaw, pitch]),
                           float(np.hypot(m[0, 0], m[1, 0]))))

    def _measure_block(self) -> None:
        block, self.block = self.block, []
        if not block:
            return
        pose = np.stack([b[3] for b in block])
        keep = np.all(np.abs(pose - np.median(pose, axis=0)) <= POSE_TOL_DEG, axis=1)
        block = [b for b, k in zip(block, keep, strict=True) if k]
        if not block:
            return
        if self.ref is None or len(block) >= 15:
            self.ref = np.median(np.stack([b[1] for b in block]), axis=0).astype(np.uint8)
        steady = self.steady
        steady.regions(np.median(np.stack([b[2] for b in block]), axis=0))
        self.done.append((np.array([b[0] for b in block]),
                          np.stack([steady.motion(self.ref, b[1]) for b in block]),
                          np.array([b[4] for b in block], np.float32)))

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a span measured in a process of its own) as what it has measured: the block
        in hand is measured first, and the optical flow (not picklable) is left behind."""
        self._measure_block()
        return {**self.__dict__, "steady": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.steady = Steadier(typical_face())

    def merge(self, later: SkinMotion) -> None:
        """Take in what another ``SkinMotion`` measured over a later span of the video."""
        self._measure_block()
        later._measure_block()
        self.done += later.done

    def result(self, n: int, mm_per_px: np.ndarray, quality_ok: np.ndarray) -> pd.DataFrame:
        import pandas as pd

        self._measure_block()
        values = np.full((n, len(MOTION_COLUMNS)), np.nan, np.float32)
        for rows, v, scale in self.done:
            values[rows] = v * (mm_per_px[rows] / scale)[:, None]
        values[~np.asarray(quality_ok, bool)] = np.nan
        return pd.DataFrame(values, columns=MOTION_COLUMNS)
