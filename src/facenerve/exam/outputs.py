"""What ``facenerve exam`` writes: signals, task times, summary and report, atomically.

Shape contract
    ``exam_summary(result)``  -> dict for summary.json (run metadata + ``exam``)
    ``write_exam_into(result, folder)`` writes ``EXAM_OUTPUTS`` there;
    ``write_exam_outputs(result, out)`` the same into ``out``, atomically (``media.outputs``)
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..measure.run import base_summary
from ..media.outputs import write_atomically, write_json, write_parquet
from .pipeline import ExamResult
from .protocol import load_protocol

EXAM_OUTPUTS = ("signals.parquet", "tasks.json", "summary.json", "report.html")


def exam_summary(result: ExamResult) -> dict[str, Any]:
    summary = base_summary(result.analysis)
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


def write_exam_into(result: ExamResult, folder: Path, report: bool = True) -> None:
    write_parquet(result.analysis.signals, folder / "signals.parquet")
    write_json({"tasks": [asdict(s) for s in result.segments]}, folder / "tasks.json")
    write_json(exam_summary(result), folder / "summary.json")
    if report:
        from .report import exam_report

        (folder / "report.html").write_text(exam_report(result))


def write_exam_outputs(result: ExamResult, out_dir: str | os.PathLike[str], report: bool = True) -> Path:
    return write_atomically(out_dir, lambda tmp: write_exam_into(result, tmp, report))
