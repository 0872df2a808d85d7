"""Signals stage: per-frame measurements of each side of the face.

Shape contract
    ``measure_px``:  points float [n, 478, 3] pixels (NaN rows where no face)
                     -> dict of float arrays [n]: distances in pixels of the face-aligned frame,
                        eye-aspect ratios, head pose in degrees, iris diameter in pixels.
    ``calibrate``:   those pixel measures -> ``Calibration`` (mm per pixel, per frame and overall)
    ``to_signals``:  pixel measures + frame index/time + calibration
                     -> DataFrame, one row per decoded frame, NaN where no face:
                        ``frame, time_s, face_detected, n_faces, quality_ok,
                        head_yaw_deg, head_pitch_deg, head_roll_deg, head_nod_deg (pitch from
                        points the eyes and jaw do not move), ipd_mm, mm_per_px,
                        mouth_open_mm (inner lips apart; speech opens and closes it),
                        <measure>_<left|right>_mm`` and ``ear_<left|right>`` (no unit).

Measures per side (Emotrics definitions, Guarin 2018, in the face-aligned frame):
    eye_aperture   upper to lower lid at mid-eye
    mrd1, mrd2     pupil (iris centre) to upper lid, and to lower lid
    fissure_width  outer to inner eye corner
    ear            eye-aspect ratio (Soukupova & Cech 2016), unitless
    brow_height    pupil to the upper edge of the brow, vertically
    mouth_excursion  lip midline (midpoint of the inner lips) to the mouth corner
    mouth_corner_drop  vertical distance from the interpupillary line down to the mouth corner
                       (a smile makes it smaller, a drooping corner larger)
    commissure_lateral horizontal distance from the facial midline out to the mouth corner
                       (a smile makes it larger, a pucker smaller)
    cheek_drop     vertical distance from the interpupillary line down to mid-cheek
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..settings import AnalysisSettings
from .geometry import LIP_LOWER_INNER, LIP_UPPER_INNER, SIDES, align, head_pose_deg, nod_deg

if TYPE_CHECKING:  # imported where used: measuring a span needs no pandas
    import pandas as pd

SIDE_MEASURES_MM = (
    "eye_aperture", "mrd1", "mrd2", "fissure_width", "brow_height",
    "mouth_excursion", "mouth_corner_drop", "commissure_lateral", "cheek_drop",
)


def side_columns(measure: str) -> tuple[str, str]:
    """Column names (left, right) of a per-side measure."""
    unit = "" if measure == "ear" else "_mm"
    return f"{measure}_left{unit}", f"{measure}_right{unit}"


def measure_px(points: np.ndarray) -> dict[str, np.ndarray]:
    """Pixel measures of each frame; see the module docstring."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (478, 3):
        raise ValueError(f"points must be [n, 478, 3], got {points.shape}")
    a = align(points)  # [n, 478, 2]
    out: dict[str, np.ndarray] = {}
    lip_mid = (a[:, LIP_UPPER_INNER] + a[:, LIP_LOWER_INNER]) / 2
    out["mouth_open"] = a[:, LIP_LOWER_INNER, 1] - a[:, LIP_UPPER_INNER, 1]
    iris_d = []
    for side, ix in SIDES.items():
        iris = a[:, ix.iris_center]
        up, lo = a[:, ix.lid_upper], a[:, ix.lid_lower]
        out[f"eye_aperture_{side}"] = lo[:, 1] - up[:, 1]
        out[f"mrd1_{side}"] = iris[:, 1] - up[:, 1]
        out[f"mrd2_{side}"] = lo[:, 1] - iris[:, 1]
        out[f"fissure_width_{side}"] = np.linalg.norm(a[:, ix.eye_outer] - a[:, ix.eye_inner], axis=1)
        p = [a[:, i] for i in ix.ear]
        vert = np.linalg.norm(p[1] - p[5], axis=1) + np.linalg.norm(p[2] - p[4], axis=1)
        out[f"ear_{side}"] = vert / (2 * np.linalg.norm(p[0] - p[3], axis=1))
        brow_y = a[:, list(ix.brow), 1].mean(axis=1)
        out[f"brow_height_{side}"] = iris[:, 1] - brow_y
        corner = a[:, ix.mouth_corner]
        out[f"mouth_excursion_{side}"] = np.linalg.norm(corner - lip_mid, axis=1)
        out[f"mouth_corner_drop_{side}"] = corner[:, 1].copy()  # not a view: it would keep `a` alive
        out[f"commissure_lateral_{side}"] = np.abs(corner[:, 0])
        out[f"cheek_drop_{side}"] = a[:, list(ix.cheek), 1].mean(axis=1)
        ring = points[:, list(ix.iris_ring), :2]
        d_h = np.linalg.norm(ring[:, 0] - ring[:, 1], axis=1)
        d_v = np.linalg.norm(ring[:, 2] - ring[:, 3], axis=1)
        iris_d.append((d_h + d_v) / 2)
    with warnings.catch_warnings():  # rows without a face are all-NaN by design
        warnings.simplefilter("ignore", RuntimeWarning)
        out["iris_diameter_px"] = np.nanmean(np.stack(iris_d), axis=0)
    out["ipd_px"] = np.linalg.norm(
        points[:, SIDES["left"].iris_center, :2] - points[:, SIDES["right"].iris_center, :2], axis=1
    )
    pose = head_pose_deg(points)
    out["head_yaw_deg"], out["head_pitch_deg"], out["head_roll_deg"] = pose.T
    out["head_nod_deg"] = nod_deg(points)
    return out


@dataclass(frozen=True)
class Calibration:
    mm_per_px_median: float
    iris_diameter_px_median: float
    iris_to_ipd_ratio: float
    ipd_mm_median: float
    frames_used: int
    # True when no frame was within the pose limits and the scale came from turned frames
    low_quality: bool = False
    method: str = (
        "iris diameter 11.77 mm (robust median over trusted frames) relative to the "
        "interpupillary distance, which follows changes in distance to the camera"
    )

    def to_dict(self) -> dict:
        return asdict(self)


def _rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    import pandas as pd

    return pd.Series(x).rolling(window, center=True, min_periods=1).median().to_numpy()


def calibrate(
    px: dict[str, np.ndarray], quality_ok: np.ndarray, fps: float, settings: AnalysisSettings
) -> tuple[np.ndarray, Calibration]:
    """Millimetres per pixel for every frame, from the iris size over the whole video.

    The iris diameter in pixels is noisy frame to frame, so its ratio to the interpupillary
    distance (IPD, steady) is taken as a median over all trusted frames; each frame's scale
    then follows its own rolling-median IPD, so moving towards the camera does not look like
    a bigger face.
    """
    import pandas as pd

    seen = np.isfinite(px["iris_diameter_px"]) & np.isfinite(px["ipd_px"])
    ok = quality_ok & seen
    low_quality = not ok.any()
    if low_quality:  # never facing the camera within the limits: measure anyway, flagged
        ok = seen
    n_ok = int(ok.sum())
    if n_ok == 0:
        nan = np.full(len(quality_ok), np.nan)
        return nan, Calibration(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    ratio = float(np.median(px["iris_diameter_px"][ok] / px["ipd_px"][ok]))
    ipd = np.where(ok, px["ipd_px"], np.nan)
    window = max(1, int(round(settings.scale_window_s * (fps or 30))))
    ipd_smooth = pd.Series(ipd).rolling(window, center=True, min_periods=1).median()
    ipd_smooth = ipd_smooth.ffill().bfill().to_numpy()
    iris_px = ratio * ipd_smooth
    mm_per_px = settings.iris_diameter_mm / iris_px
    face = np.isfinite(px["ipd_px"])
    mm_per_px = np.where(face, mm_per_px, np.nan)
    ipd_mm = settings.iris_diameter_mm / ratio
    cal = Calibration(
        mm_per_px_median=float(np.nanmedian(mm_per_px[ok])),
        iris_diameter_px_median=float(np.median(px["iris_diameter_px"][ok])),
        iris_to_ipd_ratio=ratio,
        ipd_mm_median=float(ipd_mm),
        frames_used=n_ok,
        low_quality=low_quality,
    )
    return mm_per_px, cal


def quality_flags(px: dict[str, np.ndarray], settings: AnalysisSettings) -> np.ndarray:
    """True where the face is present and turned little enough to trust its measures."""
    return pose_ok(px["head_yaw_deg"], px["head_pitch_deg"], px["head_roll_deg"], settings)


def pose_ok(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """True where a head pose (degrees, any shape) is within the settings' limits."""
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(yaw)
            & (np.abs(yaw) <= settings.max_yaw_deg)
            & (np.abs(pitch) <= settings.max_pitch_deg)
            & (np.abs(roll) <= settings.max_roll_deg)
        )


def to_signals(
    px: dict[str, np.ndarray],
    frame: np.ndarray,
    time_s: np.ndarray,
    n_faces: np.ndarray,
    fps: float,
    settings: AnalysisSettings,
    in_frame: np.ndarray | None = None,
) -> tuple[pd.DataFrame, Calibration]:
    """The signals table (one row per decoded frame) and its calibration."""
    import pandas as pd

    n = len(frame)
    face = np.isfinite(px["ipd_px"])
    quality = quality_flags(px, settings)
    if in_frame is not None:
        quality &= in_frame
    mm_per_px, cal = calibrate(px, quality, fps, settings)
    cols: dict[str, np.ndarray] = {
        "frame": np.asarray(frame, dtype=np.int64),
        "time_s": np.asarray(time_s, dtype=np.float64),
        "face_detected": face,
        "n_faces": np.asarray(n_faces, dtype=np.int16),
        "quality_ok": quality,
        "head_yaw_deg": px["head_yaw_deg"],
        "head_pitch_deg": px["head_pitch_deg"],
        "head_roll_deg": px["head_roll_deg"],
        "head_nod_deg": px["head_nod_deg"],
        "mm_per_px": mm_per_px,
        "ipd_mm": px["ipd_px"] * mm_per_px,
        "mouth_open_mm": px["mouth_open"] * mm_per_px,
    }
    for measure in SIDE_MEASURES_MM:
        for side in ("left", "right"):
            cols[f"{measure}_{side}_mm"] = px[f"{measure}_{side}"] * mm_per_px
    for side in ("left", "right"):
        cols[f"ear_{side}"] = px[f"ear_{side}"]
    # float32 but the times, column by column: never the whole table in float64 at once
    cols = {c: v.astype(np.float32) if v.dtype == np.float64 and c != "time_s" else v for c, v in cols.items()}
    df = pd.DataFrame(cols)
    assert len(df) == n
    return df, cal
