"""``facenerve exam``: chain measurement -> task segments -> task measures -> palsy grades.

Shape contract
    ``analyze_exam(video, tasks=None, segmentation="auto")`` -> ``ExamResult``:
        analysis (``measure.run.AnalysisResult`` with landmarks kept), segments
        ([protocol.Segment]), measures (``measures.task_measures`` without the per-frame
        table), grades (``grading.grade_exam``)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..measure.run import AnalysisResult, measure_video
from ..settings import AnalysisSettings
from .grading import grade_exam
from .measures import task_measures
from .protocol import (
    MIN_PUPILS_PX,
    Segment,
    load_protocol,
    parse_tasks,
    read_sidecar,
    segments_from_protocol,
    task_label,
)
from .segment import segment_auto

SEGMENTATIONS = ("auto", "protocol")
MIN_TASK_CONFIDENCE = 0.6  # an automatically found task counts from this confidence
MIN_TASKS = 3  # fewer clearly found movements: not an exam


@dataclass
class ExamResult:
    analysis: AnalysisResult
    segments: list[Segment]
    measures: dict[str, Any]
    grades: dict[str, Any]
    video: Path
    frames: dict[int, np.ndarray] | None = None  # the pictures themselves (an exam from photos)


def analyze_exam(video: str | os.PathLike[str],
                 tasks: str | os.PathLike[str] | list[dict[str, Any]] | None = None,
                 segmentation: str = "auto", settings: AnalysisSettings | None = None,
                 progress: bool = False,
                 on_progress: Callable[[int, int | None], None] | None = None) -> ExamResult:
    if segmentation not in SEGMENTATIONS:
        raise InputError(f"segmentation must be one of {', '.join(SEGMENTATIONS)}")
    protocol = load_protocol()
    # task times (a sidecar file, or its list of tasks), checked before the long work
    segs_from_file = (parse_tasks(tasks, protocol) if isinstance(tasks, list)
                      else read_sidecar(tasks, protocol) if tasks else None)
    analysis = measure_video(video, settings, progress=progress, keep_landmarks=True,
                             motion=False, on_progress=on_progress)
    sig = analysis.signals
    pupils = float(np.nanmedian(sig["ipd_mm"] / sig["mm_per_px"]))
    if pupils < MIN_PUPILS_PX:
        raise InputError(f"the face in {Path(video).name} is too small to measure: {pupils:.0f} pixels between "
                         f"the pupils, at least {MIN_PUPILS_PX} are needed; film it closer, the face filling a "
                         "good part of the picture")
    from ..measure.texture import video_texture

    shift = video_texture(video, analysis.landmarks, analysis.signals)
    analysis.signals = pd.concat([analysis.signals, shift], axis=1)
    if segs_from_file is not None:
        segments = segs_from_file
    elif segmentation == "protocol":
        segments = segments_from_protocol(protocol)
    else:
        segments = segment_auto(analysis.signals, protocol)
    duration = float(analysis.signals["time_s"].iloc[-1])
    late = [s for s in segments if s.end_s > duration + 0.5]
    if late:
        raise InputError(f"task {late[0].task} ({late[0].start_s:g}-{late[0].end_s:g} s) runs past the end "
                         f"of the video ({duration:.1f} s); check the task times")
    measures = task_measures(analysis.signals, segments, protocol)
    measures.pop("features")
    return ExamResult(analysis, segments, measures, grades_with_status(measures, segments, protocol), Path(video))


def grades_with_status(measures: dict[str, Any], segments: list[Segment], protocol,
                       not_an_exam: str | None = None) -> dict[str, Any]:
    """The grades and the exam's status (``exam_status``): nothing graded when it is not an exam
    (``not_an_exam`` replaces the reason), provisional grades when it is incomplete."""
    status = exam_status(segments, protocol)
    if status["status"] == "not_an_exam":  # nothing to grade: say what was found, grade nothing
        if not_an_exam:
            status["reason"] = not_an_exam
        return {"weaker_side": None, "central_pattern": False, "notes": [status["reason"]], "exam_status": status}
    grades = grade_exam(measures)
    ungraded = [k for k, t in measures["tasks"].items() if not t.get("graded")]
    if status["status"] == "incomplete" or ungraded:
        grades["provisional"] = True
        grades.setdefault("notes", []).append(
            "Provisional grades: " + "; ".join(
                ([f"tasks not found: {task_label(*status['tasks_missing'])}"] if status["tasks_missing"] else [])
                + ([f"tasks not graded: {task_label(*ungraded)}"] if ungraded else []))
            + ". Redo those tasks for a full grade.")
    else:
        grades["provisional"] = False
    grades["exam_status"] = status
    return grades


def exam_status(segments: list[Segment], protocol) -> dict[str, Any]:
    """complete | incomplete | not_an_exam, with the tasks found and missing. Tasks found by
    automatic segmentation count only with confidence ``MIN_TASK_CONFIDENCE``; an unguided
    video showing fewer than ``MIN_TASKS`` of the protocol's movements is not an exam."""
    moves = [t.id for t in protocol.tasks if t.measure != "rest"]
    found = [s.task for s in segments if s.task in moves and s.confidence >= MIN_TASK_CONFIDENCE]
    missing = [m for m in moves if m not in found]
    if not missing:
        return {"status": "complete", "tasks_found": found, "tasks_missing": [],
                "reason": "every task of the exam was found"}
    if len(found) < MIN_TASKS:
        return {"status": "not_an_exam", "tasks_found": found, "tasks_missing": missing,
                "reason": (f"this does not look like a facial exam: {len(found)} of the {len(moves)} "
                           "movements were found clearly, so nothing is graded; record the guided exam "
                           "(facenerve exam --segment protocol, or the web app) or give --tasks")}
    return {"status": "incomplete", "tasks_found": found, "tasks_missing": missing,
            "reason": f"incomplete exam: {task_label(*missing)} not found; redo those tasks"}
