"""The guided facial exam: protocol, task segments and per-task measures of each side.

Shape contract
    ``load_protocol()``            -> ``Protocol`` from knowledge/exam_protocol.yaml
    ``segments_from_protocol``     Protocol, offset_s -> [Segment] (a guided recording's timing)
    ``read_sidecar``               path of a JSON task-times file -> [Segment]
    ``segment_auto``               signals DataFrame, Protocol -> [Segment] with a confidence each
    ``movement_features``          signals, rest baseline -> DataFrame of per-frame movement from
                                   rest per side (mm or fraction), one row per frame
    ``task_measures``              signals, [Segment] -> dict: rest baseline; per task and side the
                                   excursion from rest, left/right ratio, co-movement of the other
                                   regions, Emotrics-style measures at the task's peak

Units: millimetres (iris-calibrated) except eye closure, a fraction of the resting aperture
(0 open as at rest, 1 fully closed). Sides are the person's anatomical sides.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .errors import InputError

SIDES = ("left", "right")
MOVE_CLASSES = ("brow", "eye_closure", "smile", "pucker")
# a movement counts as done when the stronger side moves at least this much
MIN_MOVE = {"brow": 1.0, "eye_closure": 0.2, "smile": 1.2, "snarl": 1.0, "pucker": 1.0}
# scale of each movement class for automatic segmentation (a typical clear movement)
CLASS_SCALE = {"brow": 2.5, "eye_closure": 0.45, "smile": 2.5, "pucker": 2.0}
EMOTRICS = ("brow_height", "mrd1", "mrd2", "eye_aperture", "fissure_width", "mouth_excursion",
            "commissure_lateral", "mouth_corner_drop", "cheek_drop")


@dataclass(frozen=True)
class Task:
    id: str
    prompt: str
    duration_s: float
    relax_s: float
    measure: str
    sunnybrook: bool


@dataclass(frozen=True)
class Protocol:
    version: int
    lead_in_s: float
    tasks: tuple[Task, ...]

    @property
    def total_s(self) -> float:
        return self.lead_in_s + sum(t.duration_s + t.relax_s for t in self.tasks)

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "lead_in_s": self.lead_in_s,
                "tasks": [asdict(t) for t in self.tasks]}


@dataclass
class Segment:
    task: str
    start_s: float
    end_s: float
    source: str  # protocol | sidecar | auto
    confidence: float = 1.0


@lru_cache(maxsize=1)
def load_protocol() -> Protocol:
    d = yaml.safe_load(resources.files("facenerve").joinpath("knowledge", "exam_protocol.yaml").read_text())
    return Protocol(d["version"], float(d["lead_in_s"]), tuple(Task(**t) for t in d["tasks"]))


def segments_from_protocol(protocol: Protocol, offset_s: float = 0.0) -> list[Segment]:
    t = offset_s + protocol.lead_in_s
    out = []
    for task in protocol.tasks:
        out.append(Segment(task.id, t, t + task.duration_s, "protocol"))
        t += task.duration_s + task.relax_s
    return out


def read_sidecar(path: str | Path, protocol: Protocol) -> list[Segment]:
    """Task times from a JSON file (the format of ``parse_tasks``)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"task file {p} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"task file {p} is not valid JSON ({str(err).splitlines()[0]})") from None
    return parse_tasks(doc, protocol, f"task file {p}")


def parse_tasks(doc: Any, protocol: Protocol, where: str = "the task times") -> list[Segment]:
    """Task times: ``{"tasks": [{"task": "smile", "start_s": 12.0, "end_s": 15.0}, ...]}``
    (or the list alone; ``id`` is accepted for ``task``). ``where`` names them in errors."""
    items = doc.get("tasks") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise InputError(f"{where} needs a list of tasks with task, start_s and end_s")
    known = {t.id for t in protocol.tasks}
    out = []
    for i, it in enumerate(items, 1):
        try:
            task = str(it.get("task", it.get("id")))
            start, end = float(it["start_s"]), float(it["end_s"])
        except (AttributeError, KeyError, TypeError, ValueError):
            raise InputError(f"{where}: item {i} needs task, start_s and end_s (numbers)") from None
        if task not in known:
            raise InputError(f"{where}: unknown task {task!r}; tasks are {', '.join(sorted(known))}")
        if not (np.isfinite(start) and np.isfinite(end) and end > start >= 0):
            raise InputError(f"{where}: task {task} must end after it starts (seconds from the start)")
        out.append(Segment(task, start, end, "sidecar"))
    if "rest" not in {s.task for s in out}:
        raise InputError(f"{where} has no 'rest' task: every measure is taken from rest")
    return out


# --- movement from rest ------------------------------------------------------------------

def rest_baseline(signals: pd.DataFrame, mask: np.ndarray) -> dict[str, float]:
    ok = mask & signals["quality_ok"].to_numpy()
    if ok.sum() < 3:
        raise InputError("too few usable frames at rest (face turned away or missing); "
                         "record again facing the camera, starting with the face relaxed")
    base = {}
    for m in (*EMOTRICS, "brow_shift"):
        for s in SIDES:
            col = f"{m}_{s}_mm"
            if col in signals:
                base[col] = float(np.nanmedian(signals.loc[ok, col]))
    return base


def movement_features(signals: pd.DataFrame, base: dict[str, float]) -> pd.DataFrame:
    """Per frame and side, movement from rest: brow_up (mm), closure (fraction), corner_up,
    corner_out (mm), smile (up-and-out distance, mm), pucker (inward, mm)."""
    out = {}
    for s in SIDES:
        def d(m: str, s: str = s) -> np.ndarray:
            return signals[f"{m}_{s}_mm"].to_numpy(np.float64) - base[f"{m}_{s}_mm"]

        # a face turned a little foreshortens one side's horizontal distances: rescale each
        # side's outward movement to the mean resting midline-to-corner distance
        lat0 = base[f"commissure_lateral_{s}_mm"]
        yaw_fix = 0.5 * (base["commissure_lateral_left_mm"] + base["commissure_lateral_right_mm"]) / lat0
        up, outw = -d("mouth_corner_drop"), d("commissure_lateral") * yaw_fix
        # the brow's own texture when measured (texture.brow_shift), else its landmarks
        out[f"brow_up_{s}"] = d("brow_shift") if f"brow_shift_{s}_mm" in signals else d("brow_height")
        # fraction of the resting aperture, 1 = lids meet (landmarks may cross a little beyond)
        out[f"closure_{s}"] = np.minimum(-d("eye_aperture") / base[f"eye_aperture_{s}_mm"], 1.0)
        out[f"corner_up_{s}"] = up
        out[f"corner_out_{s}"] = outw
        out[f"smile_{s}"] = np.hypot(np.clip(up, 0, None), np.clip(outw, 0, None))
        out[f"pucker_{s}"] = np.clip(-outw, 0, None)
        out[f"corner_move_{s}"] = np.hypot(up, outw)
    df = pd.DataFrame(out)
    df.loc[~signals["quality_ok"].to_numpy()] = np.nan
    return df


def _feature(measure: str) -> str:
    return {"brow": "brow_up", "eye_closure": "closure", "smile": "smile", "snarl": "smile",
            "pucker": "pucker"}[measure]


def _peak(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, 90)) if len(x) else float("nan")


def _in(signals: pd.DataFrame, seg: Segment) -> np.ndarray:
    t = signals["time_s"].to_numpy()
    return (t >= seg.start_s) & (t < seg.end_s)


def task_measures(signals: pd.DataFrame, segments: list[Segment], protocol: Protocol) -> dict[str, Any]:
    """See the module's shape contract."""
    by_task = {s.task: s for s in segments}
    if "rest" not in by_task:
        raise InputError("no rest segment was found; start the recording with the face relaxed")
    base = rest_baseline(signals, _in(signals, by_task["rest"]))
    feats = movement_features(signals, base)
    tasks: dict[str, Any] = {}
    for task in protocol.tasks:
        seg = by_task.get(task.id)
        if seg is None or task.measure == "rest":
            continue
        m = _in(signals, seg)
        usable = int((m & signals["quality_ok"].to_numpy()).sum())
        if usable < 3:
            tasks[task.id] = {"performed": False, "reason": "face not measurable during the task",
                              "segment": asdict(seg)}
            continue
        f = feats[m]
        main = _feature(task.measure)
        exc = {s: _peak(f[f"{main}_{s}"].to_numpy()) for s in SIDES}
        strong = max(exc.values())
        performed = bool(strong >= MIN_MOVE[task.measure])
        ratio = max(min(exc.values()), 0.0) / strong if performed else float("nan")
        co = {
            "eye_narrowing": {s: _peak(f[f"closure_{s}"].to_numpy()) for s in SIDES},
            "corner_move_mm": {s: _peak(f[f"corner_move_{s}"].to_numpy()) for s in SIDES},
            "brow_up_mm": {s: _peak(f[f"brow_up_{s}"].to_numpy()) for s in SIDES},
        }
        peak_i = int(np.nanargmax(np.nan_to_num(f[f"{main}_left"].to_numpy() + f[f"{main}_right"].to_numpy(),
                                                nan=-np.inf)))
        peak_row = signals[m].iloc[peak_i]
        emotrics = {mm: {s: float(peak_row[f"{mm}_{s}_mm"]) for s in SIDES} for mm in EMOTRICS}
        tasks[task.id] = {
            "measure": task.measure,
            "performed": performed,
            "excursion": {s: round(float(v), 3) for s, v in exc.items()},
            "unit": "fraction of resting aperture" if task.measure == "eye_closure" else "mm",
            "left_right_ratio": round(float(exc["left"] / exc["right"]), 3) if exc["right"] > 0 else None,
            "weak_over_strong": round(ratio, 3) if performed else None,
            "co_movement": co,
            "peak_frame": int(peak_row["frame"]),
            "emotrics_at_peak": emotrics,
            "segment": asdict(seg),
        }
    rest = {m: {s: base[f"{m}_{s}_mm"] for s in SIDES} for m in EMOTRICS}
    return {"rest": rest, "tasks": tasks, "features": feats}


# --- automatic segmentation ----------------------------------------------------------------

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
