"""Measure a video and find its blinks and twitches.

Shape contract
    ``analyze_video(path)`` -> ``measure.run.AnalysisResult`` with ``events`` (one row per
    event, ``events.EVENT_COLUMNS``) and ``findings`` (``findings.summarize_events``)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..measure.run import AnalysisResult, measure_video
from ..settings import AnalysisSettings

if TYPE_CHECKING:
    import pandas as pd

# pandas (with pyarrow, 69 MB) is imported by the stages after measuring, not while the
# video is measured beside its span processes: the peak of them all at once is then lower


def events_and_findings(signals: pd.DataFrame, settings: AnalysisSettings) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The events table and the twitch findings of a signals table (activity found once).

    Frames whose face is too small in the picture to judge (``findings.too_small``) are
    treated as untrusted here, as a turned face is: no event and no footage comes from them."""
    from .activity import activity
    from .events import detect_events
    from .findings import summarize_events, too_small

    small = too_small(signals, settings)
    if small.any():  # the table's other columns shared, not copied
        signals = signals.copy(deep=False)
        signals["quality_ok"] = signals["quality_ok"].to_numpy() & ~small
    act = activity(signals, settings)
    events = detect_events(signals, settings, act)
    return events, summarize_events(events, signals, settings, act, small)


def attach_events(result: AnalysisResult, settings: AnalysisSettings) -> None:
    """Add the events table and the twitch findings (rates, grades) to a result."""
    result.events, result.findings = events_and_findings(result.signals, settings)


def analyze_video(path: str | os.PathLike[str], settings: AnalysisSettings | None = None,
                  detect: bool = True, **kwargs: Any) -> AnalysisResult:
    """``measure_video`` (same keyword arguments), then events and findings unless ``detect``
    is false."""
    settings = settings or AnalysisSettings()
    result = measure_video(path, settings, **kwargs)
    if detect:
        attach_events(result, settings)
    return result
