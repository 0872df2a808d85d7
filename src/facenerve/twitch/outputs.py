"""What ``facenerve analyze`` writes: signals, events, summary and report, atomically.

Shape contract
    ``build_summary(result)``        -> dict for summary.json (run metadata + ``twitch``)
    ``write_into(result, folder)``   writes ``OUTPUT_NAMES`` (signals.csv with ``csv``) there
    ``write_outputs(result, out)``   the same into ``out``, atomically (``media.outputs``)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..measure.run import AnalysisResult, base_summary
from ..media.outputs import write_atomically, write_json, write_parquet

OUTPUT_NAMES = ("signals.parquet", "signals.csv", "summary.json", "report.html", "events.csv")


def build_summary(result: AnalysisResult) -> dict[str, Any]:
    summary = base_summary(result)
    if result.findings:
        summary["twitch"] = result.findings
    return summary


def write_into(result: AnalysisResult, folder: Path, csv: bool = False, report: bool = True) -> None:
    """Write signals, events, summary and report into ``folder`` (an ``OutputDir``'s)."""
    write_parquet(result.signals, folder / "signals.parquet")
    if csv:
        result.signals.to_csv(folder / "signals.csv", index=False)
    if result.events is not None:
        result.events.to_csv(folder / "events.csv", index=False)
    write_json(build_summary(result), folder / "summary.json")
    if report:
        from .report import analysis_report

        (folder / "report.html").write_text(analysis_report(result))


def write_outputs(
    result: AnalysisResult, out_dir: str | os.PathLike[str], csv: bool = False, report: bool = True
) -> Path:
    """Write signals, events, summary and report into ``out_dir`` atomically."""
    return write_atomically(out_dir, lambda tmp: write_into(result, tmp, csv, report))
