"""What ``facenerve analyze`` writes: signals, events, summary and report, atomically.

Shape contract
    ``build_summary(result)``        -> dict for summary.json (run metadata + ``twitch``)
    ``write_outputs(result, out)``   writes ``OUTPUT_NAMES`` into ``out`` (``media.outputs``)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..measure.run import AnalysisResult, base_summary
from ..media.outputs import write_atomically, write_json

OUTPUT_NAMES = ("signals.parquet", "signals.csv", "summary.json", "report.html", "events.csv")


def build_summary(result: AnalysisResult) -> dict[str, Any]:
    summary = base_summary(result)
    if result.findings:
        summary["twitch"] = result.findings
    return summary


def write_outputs(
    result: AnalysisResult, out_dir: str | os.PathLike[str], csv: bool = False, report: bool = True
) -> Path:
    """Write signals, events, summary and report into ``out_dir`` atomically."""

    def write(tmp: Path) -> None:
        result.signals.to_parquet(tmp / "signals.parquet", index=False)
        if csv:
            result.signals.to_csv(tmp / "signals.csv", index=False)
        if result.events is not None:
            result.events.to_csv(tmp / "events.csv", index=False)
        write_json(build_summary(result), tmp / "summary.json")
        if report:
            from .report import analysis_report

            (tmp / "report.html").write_text(analysis_report(result))

    return write_atomically(out_dir, OUTPUT_NAMES, write)
