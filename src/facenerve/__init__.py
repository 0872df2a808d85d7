"""facenerve: facial nerve disorders measured from an ordinary video.

Importing this package is cheap: heavy libraries (mediapipe, cv2, av, SQLAlchemy, FastAPI)
are imported only by the functions that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "analyze_video": "facenerve.twitch.analyze",
    "write_outputs": "facenerve.twitch.outputs",
    "measure_video": "facenerve.measure.run",
    "analyze_exam": "facenerve.exam.pipeline",
    "AnalysisSettings": "facenerve.settings",
    "FacenerveError": "facenerve.errors",
    "detect_events": "facenerve.twitch.events",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facenerve' has no attribute {name!r}")
