"""The guided facial exam's protocol and task times.

Shape contract
    ``load_protocol()``            -> ``Protocol`` from knowledge/exam_protocol.yaml
    ``segments_from_protocol``     Protocol, offset_s -> [Segment] (a guided recording's timing)
    ``read_sidecar``               path of a JSON task-times file -> [Segment]
    ``parse_tasks``                a parsed task-times document -> [Segment]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import InputError

SIDES = ("left", "right")
MOVE_CLASSES = ("brow", "eye_closure", "smile", "pucker")
# a movement counts as done when the stronger side moves at least this much
MIN_MOVE = {"brow": 1.0, "eye_closure": 0.2, "smile": 1.2, "snarl": 1.0, "pucker": 1.0}
# a movement is graded (its two sides compared) only when the stronger side moves at least this
# much: below it, measurement noise and normal asymmetry decide which side looks weaker, and a
# person who barely raised both brows is not weak on one side
MIN_EFFORT = {"brow": 2.5, "eye_closure": 0.5, "smile": 3.5, "snarl": 2.0, "pucker": 2.0}
UNITS = {"brow": "mm", "eye_closure": "of the eye's opening", "smile": "mm", "snarl": "mm", "pucker": "mm"}
# and a smile or a snarl only when the lips are at most parted at its peak: a mouth open wider,
# as in speech or a laugh, pulls the corners out and down unevenly (healthy real faces mid-word
# look as weak on one side as a palsy; a healthy man's laugh with the eyes shut, caught as his
# snarl with the lips 12-14 mm apart, read his left upper lip as not moving at all, III and a
# central flag)
LIPS_MAX_OPEN_MM = 10.0
# ... when the lips opened for it, parting more than this beyond their resting gap (the measure
# of a mouth that moved on its own, as ``grading`` uses it in eye closure): a mouth that rests
# open does not open for the smile (the rendered astronaut's rests 11 mm apart and her smile
# parts it 0.5 mm more). Of the 343 smiles and snarls of the real exams (``evaluate
# real-exams``, both cuts) that were open wider than 10 mm, one had not opened beyond this
# (StyleTalk feifeili's smile in a video cut whose rest shows her lips apart); the next 3.9 mm
LIPS_MOVED_MM = 3.0
MIN_USABLE = 0.5  # and only when at least this share of the task's frames is measurable
# and only when the face is this square to the camera (at rest and during the task): a turned face
# foreshortens one side and its movements look weaker
EXAM_MAX_YAW_DEG = 12.0
# a face smaller than this (pixels between the pupils) is too coarse to measure millimetres of
# movement: a pixel would be over 1.5 mm. The real exams' photos graded in ``evaluate real-exams``
# (the retakes at 0.75-1.6 times the size included) have 47-283; a video of a face that small is
# refused as a photo is (a face filmed from across a room is found, ``measure.landmarks``)
MIN_PUPILS_PX = 40
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
def task_label(*tasks: str) -> str:
    """Task ids as words, for people: ``task_label("lip_pucker", "smile")`` -> "lip pucker, smile"."""
    return ", ".join(t.replace("_", " ") for t in tasks)


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
    from ..media.outputs import read_json

    return parse_tasks(read_json(path, "task"), protocol, f"task file {path}")


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
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
            raise InputError(f"{where}: item {i} needs task, start_s and end_s (numbers)") from None
        if task not in known:
            raise InputError(f"{where}: unknown task {task!r}; tasks are {', '.join(sorted(known))}")
        if not (np.isfinite(start) and np.isfinite(end) and end > start >= 0):
            raise InputError(f"{where}: task {task} must end after it starts (seconds from the start)")
        out.append(Segment(task, start, end, "sidecar"))
    if "rest" not in {s.task for s in out}:
        raise InputError(f"{where} has no 'rest' task: every measure is taken from rest")
    out.sort(key=lambda s: s.start_s)
    for a, b in zip(out, out[1:], strict=False):
        if b.start_s < a.end_s:
            raise InputError(f"{where}: tasks {a.task} ({a.start_s:g}-{a.end_s:g} s) and {b.task} "
                             f"({b.start_s:g}-{b.end_s:g} s) overlap; each task needs its own time")
    seen = [s.task for s in out]
    if len(set(seen)) < len(seen):
        raise InputError(f"{where}: a task appears twice; give each task once")
    return out
