"""Events stage: blinks, long closures, twitches and voluntary movements, by side and region.

Shape contract
    in:  signals DataFrame (one row per decoded frame; see ``measure.signals``)
    out: events DataFrame, one row per event, columns ``EVENT_COLUMNS``:
         kind (blink | closure | twitch | movement), side (left|right|both), region
         (eye|cheek|mouth, the main one), regions (all involved, '+'-joined), pattern
         (clonic|tonic; forced for a closure squeezed shut; empty otherwise), onset_frame, offset_frame, peak_frame
         (0-based decoded-frame indices), onset_s, offset_s, amplitude_mm, episode
         (twitches of one side closer than ``episode_gap_s`` share a number; -1 otherwise),
         context (what the face was doing: rest | speech | expression | head_motion |
         not_measured, see ``activity``) and confidence (0-1).

Kinds
    blink     both eyes close briefly (at most ``blink_max_s``), partial blinks included;
    closure   both eyes closed for longer: a slow blink, looking down, squeezing. Never a
              twitch; repeated ones are what ``findings`` weighs for blepharospasm;
    twitch    a one-sided contraction of the eyelid, cheek or mouth corner in steady footage
              with no speech, expression or head motion around it;
    movement  the same one-sided movement while the person talks, makes an expression or
              turns the head (a wink, a lopsided smile), or answered by the other side's in
              the same region within ``ALTERNATE_S`` (a squint of each eye in turn), or in
              the recording's first ``activity.ACTIVITY_WINDOW_S``, where what the face was
              doing before it was not seen (context not_measured): reported, never counted as
              spasm.

Method
    Eyes: each eye's closure is 1 - aperture / open level, where the open level is a rolling
    upper percentile of the landmarks' aperture; where the skin motion of the eye's centre
    (``lid_drop``, see ``measure.skin_motion``) or of the lids towards each other
    (``lid_close``) says more, that wins: FaceMesh follows one eye closing alone poorly (its
    shape model pulls towards symmetry). An eye event starts where
    either eye's closure passes ``blink_min_drop`` and spans, with hysteresis, until both
    eyes are open again. Both eyes closing together (the weaker eye by at least
    ``blink_min_drop``) is a blink or a closure; if one eye is also held shut alone around
    it for ``ONE_EYE_IN_BLINK_S`` at a stretch, or at least ``ONE_EYE_SHUT`` shut while the
    other is still wide open for ``ONE_EYE_SHUT_S``, that is a twitch of that eye, and the
    blink is the frames where both were closed. One eye closing while the other stays open
    (the difference at least ``twitch_asym_min``) is one-sided.
    Cheek and mouth: the skin's own upward motion (``cheek_lift``, ``mouth_lift``, from
    optical flow in a steadied face crop; the landmarks there hardly move with the skin).
    The left-minus-right difference, measured from its rolling median, cancels movements of
    the whole head and of both sides at once; a one-sided lift of at least ``twitch_min_mm``
    (or 4 robust SDs of its noise, if larger: at rest from the other side's lifts alone;
    ``BLINK_MARGIN`` times the noise in the frames of a blink or closure of both eyes) is
    one-sided, unless it falls on the other side of a one-sided eye closure.
    Overlapping one-sided movements of one side are one event; its region is the one that
    moved most for its size, and ``regions`` lists all. Held at least ``tonic_min_s``: tonic,
    else clonic. Events cut by the start or end of the recording, or by frames without a
    trusted face, are left out, since their start or end was not seen.

    The brow is not read for the "other Babinski sign" of hemifacial spasm (the brow rising as
    the same eye closes): FaceMesh's brow points rise with a closing lid alone. Every eyelid
    twitch injected into the ZJU clips and found (15) and every one rendered on the astronaut
    and found (10), each moving the lid and the skin above it down and nothing up, read the
    same-side brow higher than the other by 1.1 to 6.5 mm at its most; referred to the lower lid
    14 of the 15 injected still rose 1 mm or more, and corrected by how the brow points follow
    the lids in the person's own blinks 12 did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..settings import AnalysisSettings
from .activity import ACTIVITY_WINDOW_S, activity, both_sides, frame_rate, lasting

EVENT_COLUMNS = [
    "kind", "side", "region", "regions", "pattern", "onset_frame", "offset_frame",
    "peak_frame", "onset_s", "offset_s", "amplitude_mm", "episode",
    "context", "confidence",
]
OPEN_PERCENTILE = 80
EYE_WINDOW_S = 10.0  # window of the eyes' open level
LID_FLOW_GAIN = 2.0  # the flow at the eye's centre moves about half as far as the upper lid
# the lids' flow towards each other (``lid_close``) reads 0.2-0.4 of the opening for an eye
# drawn 0.6-0.9 shut from both lids (``measure.skin_motion``)
LID_CLOSE_GAIN = 2.5
MIN_REST_FRAMES_S = 2.0  # resting footage needed to take the noise level from rest alone
# while both eyes close, the flow near the lower lids is disturbed and a lower-face movement
# must pass this many times its noise level (the smallest twitch, ``twitch_min_mm``, is a size,
# not a noise level: it stays). In twitch-free real footage at rest (ZJU and natural clips, as
# a whole) blink-time movements reached 1.17 times the noise-derived threshold (a mouth corner
# in LivePortrait d7's squeeze of one eye harder than the other, a false twitch of its own; the
# next 0.97), and 0.76 of the smallest twitch where that was the threshold; 1.32 while
# the head's roll as the eyes reopened was left in the skin motion (``skin_motion.RIGID``)
BLINK_MARGIN = 1.15
# one eye closed alone (the other open) at a stretch this long within a blink of both is also a
# twitch of that eye (a tonic twitch with a blink in it); at rest, healthy faces' blinks (ZJU and
# natural clips as a whole) reached 0.37 s, and 1.5 s in expressions (there: a movement at most).
# Until 3 December the other eye needed only to be less closed: one eye squeezed harder than the
# other (LivePortrait d7), or a glasses wearer's lid read a quarter more closed through a blink
# (ZJU 32_000009M at 15 fps), was a twitch
ONE_EYE_IN_BLINK_S = 0.4
# ... or one eye at least half shut (ONE_EYE_SHUT) while the other is still wide open (at
# most OTHER_OPEN) for ONE_EYE_SHUT_S: healthy eyes blink together, and at rest no healthy
# blink of those sets came to a single frame of that (at 0.4 shut, a healthy one-sided squint
# in a re-encoded copy of a natural clip did; 0.5 finds the same twitches injected into ZJU)
ONE_EYE_SHUT, OTHER_OPEN, ONE_EYE_SHUT_S = 0.5, 0.1, 0.1
FORCED_CLOSURE = 0.85  # both eyes at least this closed (with both cheeks raised): squeezed shut
# Hemifacial spasm keeps to one side; a healthy face pulling faces moves one side and then the
# other. A one-sided event answered by the other side's in a region they share, within this
# long of it, is voluntary: a movement in an expression, never a twitch. In the healthy natural
# clips: LivePortrait d19 squints each eye in turn (0.6 s apart), d8 raises each cheek (0.5 s
# apart, twitches in its re-encoded copies). Windows of 1, 1.5 and 2 s gave the same figures on
# every real set; at 0.5 s d19's squint stays a twitch; at 3 s a cheek twitch injected into ZJU
# (the mouth moving with it) was lost to the other corner's movement in an expression 2.7 s
# before it
ALTERNATE_S = 1.5


def _rolling(x: np.ndarray, window: int, q: float | None = None) -> np.ndarray:
    s = pd.Series(x)
    if len(x) <= window:  # short recording: one level for all of it
        val = np.nanpercentile(x, q) if q is not None else np.nanmedian(x)
        return np.full(len(x), val)
    r = s.rolling(window, center=True, min_periods=max(3, window // 4))
    out = (r.quantile(q / 100) if q is not None else r.median()).to_numpy()
    return pd.Series(out).ffill().bfill().to_numpy()


def eye_closure(signals: pd.DataFrame, side: str, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Closure (0 open .. 1 closed) of one eye and its open aperture in mm, per frame."""
    ap = signals[f"eye_aperture_{side}_mm"].to_numpy(dtype=np.float64).copy()
    ap[~signals["quality_ok"].to_numpy()] = np.nan
    if np.all(np.isnan(ap)):
        return np.full(len(ap), np.nan), np.full(len(ap), np.nan)
    open_level = _rolling(ap, int(EYE_WINDOW_S * fps), OPEN_PERCENTILE)
    with np.errstate(invalid="ignore", divide="ignore"):
        closure = 1 - ap / open_level
        for measure, gain in (("lid_drop", LID_FLOW_GAIN), ("lid_close", LID_CLOSE_GAIN)):
            if f"{measure}_{side}_mm" in signals:
                flow = signals[f"{measure}_{side}_mm"].to_numpy(dtype=np.float64) / open_level
                closure = np.fmax(closure, gain * flow)
    return np.clip(closure, -1, 1.2), open_level


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) inclusive index pairs of True runs."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _hysteresis(x: np.ndarray, on: float, off: float, max_gap: int = 1) -> list[tuple[int, int]]:
    """Runs where x rises above ``on``, extended while above ``off``; short gaps merged."""
    x = np.nan_to_num(x, nan=-np.inf)
    above_off = x > off
    out: list[tuple[int, int]] = []
    for s, e in _runs(above_off):
        if np.any(x[s : e + 1] > on):
            if out and s - out[-1][1] - 1 <= max_gap:
                out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
    return out


def _split_at_dips(x: np.ndarray, s: int, e: int, level: float) -> list[tuple[int, int]]:
    """Split [s, e] where x falls back below ``level`` between two peaks that each rise at
    least ``level`` above that dip: the eyes reopened between two closures (double blink)."""
    seg = np.nan_to_num(x[s : e + 1], nan=0.0)
    cuts: list[int] = []
    peak, valley, valley_at = seg[0], np.inf, -1
    for i in range(1, len(seg)):
        v = seg[i]
        if valley_at < 0:  # climbing towards a peak
            if v >= peak:
                peak = v
            elif peak - v >= level:
                valley, valley_at = v, i
        elif v < valley:
            valley, valley_at = v, i
        elif v - valley >= level:  # a second peak rises from the dip
            if valley < level:
                cuts.append(valley_at)
            peak, valley_at = v, -1
    bounds = [s] + [s + c for c in cuts] + [e + 1]
    return [(a, b - 1) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b - 1 >= a]


def _censored(s: int, e: int, x: np.ndarray) -> bool:
    """The event's start or end was not seen: it touches the recording's ends, or a gap
    with no trusted face."""
    return s == 0 or e == len(x) - 1 or not (np.isfinite(x[s - 1]) and np.isfinite(x[e + 1]))


def _one_eye_alone(cl: np.ndarray, cr: np.ndarray, s: int, e: int, settings: AnalysisSettings,
                   fps: float) -> tuple[list[dict], int | None, int | None]:
    """In an event where both eyes closed (frames s..e), one eye may also stay closed alone
    around the other's blink, as a tonic twitch with a blink in it: that eye's twitch (closed
    at least ``blink_min_drop``, ``twitch_asym_min`` more than the other, while the other is
    open (closed less than ``blink_min_drop``), for at least ``ONE_EYE_IN_BLINK_S`` at a
    stretch, or shut while the other is wide open for ``ONE_EYE_SHUT_S``), and the frames where
    both were closed (None, None when never at once).
    Without such a twitch: no rows, and s..e as they were."""
    on = settings.blink_min_drop

    def lasts(mask: np.ndarray, seconds: float) -> bool:  # a run of at least that long
        return max((b - a + 1 for a, b in _runs(mask)), default=0) >= np.ceil(seconds * fps - 1e-6)

    rows = []
    for side, this, other in (("left", cl, cr), ("right", cr, cl)):
        x, y = this[s : e + 1], other[s : e + 1]
        one = (x >= on) & (x - y >= settings.twitch_asym_min)
        if lasts(one & (y < on), ONE_EYE_IN_BLINK_S) or lasts((x >= ONE_EYE_SHUT) & (y <= OTHER_OPEN), ONE_EYE_SHUT_S):
            at = s + np.flatnonzero(one)
            a, b = int(at[0]), int(at[-1])
            rows.append(dict(kind="twitch", side=side, region="eye", onset=a, offset=b,
                             peak=a + int(np.nanargmax(this[a : b + 1])), strength=float(np.nanmax(this[a : b + 1]))))
    if not rows:
        return rows, s, e
    shut = s + np.flatnonzero(np.fmin(cl, cr)[s : e + 1] >= on)
    return (rows, int(shut[0]), int(shut[-1])) if len(shut) else (rows, None, None)


def _eye_events(signals: pd.DataFrame, settings: AnalysisSettings, fps: float
                ) -> tuple[list[dict], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Eye events, each eye's closure and each eye's open aperture (mm)."""
    cl, open_left = eye_closure(signals, "left", fps)
    cr, open_right = eye_closure(signals, "right", fps)
    both = np.where(np.isfinite(cl) & np.isfinite(cr), np.fmax(cl, cr), np.nan)
    on = settings.blink_min_drop
    rows: list[dict] = []
    spans = [p for s, e in _hysteresis(both, on, on * 0.5) for p in _split_at_dips(both, s, e, on)]
    for s, e in spans:
        if _censored(s, e, both):
            continue
        pl, pr = np.nanmax(cl[s : e + 1]), np.nanmax(cr[s : e + 1])
        dur = (e - s + 1) / fps
        if min(pl, pr) >= on:  # both eyes: a blink or a closure (one eye may twitch around it)
            alone, s, e = _one_eye_alone(cl, cr, s, e, settings, fps)
            rows += alone
            if s is None:  # both eyes were never closed at once
                continue
            dur = (e - s + 1) / fps
            kind, side = ("blink" if dur <= settings.blink_max_s else "closure"), "both"
            c = np.fmin(cl, cr)[s : e + 1]
        elif max(pl, pr) - min(pl, pr) >= settings.twitch_asym_min:
            if dur < settings.twitch_min_s:
                continue
            kind, side = "twitch", ("left" if pl > pr else "right")
            c = (cl if side == "left" else cr)[s : e + 1]
        else:
            continue
        rows.append(dict(kind=kind, side=side, region="eye", onset=s, offset=e,
                         peak=s + int(np.nanargmax(c)), strength=float(np.nanmax(c))))
    return rows, cl, cr, {"left": open_left, "right": open_right}


def _asym_lift(signals: pd.DataFrame, measure: str, window: int) -> np.ndarray:
    """How much more the left side lifted than the right, in mm, from the rolling median."""
    d = (signals[f"{measure}_left_mm"].to_numpy(dtype=np.float64)
         - signals[f"{measure}_right_mm"].to_numpy(dtype=np.float64))
    d[~signals["quality_ok"].to_numpy()] = np.nan
    return d - _rolling(d, window)


def _robust_sd(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if len(x) < 10:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _lower_sd(x: np.ndarray) -> float:
    """A robust standard deviation from the values below the median alone (1.4826 times their
    median distance from it), which lifts above the median do not widen."""
    x = x[np.isfinite(x)]
    if len(x) < 10:
        return 0.0
    mid = float(np.median(x))
    return float(1.4826 * np.median(mid - x[x <= mid]))


def _lower_face_events(signals: pd.DataFrame, settings: AnalysisSettings, fps: float,
                       rest: np.ndarray, blinking: np.ndarray) -> list[dict]:
    """One-sided cheek and mouth lifts; the noise level comes from resting frames (``rest``),
    since speech and expressions would raise it for the whole recording. In frames where both
    eyes close (``blinking``) the noise level counts ``BLINK_MARGIN`` times."""
    window = max(5, int(settings.baseline_window_s * fps))
    noisier = np.where(blinking, BLINK_MARGIN, 1.0)
    rows: list[dict] = []
    for region, measure in (("cheek", "cheek_lift"), ("mouth", "mouth_lift")):
        if f"{measure}_left_mm" not in signals:  # analysed without skin motion
            continue
        a = _asym_lift(signals, measure, window)
        everywhere = None if rest.sum() >= MIN_REST_FRAMES_S * fps else _robust_sd(a)
        for side, sig in (("left", a), ("right", -a)):
            # at rest, a side's noise level comes from the lifts of the other side (``_lower_sd``),
            # which its own twitches never move: frequent or long twitches (a tonic pull over half
            # a short clip) no longer raise the threshold they are judged by. Without enough rest,
            # speech and expressions lift either side, and the level comes from every frame.
            noise = _lower_sd(sig[rest]) if everywhere is None else everywhere
            base = max(settings.twitch_min_mm, 4 * noise)
            # frame by frame: while both eyes close, BLINK_MARGIN times the noise level; never
            # under the smallest twitch
            thr = np.maximum(settings.twitch_min_mm, 4 * noise * noisier)
            for s, e in _hysteresis(sig / thr, 1.0, 0.5, max_gap=2):
                if _censored(s, e, sig) or (e - s + 1) / fps < settings.twitch_min_s:
                    continue
                seg = sig[s : e + 1]
                rows.append(dict(kind="twitch", side=side, region=region, onset=s, offset=e,
                                 peak=s + int(np.nanargmax(seg)), amp=float(np.nanmax(seg)),
                                 strength=float(np.nanmax(seg)) / base))
    return rows


def _merge_twitches(rows: list[dict]) -> list[list[dict]]:
    """Group overlapping twitches of the same side into one movement."""
    groups: list[list[dict]] = []
    for side in ("left", "right"):
        items = sorted((r for r in rows if r["side"] == side), key=lambda r: r["onset"])
        for r in items:
            if groups and groups[-1][0]["side"] == side and r["onset"] <= max(g["offset"] for g in groups[-1]):
                groups[-1].append(r)
            else:
                groups.append([r])
    return groups


def detect_events(signals: pd.DataFrame, settings: AnalysisSettings | None = None,
                  act: pd.DataFrame | None = None) -> pd.DataFrame:
    """Blinks, closures, twitches and movements of a signals table; see the module docstring.
    ``act`` is ``activity.activity(signals, settings)`` when the caller has it already."""
    settings = settings or AnalysisSettings()
    if len(signals) < 3 or not signals["quality_ok"].any():
        return pd.DataFrame(columns=EVENT_COLUMNS)
    fps = frame_rate(signals)
    eye_rows, cl, cr, open_ap = _eye_events(signals, settings, fps)
    t = signals["time_s"].to_numpy()
    act = activity(signals, settings) if act is None else act
    context = _bridged(act["context"].to_numpy())
    active = act["active"].to_numpy() | (context == "not_measured")
    out: list[dict] = []
    cheeks = (both_sides(signals, "cheek_lift", max(5, int(settings.baseline_window_s * fps)))
              if "cheek_lift_left_mm" in signals else np.full(len(signals), np.nan))
    for r in (r for r in eye_rows if r["kind"] in ("blink", "closure")):
        amp = np.nanmean([cl[r["peak"]] * open_ap["left"][r["peak"]], cr[r["peak"]] * open_ap["right"][r["peak"]]])
        pattern = ""
        if r["kind"] == "closure":  # squeezed shut: both eyes fully closed and both cheeks raised
            s, e = r["onset"], r["offset"]
            shut = min(np.nanmax(cl[s : e + 1]), np.nanmax(cr[s : e + 1])) >= FORCED_CLOSURE
            raised = np.nanmax(np.nan_to_num(cheeks[s : e + 1], nan=0.0)) >= settings.expression_min_mm
            pattern = "forced" if shut and raised else ""
        out.append(_row(r, r["kind"], "both", "eye", "eye", pattern, float(amp), t,
                        _context(context, r["onset"], r["offset"]), 1.0))
    twitches = [r for r in eye_rows if r["kind"] == "twitch"]
    for r in twitches:
        c = cl if r["side"] == "left" else cr
        r["amp"] = float(c[r["peak"]] * open_ap[r["side"]][r["peak"]])
        r["strength"] = r["strength"] / settings.twitch_asym_min
    # Real faces move a little with every blink, never quite symmetrically, and the flow near
    # the lower lids is disturbed while the lids move: while both eyes close, a lower-face
    # movement must be clearly larger (BLINK_MARGIN times its threshold), and one on the other
    # side of a one-sided eye closure belongs to that closure.
    blinking = np.zeros(len(signals), dtype=bool)
    for r in eye_rows:
        if r["side"] == "both":
            blinking[r["onset"] : r["offset"] + 1] = True
    one_eye = [(r["onset"], r["offset"], r["side"]) for r in eye_rows if r["side"] != "both"]

    def kept(r: dict) -> bool:
        return not any(r["onset"] <= c1 and r["offset"] >= c0 and side != r["side"] for c0, c1, side in one_eye)

    twitches += [r for r in _lower_face_events(signals, settings, fps, ~active, blinking) if kept(r)]
    for group in _merge_twitches(twitches):
        main = max(group, key=lambda g: g["strength"])
        s, e = min(g["onset"] for g in group), max(g["offset"] for g in group)
        side = main["side"]
        regions = sorted({g["region"] for g in group}, key=["eye", "brow", "cheek", "mouth"].index)
        dur = (e - s + 1) / fps
        pattern = "tonic" if dur >= settings.tonic_min_s else "clonic"
        # during speech, an expression or head motion, a one-sided movement may be voluntary
        # (a wink, a lopsided smile): it is kept as a movement and never counts as a twitch.
        # Speech and expressions are seen over ACTIVITY_WINDOW_S: in a recording's first
        # ACTIVITY_WINDOW_S what the face was doing before the movement was not seen
        lo, hi = max(0, s - 1), min(len(t) - 1, e + 1)
        unseen = t[s] - t[0] < ACTIVITY_WINDOW_S
        kind = "movement" if unseen or active[lo : hi + 1].any() else "twitch"
        confidence = float(np.clip(0.5 + 0.25 * (main["strength"] - 1), 0.0, 1.0))
        merged = dict(onset=s, offset=e, peak=main["peak"])
        out.append(_row(merged, kind, side, main["region"], "+".join(regions), pattern, main["amp"], t,
                        "not_measured" if unseen else _context(context, lo, hi), confidence))
    events = pd.DataFrame(out, columns=EVENT_COLUMNS)
    events = events.sort_values(["onset_frame", "side"], kind="stable").reset_index(drop=True)
    answered = _answered(events, ALTERNATE_S)
    events.loc[answered, ["kind", "context"]] = ["movement", "expression"]
    events["episode"] = _episodes(events, settings.episode_gap_s)
    return events


def _answered(events: pd.DataFrame, within_s: float) -> np.ndarray:
    """Which events are twitches answered by a one-sided twitch or movement of the other side
    in a region they share, starting or ending within ``within_s`` of them."""
    one = events[events["kind"].isin(["twitch", "movement"]) & events["side"].isin(["left", "right"])]
    out = np.zeros(len(events), dtype=bool)
    for i, r in one[one["kind"] == "twitch"].iterrows():
        near = one[(one["side"] != r["side"]) & (one["onset_s"] <= r["offset_s"] + within_s)
                   & (one["offset_s"] >= r["onset_s"] - within_s)]
        regions = set(r["regions"].split("+"))
        out[i] = any(regions & set(x.split("+")) for x in near["regions"])
    return out


def _bridged(context: np.ndarray) -> np.ndarray:
    """``context`` with each lone untrusted frame between trusted ones given its neighbour's
    context: one frame over a pose limit (a head tilted 25 degrees, its pitch jittering across
    it) hides no speech, expression or head motion, which last longer and show around it. A
    twitch spanning that frame stays a twitch, not a movement of unknown context."""
    gap = context == "not_measured"
    lone = np.flatnonzero(gap & ~lasting(gap, 2))
    out = context.copy()
    out[lone] = context[np.where(lone > 0, lone - 1, lone + 1)]
    return out


def _context(context: np.ndarray, s: int, e: int) -> str:
    """What the face was doing during frames s..e: the activity seen there, else rest."""
    seen = set(context[s : e + 1])
    for c in ("expression", "speech", "head_motion", "not_measured"):
        if c in seen:
            return c
    return "rest"


def _row(r: dict, kind: str, side: str, region: str, regions: str, pattern: str,
         amp: float, t: np.ndarray, context: str, confidence: float) -> dict:
    return dict(kind=kind, side=side, region=region, regions=regions, pattern=pattern,
                onset_frame=int(r["onset"]), offset_frame=int(r["offset"]),
                peak_frame=int(r["peak"]), onset_s=round(float(t[r["onset"]]), 4),
                offset_s=round(float(t[r["offset"]]), 4), amplitude_mm=round(amp, 3),
                episode=-1, context=context,
                confidence=round(confidence, 2))


def _episodes(events: pd.DataFrame, gap_s: float) -> np.ndarray:
    ep = np.full(len(events), -1, dtype=np.int64)
    next_id = 0
    for side in ("left", "right"):
        idx = events.index[(events["kind"] == "twitch") & (events["side"] == side)]
        last_end = None
        for i in idx:
            if last_end is None or events.at[i, "onset_s"] - last_end > gap_s:
                next_id += 1
            ep[i] = next_id
            last_end = events.at[i, "offset_s"]
    return ep
