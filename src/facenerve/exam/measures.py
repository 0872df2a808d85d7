"""Per-task measures of each side of a guided exam.

Shape contract
    ``rest_baseline``      signals, mask -> {column: resting value}
    ``movement_features``  signals, rest baseline -> DataFrame of per-frame movement from rest
                           per side (mm or fraction), one row per frame
    ``task_measures``      signals, [Segment], Protocol -> dict: rest baseline; per task and side the
                           excursion from rest, left/right ratio, co-movement of the other regions
                           (and how far the lips parted or closed from rest), Emotrics-style
                           measures at the task's peak

Units: millimetres (iris-calibrated) except eye closure, a fraction of the resting aperture
(0 open as at rest, 1 fully closed). Sides are the person's anatomical sides.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..reporting import shown_against
from .protocol import (
    EMOTRICS,
    EXAM_MAX_YAW_DEG,
    LIPS_MAX_OPEN_MM,
    LIPS_MOVED_MM,
    MIN_EFFORT,
    MIN_MOVE,
    MIN_USABLE,
    SIDES,
    UNITS,
    Protocol,
    Segment,
)

MIN_IRIS_DARK = 0.08  # the iris must be this much darker than the skin at rest to see the lid cover it


def rest_baseline(signals: pd.DataFrame, mask: np.ndarray, min_frames: int = 3) -> dict[str, float]:
    ok = mask & signals["quality_ok"].to_numpy()
    if ok.sum() < min_frames:
        raise InputError("too few usable frames at rest (face turned away or missing); "
                         "record again facing the camera, starting with the face relaxed")
    base = {}
    for m in (*EMOTRICS, "brow_shift"):
        for s in SIDES:
            col = f"{m}_{s}_mm"
            if col in signals:
                base[col] = float(np.nanmedian(signals.loc[ok, col]))
    for s in SIDES:
        col = f"iris_dark_{s}"
        if col in signals and np.isfinite(signals.loc[ok, col]).any():
            base[col] = float(np.nanmedian(signals.loc[ok, col]))
    if "mouth_open_mm" in signals:
        base["mouth_open_mm"] = float(np.nanmedian(signals.loc[ok, "mouth_open_mm"]))
    return base


def movement_features(signals: pd.DataFrame, base: dict[str, float]) -> pd.DataFrame:
    """Per frame and side, movement from rest: brow_up (mm), closure (fraction), corner_up,
    corner_out (mm), smile (up-and-out distance, mm), pucker (inward, mm).

    Eye closure is the larger of the landmarks' aperture lost and the lid's cover of the iris
    (``texture.exam_texture``: 1 when the resting iris's place is as bright as the skin),
    the second only where the iris is clearly darker than the skin at rest."""
    out = {}
    for s in SIDES:
        def d(m: str, s: str = s) -> np.ndarray:
            return signals[f"{m}_{s}_mm"].to_numpy(np.float64) - base[f"{m}_{s}_mm"]

        # a face turned a little foreshortens one side's horizontal distances: rescale each
        # side's outward movement to the mean resting midline-to-corner distance
        lat0 = base[f"commissure_lateral_{s}_mm"]
        yaw_fix = 0.5 * (base["commissure_lateral_left_mm"] + base["commissure_lateral_right_mm"]) / lat0
        up, outw = -d("mouth_corner_drop"), d("commissure_lateral") * yaw_fix
        # the larger of the brow's own texture (texture.exam_texture) and its landmarks: each
        # fails by missing a movement (landmarks pulled to symmetry, texture locked onto another
        # dark band), not by inventing one
        brow = d("brow_height")
        texture = d("brow_shift") if f"brow_shift_{s}_mm" in signals else np.full(len(signals), np.nan)
        out[f"brow_up_{s}"] = np.fmax(brow, texture)
        out[f"brow_up_landmarks_{s}"], out[f"brow_up_texture_{s}"] = brow, texture
        # fraction of the resting aperture, 1 = lids meet (landmarks may cross a little beyond)
        closure = np.minimum(-d("eye_aperture") / base[f"eye_aperture_{s}_mm"], 1.0)
        dark0 = base.get(f"iris_dark_{s}", float("nan"))
        if dark0 >= MIN_IRIS_DARK:
            cover = np.clip(1.0 - signals[f"iris_dark_{s}"].to_numpy(np.float64) / dark0, 0.0, 1.0)
            closure = np.fmax(closure, cover)
        out[f"closure_{s}"] = closure
        out[f"corner_up_{s}"] = up
        out[f"corner_out_{s}"] = outw
        out[f"smile_{s}"] = np.hypot(np.clip(up, 0, None), np.clip(outw, 0, None))
        out[f"pucker_{s}"] = np.clip(-outw, 0, None)
        out[f"corner_move_{s}"] = np.hypot(up, outw)
    df = pd.DataFrame(out)
    df.loc[~signals["quality_ok"].to_numpy()] = np.nan
    return df


def _unmeasurable(signals: pd.DataFrame, m: np.ndarray, usable: int) -> str:
    """Why a task's frames could not be measured: no face in them, or a face turned or tilted
    beyond the measuring limits (``settings.max_yaw_deg`` and the like), with its angles."""
    found = m & signals["face_detected"].to_numpy(bool)
    head = ""
    if found.any():
        yaw, pitch, roll = (float(np.nanmedian(np.abs(signals.loc[found, f"head_{a}_deg"])))
                            for a in ("yaw", "pitch", "roll"))
        head = (f"; the face was found but turned {yaw:.0f}, tilted up or down {pitch:.0f} and sideways "
                f"{roll:.0f} degrees: face the camera squarely with the head level")
    return (f"not graded: the face was measurable in {usable} of its {int(m.sum())} frames"
            + (head or " (turned away, hidden or out of the picture)"))


def _feature(measure: str) -> str:
    return {"brow": "brow_up", "eye_closure": "closure", "smile": "smile", "snarl": "smile",
            "pucker": "pucker"}[measure]


def _peak(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, 90)) if len(x) else float("nan")


def _in(signals: pd.DataFrame, seg: Segment) -> np.ndarray:
    t = signals["time_s"].to_numpy()
    return (t >= seg.start_s) & (t < seg.end_s)


def task_measures(signals: pd.DataFrame, segments: list[Segment], protocol: Protocol,
                  min_frames: int = 3) -> dict[str, Any]:
    """See the module's shape contract. ``min_frames``: usable frames a task needs (1 for photos)."""
    by_task = {s.task: s for s in segments}
    if "rest" not in by_task:
        raise InputError("no rest segment was found; start the recording with the face relaxed")
    base = rest_baseline(signals, _in(signals, by_task["rest"]), min_frames)
    feats = movement_features(signals, base)
    yaw = signals["head_yaw_deg"].to_numpy(np.float64)
    ok_all = signals["quality_ok"].to_numpy()
    rest_m = _in(signals, by_task["rest"]) & ok_all
    rest_yaw = float(np.nanmedian(yaw[rest_m])) if rest_m.any() else float("nan")
    tasks: dict[str, Any] = {}
    for task in protocol.tasks:
        seg = by_task.get(task.id)
        if seg is None or task.measure == "rest":
            continue
        m = _in(signals, seg)
        usable = int((m & signals["quality_ok"].to_numpy()).sum())
        if usable < min_frames or usable < MIN_USABLE * m.sum():
            tasks[task.id] = {"performed": False, "graded": False, "segment": asdict(seg),
                              "reason": _unmeasurable(signals, m, usable)}
            continue
        turned = max(abs(rest_yaw), abs(float(np.nanmedian(yaw[m & ok_all]))))
        if turned > EXAM_MAX_YAW_DEG:
            tasks[task.id] = {"performed": False, "graded": False, "segment": asdict(seg),
                              "reason": (f"not graded: the face is turned {shown_against(turned, EXAM_MAX_YAW_DEG)} "
                                         "degrees to the side "
                                         f"{'at rest' if abs(rest_yaw) > EXAM_MAX_YAW_DEG else 'in this task'} "
                                         f"(at most {EXAM_MAX_YAW_DEG:.0f}); face the camera squarely")}
            continue
        f = feats[m]
        main = _feature(task.measure)
        exc = {s: _peak(f[f"{main}_{s}"].to_numpy()) for s in SIDES}
        strong = max(exc.values())
        performed = bool(strong >= MIN_MOVE[task.measure])
        graded = bool(strong >= MIN_EFFORT[task.measure])
        peak_i = int(np.nanargmax(np.nan_to_num(f[f"{main}_left"].to_numpy() + f[f"{main}_right"].to_numpy(),
                                                nan=-np.inf)))
        peak_row = signals[m].iloc[peak_i]
        need, unit = MIN_EFFORT[task.measure], UNITS[task.measure]
        moved = (f"{shown_against(100 * max(strong, 0.0), 100 * need)}% {unit}, at least {need:.0%} {unit}"
                 if task.measure == "eye_closure" else
                 f"{shown_against(max(strong, 0.0), need, 1)} {unit}, at least {need:.1f} {unit}")
        reason = None if graded else (
            f"not graded: too little movement to compare the sides (the stronger side moved {moved} is "
            "needed); repeat it with full effort")
        opened = float(peak_row["mouth_open_mm"])
        lips_open = bool(graded and task.measure in ("smile", "snarl") and opened > LIPS_MAX_OPEN_MM
                         and opened - base.get("mouth_open_mm", 0.0) > LIPS_MOVED_MM)
        if lips_open:
            graded = False
            redo = ("smile with the lips closed or just parted" if task.measure == "smile"
                    else "lift the upper lip with the teeth together")
            reason = (f"not graded: the mouth was open {shown_against(opened, LIPS_MAX_OPEN_MM)} mm at the {task.measure}'s peak, as in speech "
                      f"or a laugh (at most {LIPS_MAX_OPEN_MM:.0f} mm, unless the mouth rests that open); {redo}")
        ratio = max(min(exc.values()), 0.0) / strong if graded else float("nan")
        co = {
            "eye_narrowing": {s: _peak(f[f"closure_{s}"].to_numpy()) for s in SIDES},
            "corner_move_mm": {s: _peak(f[f"corner_move_{s}"].to_numpy()) for s in SIDES},
            "brow_up_mm": {s: _peak(f[f"brow_up_{s}"].to_numpy()) for s in SIDES},
        }
        if "mouth_open_mm" in base:  # the lips parting or closing from rest: speech, an expression
            lips = signals["mouth_open_mm"].to_numpy(np.float64)[m & ok_all]
            co["lips_moved_mm"] = round(_peak(np.abs(lips - base["mouth_open_mm"])), 3)
        if task.measure == "brow":  # each of the brow's two measures, for clear evidence
            co["brow_up_by"] = {k: {s: round(_peak(f[f"brow_up_{k}_{s}"].to_numpy()), 3) for s in SIDES}
                                for k in ("landmarks", "texture")}
        emotrics = {mm: {s: float(peak_row[f"{mm}_{s}_mm"]) for s in SIDES} for mm in EMOTRICS}
        tasks[task.id] = {
            "measure": task.measure,
            "performed": performed,
            "graded": graded,
            "reason": reason,
            "lips_open": lips_open,
            "excursion": {s: round(float(v), 3) for s, v in exc.items()},
            "unit": "fraction of resting aperture" if task.measure == "eye_closure" else "mm",
            "left_right_ratio": round(float(exc["left"] / exc["right"]), 3) if exc["right"] > 0 else None,
            "weak_over_strong": round(ratio, 3) if graded else None,
            "co_movement": co,
            "peak_frame": int(peak_row["frame"]),
            "emotrics_at_peak": emotrics,
            "segment": asdict(seg),
        }
    rest = {m: {s: base[f"{m}_{s}_mm"] for s in SIDES} for m in EMOTRICS}
    return {"rest": rest, "tasks": tasks, "features": feats}


# --- automatic segmentation ----------------------------------------------------------------
