"""Voluntary activity: speech, expressions and head movement, frame by frame.

Shape contract
    in:  signals DataFrame (one row per decoded frame; ``measure.signals`` and
         ``measure.skin_motion`` columns)
    out: DataFrame, one row per frame, bool columns ``speech``, ``expression``, ``head_motion``
         and ``active`` (any of them, widened by ``activity_pad_s`` on each side), plus
         ``context`` (rest | speech | expression | head_motion | not_measured): what the face
         was doing, for each event and for the footage a finding rests on.

Method
    Hemifacial spasm moves one side; people who talk, smile or look around move both, or move
    the jaw and the head. So:
    - speech: the inner lips part and close again (``mouth_open_mm`` ranging more than
      ``speech_open_mm`` within ``ACTIVITY_WINDOW_S``), going on for ``SPEECH_MIN_S`` or more,
      or the mouth held open (``speech_open_mm`` beyond its rolling baseline) as long. A
      one-sided mouth twitch parts the lips once, for a fraction of a second: not speech;
    - expression: both sides move together: the weaker side's mouth-corner lift or cheek
      lift (skin motion) rises more than ``expression_min_mm`` above its rolling baseline and
      at least ``EXPRESSION_BALANCE`` of the stronger side's (a one-sided twitch leaves the
      other side still, or drags it a little, so it never counts), or both mouth corners are
      held out beyond the recording's narrowest (``held_smile``: a smile held for seconds,
      which the rolling baseline absorbs);
    - head motion: the head turns (yaw) or nods (``head_nod_deg``, read from points neither
      the eyes nor the jaw move) faster than ``head_motion_deg_s``.
    Frames without a trusted face are ``not_measured``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..settings import AnalysisSettings

ACTIVITY_WINDOW_S = 0.5
# speech goes on: the lips open and close for at least this long. A one-sided mouth twitch
# also parts the lips, but for a fraction of a second (or once, at each end of a tonic pull).
SPEECH_MIN_S = 0.5
NOD_SPAN_S = 0.2  # the head's nodding speed is read over this span (FaceMesh's depth jitters)
# skin motion (measure.skin_motion) that both sides share in smiles, grimaces and speech. The
# landmarks' brow height is left out: it rises with every blink (the iris point drops).
# Sideways mouth movement is left out too: a one-sided pull reads on both corners once the
# head's own motion (a similarity) is removed from the flow.
EXPRESSION_MOVES = (("mouth_lift", 1.0), ("cheek_lift", 1.0))
# ... and both sides move comparably: the weaker side at least this fraction of the stronger.
# A strong one-sided mouth twitch drags the other corner along a little (injected into real
# faces: 1.0 mm beside 3.9 mm), which alone made it an expression. In the healthy natural clips
# 11 of 2913 expression frames are below 0.3, all of them speech or head motion too (at 0.4, 2
# frames would be left at rest; at 0.5, 17)
EXPRESSION_BALANCE = 0.3
# both mouth corners pulled out this far (mm, landmarks) beyond the recording's own narrowest:
# a held smile. No frame of the resting ZJU clips comes to it (at 2 mm, 0.4 % of them do)
HELD_SMILE_MM = 3.0
CONTEXTS = ("rest", "speech", "expression", "head_motion", "not_measured")


def frame_rate(signals: pd.DataFrame) -> float:
    """Frames per second of a signals table, from its timestamps."""
    t = signals["time_s"].to_numpy()
    return float((len(t) - 1) / (t[-1] - t[0])) if len(t) > 1 and t[-1] > t[0] else 30.0


def _centered(x: np.ndarray, window: int, how: str) -> np.ndarray:
    r = pd.Series(x).rolling(max(window, 1), center=True, min_periods=1)
    return getattr(r, how)().to_numpy()


def _from_baseline(x: np.ndarray, window: int) -> np.ndarray:
    base = pd.Series(x).rolling(max(window, 3), center=True, min_periods=3).median()
    return x - base.ffill().bfill().to_numpy()


def lasting(mask: np.ndarray, min_len: int) -> np.ndarray:
    """``mask`` without its runs shorter than ``min_len`` frames."""
    out = mask.copy()
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if e - s < min_len:
            out[s:e] = False
    return out


def _dilate(mask: np.ndarray, pad: int) -> np.ndarray:
    if pad <= 0 or not mask.any():
        return mask
    return _centered(mask.astype(float), 2 * pad + 1, "max") > 0


def both_sides(signals: pd.DataFrame, measure: str, window: int, sign: float = 1.0,
               balance: float = 0.0) -> np.ndarray:
    """The weaker side's movement from baseline (mm, in the direction ``sign``); 0 in frames
    where it is less than ``balance`` times the stronger side's."""
    cols = [f"{measure}_{s}_mm" for s in ("left", "right")]
    if not all(c in signals for c in cols):
        return np.zeros(len(signals))
    moves = [sign * _from_baseline(signals[c].to_numpy(dtype=np.float64), window) for c in cols]
    weaker = np.fmin(*moves)
    return np.where(weaker >= balance * np.fmax(*moves), weaker, 0.0) if balance > 0 else weaker


def held_smile(signals: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    """Frames where both mouth corners are pulled out ``HELD_SMILE_MM`` beyond the recording's
    own narrowest (each corner's 10th percentile over trusted frames): a smile held for
    seconds, which a rolling baseline takes for the face at rest."""
    cols = [f"commissure_lateral_{side}_mm" for side in ("left", "right")]
    if ok.sum() < 10 or not all(c in signals for c in cols):
        return np.zeros(len(signals), bool)
    held = ok.copy()
    for col in cols:
        x = signals[col].to_numpy(dtype=np.float64)
        held &= np.nan_to_num(x - np.nanpercentile(x[ok], 10)) > HELD_SMILE_MM
    return held


def activity(signals: pd.DataFrame, settings: AnalysisSettings | None = None) -> pd.DataFrame:
    """Per-frame speech, expression and head motion; see the module docstring."""
    settings = settings or AnalysisSettings()
    n = len(signals)
    fps = frame_rate(signals)
    ok = signals["quality_ok"].to_numpy(dtype=bool) if n else np.zeros(0, bool)
    w = max(3, int(round(ACTIVITY_WINDOW_S * fps)))
    base_w = max(5, int(settings.baseline_window_s * fps))

    mouth = signals["mouth_open_mm"].to_numpy(dtype=np.float64) if "mouth_open_mm" in signals else np.zeros(n)
    spread = _centered(mouth, w, "max") - _centered(mouth, w, "min")
    # a lip movement lasting d seconds keeps the window's spread up for d plus one window:
    # speech goes on for SPEECH_MIN_S of movement, a twitch's single parting does not
    speech = lasting(np.nan_to_num(spread) > settings.speech_open_mm, int(round(SPEECH_MIN_S * fps)) + w - 1)
    # or the mouth held open beyond its own resting opening (a jaw drop, an open-mouthed
    # expression) as long; lips that always rest apart are the person's baseline
    opened = np.nan_to_num(_from_baseline(mouth, base_w)) > settings.speech_open_mm
    speech |= lasting(opened, int(round(SPEECH_MIN_S * fps)))

    thr = settings.expression_min_mm
    expr = np.zeros(n, bool)
    for measure, sign in EXPRESSION_MOVES:
        expr |= np.nan_to_num(both_sides(signals, measure, base_w, sign, EXPRESSION_BALANCE)) > thr
    expr |= held_smile(signals, ok)

    # yaw and the nod: FaceMesh's own pitch (on the chin) and the iris-based roll jump when
    # the eyes close. FaceMesh's depth jitters from frame to frame, so the nod's speed is its
    # change over NOD_SPAN_S
    speed = np.zeros(n)
    if n > 1:
        speed[1:] = np.nan_to_num(np.abs(np.diff(signals["head_yaw_deg"].to_numpy(dtype=np.float64))) * fps)
    k = max(1, int(round(NOD_SPAN_S * fps / 2)))
    if n > 2 * k:
        nod = signals["head_nod_deg"].to_numpy(dtype=np.float64)
        speed[k:-k] = np.fmax(speed[k:-k], np.nan_to_num(np.abs(nod[2 * k:] - nod[:-2 * k]) * fps / (2 * k)))
    head = _centered(speed, max(3, w // 2), "median") > settings.head_motion_deg_s

    pad = int(round(settings.activity_pad_s * fps))
    speech, expr, head = (_dilate(m & ok, pad) for m in (speech, expr, head))
    active = speech | expr | head
    context = np.where(~ok, "not_measured", np.where(
        expr, "expression", np.where(speech, "speech", np.where(head, "head_motion", "rest"))))
    return pd.DataFrame({"speech": speech, "expression": expr, "head_motion": head,
                         "active": active, "context": context})
