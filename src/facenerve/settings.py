"""One typed, frozen settings object for every tunable threshold.

Each field carries its help text in ``metadata``, so the CLI, the web form and the docs are
generated from the same place (datasette's ``SETTINGS``). Nothing is a module-level mutable.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from .errors import InputError


def _s(default: Any, help: str, lo: float, hi: float) -> Any:  # noqa: A002 - "help" reads best here
    """A setting with its help text and its sensible range [lo, hi]."""
    return field(default=default, metadata={"help": help, "range": (lo, hi)})


@dataclass(frozen=True)
class AnalysisSettings:
    # landmarks
    min_detection_confidence: float = _s(0.5, "FaceMesh face-detection confidence (0-1).", 0.0, 1.0)
    min_tracking_confidence: float = _s(0.5, "FaceMesh tracking confidence (0-1).", 0.0, 1.0)
    face_check_every_s: float = _s(
        1.0, "How often (seconds) a face detector counts the faces in view.", 0.05, 60.0
    )
    max_faces: int = _s(4, "Most faces tracked at once when several are in view.", 1, 10)
    # calibration and quality
    iris_diameter_mm: float = _s(11.77, "Assumed horizontal visible iris diameter (mm).", 9.0, 14.0)
    max_yaw_deg: float = _s(25.0, "Frames with |yaw| above this are flagged as not trusted.", 1.0, 90.0)
    max_pitch_deg: float = _s(25.0, "Frames with |pitch| above this are flagged as not trusted.", 1.0, 90.0)
    max_roll_deg: float = _s(35.0, "Frames with |roll| above this are flagged as not trusted.", 1.0, 90.0)
    scale_window_s: float = _s(
        2.0, "Window (s) of the rolling median that follows changes in face size (distance).", 0.1, 60.0
    )
    # events
    blink_min_drop: float = _s(
        0.25, "A blink closes both eyes by at least this fraction of their open aperture.", 0.05, 1.0
    )
    blink_max_s: float = _s(0.7, "Longest eye closure still counted as a blink (s).", 0.1, 10.0)
    twitch_asym_min: float = _s(
        0.25, "An eyelid twitch closes one eye by at least this fraction more than the other.", 0.05, 1.0
    )
    twitch_min_mm: float = _s(1.5, "Smallest cheek or mouth-corner twitch (mm).", 0.1, 20.0)
    twitch_min_s: float = _s(0.06, "Shortest one-sided twitch (s); shorter blips are noise.", 0.0, 5.0)
    tonic_min_s: float = _s(1.0, "A contraction held at least this long is tonic (s).", 0.1, 60.0)
    episode_gap_s: float = _s(2.0, "Twitches closer than this belong to one episode (s).", 0.0, 60.0)
    baseline_window_s: float = _s(
        10.0, "Window (s) of the rolling baseline each signal's movement is measured from.", 1.0, 120.0
    )
    # voluntary activity (twitch/activity.py): twitch-like movements during it are not twitches
    speech_open_mm: float = _s(
        3.0, "Speech: the inner lips open and close by more than this within half a second, or "
        "open this far beyond their resting opening, for half a second or more (mm).",
        0.1, 50.0
    )
    expression_min_mm: float = _s(
        1.0, "Expression: both sides' mouth corners or cheeks move more than this (mm).", 0.1, 20.0
    )
    head_motion_deg_s: float = _s(
        30.0, "Head motion: the head turns faster than this (deg/s).", 1.0, 1000.0
    )
    activity_pad_s: float = _s(
        0.3, "Time (s) before and after speech, an expression or head motion also counted as it.",
        0.0, 10.0
    )
    # findings (twitch/findings.py): a finding or a rate needs a pattern and enough footage
    finding_min_twitches: int = _s(
        3, "A spasm finding needs at least this many twitches of one side.", 1, 1000
    )
    finding_one_sided: float = _s(
        0.75, "... and at least this fraction of all twitches on that side.", 0.5, 1.0
    )
    finding_min_assessable_s: float = _s(
        10.0, "Least assessable resting footage (s) for any twitch finding, rate or grade.", 1.0, 3600.0
    )
    min_pupils_px: float = _s(
        35.0, "Fewest pixels between the pupils for a face's frames to be assessed for blinks and twitches "
        "(a smaller face, filmed from afar, is measured but not judged).", 5.0, 1000.0
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> AnalysisSettings:
        """Build settings from user values, rejecting unknown names and wrong types."""
        if not values:
            return cls()
        known = {f.name: f for f in fields(cls)}
        updates: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise InputError(
                    f"unknown setting {key!r}; known settings: {', '.join(sorted(known))}"
                )
            default = known[key].default
            shown = _shown(value)
            try:
                if isinstance(value, bool) or (isinstance(default, int) and isinstance(value, float)
                                               and not float(value).is_integer()):
                    raise ValueError
                updates[key] = type(default)(value)
            except (TypeError, ValueError, OverflowError):
                raise InputError(
                    f"setting {key!r} must be a {type(default).__name__}, got {shown}"
                ) from None
            lo, hi = known[key].metadata["range"]
            try:
                number = float(updates[key])
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise InputError(f"setting {key!r} must be a finite number, got {shown}")
            if not lo <= number <= hi:
                raise InputError(f"setting {key!r} must be between {lo:g} and {hi:g}, got {shown}")
        return replace(cls(), **updates)


def _shown(value: Any, limit: int = 40) -> str:
    """A value as an error line shows it: repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def settings_help() -> list[tuple[str, Any, str]]:
    """(name, default, help) for every setting, for docs and forms."""
    out = []
    for f in fields(AnalysisSettings):
        default = None if f.default is MISSING else f.default
        out.append((f.name, default, f.metadata.get("help", "")))
    return out
