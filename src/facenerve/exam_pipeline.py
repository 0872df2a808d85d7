"""``facenerve exam``: chain analysis -> task segments -> task measures -> palsy grades.

Shape contract
    ``analyze_exam(video, tasks=None, segmentation="auto")`` -> ``ExamResult``:
        analysis (``pipeline.AnalysisResult`` with landmarks kept), segments ([exam.Segment]),
        measures (exam.task_measures without the per-frame table), grades (palsy.grade_exam)
    ``exam_summary(result)``  -> dict for summary.json (run metadata + ``exam``)
    ``write_exam_outputs(result, out)`` writes signals.parquet, tasks.json, summary.json and
        report.html atomically (see ``pipeline.OutputDir``)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .exam import (
    Segment,
    load_protocol,
    parse_tasks,
    read_sidecar,
    segment_auto,
    segments_from_protocol,
    task_measures,
)
from .palsy import grade_exam
from .pipeline import AnalysisResult, analyze_video, build_summary, write_atomically, write_json
from .settings import AnalysisSettings

EXAM_OUTPUTS = ("signals.parquet", "tasks.json", "summary.json", "report.html")
SEGMENTATIONS = ("auto", "protocol")


@dataclass
class ExamResult:
    analysis: AnalysisResult
    segments: list[Segment]
    measures: dict[str, Any]
    grades: dict[str, Any]
    video: Path


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
    analysis = analyze_video(video, settings, progress=progress, keep_landmarks=True, detect=False,
                             motion=False, on_progress=on_progress)
    from .texture import brow_shift

    shift = brow_shift(video, analysis.landmarks, analysis.signals)
    analysis.signals = pd.concat([analysis.signals, shift], axis=1)
    if segs_from_file is not None:
        segments = segs_from_file
    elif segmentation == "protocol":
        segments = segments_from_protocol(protocol)
    else:
        segments = segment_auto(analysis.signals, protocol)
    duration = float(analysis.signals["time_s"].iloc[-1])
    if min(s.start_s for s in segments) > duration:
        raise InputError(f"the video ({duration:.1f} s) ends before the first task; check the task times")
    measures = task_measures(analysis.signals, segments, protocol)
    measures.pop("features")
    return ExamResult(analysis, segments, measures, grade_exam(measures), Path(video))


def exam_summary(result: ExamResult) -> dict[str, Any]:
    summary = build_summary(result.analysis)
    summary["exam"] = {
        "protocol": load_protocol().to_dict(),
        "segments": [asdict(s) for s in result.segments],
        "rest": result.measures["rest"],
        "tasks": result.measures["tasks"],
        **result.grades,
        "note": ("Grades are estimates from this recording's landmarks, not a diagnosis; clinicians "
                 "grade by eye and also disagree (Sunnybrook ICC about 0.89)."),
    }
    return summary


def write_exam_outputs(result: ExamResult, out_dir: str | os.PathLike[str], report: bool = True) -> Path:
    def write(tmp: Path) -> None:
        result.analysis.signals.to_parquet(tmp / "signals.parquet", index=False)
        write_json({"tasks": [asdict(s) for s in result.segments]}, tmp / "tasks.json")
        write_json(exam_summary(result), tmp / "summary.json")
        if report:
            from .exam_report import exam_report

            (tmp / "report.html").write_text(exam_report(result))

    return write_atomically(out_dir, EXAM_OUTPUTS, write)
