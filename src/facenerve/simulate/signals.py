"""Simulated signals with known blinks, twitches and exam movements, in the ``signals`` layout.

``simulate_signals``      -> (signals DataFrame, truth events DataFrame)
``simulate_exam_signals`` -> (signals DataFrame of a guided exam, its task segments)
``activations`` / ``exam_activations`` give the per (side, region) movement over time that
``render`` turns into pixels. Both take ``random_state`` so a test can regenerate exactly the
same data (NeuroKit2's ``ecg_simulate`` convention).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

REGIONS = ("eye", "cheek", "mouth")


@dataclass
class TruthEvent:
    kind: str  # blink | twitch
    side: str  # left | right | both
    region: str  # eye | cheek | mouth
    pattern: str  # clonic | tonic | ""
    onset_s: float
    offset_s: float
    amplitude: float  # closure fraction for eyes, mm for cheek/mouth


def schedule_events(duration_s: float, blink_rate: float, twitch_rate: float, twitch_side: str,
                    regions: tuple[str, ...], rng: np.random.Generator,
                    tonic_fraction: float = 0.2, margin_s: float = 0.8) -> list[TruthEvent]:
    """Non-overlapping blinks and one-sided twitches at the given rates (per minute), none
    within ``margin_s`` of either end."""
    events: list[TruthEvent] = []
    t = margin_s
    total_rate = (blink_rate + (twitch_rate if twitch_side != "none" else 0)) / 60
    if total_rate <= 0:
        return events
    while True:
        t += 0.7 + rng.exponential(1 / total_rate)
        is_blink = rng.random() < (blink_rate / 60) / total_rate
        if is_blink:
            dur = rng.uniform(0.2, 0.4)
            ev = TruthEvent("blink", "both", "eye", "", t, t + dur, float(rng.choice([1.0, rng.uniform(0.55, 0.9)])))
        else:
            region = str(rng.choice(regions))
            tonic = rng.random() < tonic_fraction
            dur = rng.uniform(1.3, 2.5) if tonic else rng.uniform(0.2, 0.45)
            amp = rng.uniform(0.6, 1.0) if region == "eye" else rng.uniform(3.0, 5.0)
            ev = TruthEvent("twitch", twitch_side, region, "tonic" if tonic else "clonic", t, t + dur, float(amp))
        if ev.offset_s > duration_s - margin_s:
            break
        events.append(ev)
        t = ev.offset_s
    return events


def _profile(t: np.ndarray, ev: TruthEvent) -> np.ndarray:
    """0..1 activation over time: raised-cosine rise and fall, a plateau for tonic."""
    dur = ev.offset_s - ev.onset_s
    ramp = min(0.12, dur / 2) if ev.pattern == "tonic" else dur / 2
    x = np.zeros_like(t)
    inside = (t >= ev.onset_s) & (t <= ev.offset_s)
    tt = t[inside] - ev.onset_s
    up = np.clip(tt / ramp, 0, 1)
    down = np.clip((dur - tt) / ramp, 0, 1)
    x[inside] = 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))
    return x


def activations(events: list[TruthEvent], t: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """Per (side, region): activation 0..1 scaled by amplitude, at times t."""
    out = {(s, r): np.zeros_like(t) for s in ("left", "right") for r in REGIONS}
    for ev in events:
        p = _profile(t, ev) * ev.amplitude
        sides = ("left", "right") if ev.side == "both" else (ev.side,)
        for s in sides:
            out[(s, ev.region)] = np.maximum(out[(s, ev.region)], p)
    return out


def truth_table(events: list[TruthEvent], fps: float) -> pd.DataFrame:
    df = pd.DataFrame([asdict(e) for e in events],
                      columns=["kind", "side", "region", "pattern", "onset_s", "offset_s", "amplitude"])
    df["onset_frame"] = np.ceil(df["onset_s"] * fps).astype(int)
    df["offset_frame"] = np.floor(df["offset_s"] * fps).astype(int)
    return df


def _pose(rng: np.random.Generator, t: np.ndarray) -> dict[str, np.ndarray]:
    """Head pose of someone sitting still: a slow sway of a degree or two, a little jitter."""
    out = {}
    for name in ("head_yaw_deg", "head_pitch_deg", "head_roll_deg", "head_nod_deg"):
        sway = rng.uniform(0.5, 2.0) * np.sin(2 * np.pi * t / rng.uniform(6, 14) + rng.uniform(0, 6))
        out[name] = sway + rng.normal(0, 0.15, len(t))
    return out


def simulate_signals(duration_s: float = 60.0, fps: float = 30.0, blink_rate: float = 15.0,
                     twitch_rate: float = 10.0, twitch_side: str = "left",
                     regions: tuple[str, ...] = REGIONS, noise_mm: float = 0.15,
                     head_motion_mm: float = 1.0, random_state: int | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A signals table with known events, noise and whole-head motion."""
    rng = np.random.default_rng(random_state)
    n = int(round(duration_s * fps))
    t = np.arange(n) / fps
    events = schedule_events(duration_s, blink_rate, twitch_rate, twitch_side, regions, rng)
    act = activations(events, t)
    head = head_motion_mm * np.sin(2 * np.pi * t / rng.uniform(5, 12) + rng.uniform(0, 6))
    cols: dict[str, np.ndarray] = {
        "frame": np.arange(n), "time_s": t, "face_detected": np.ones(n, bool),
        "n_faces": np.ones(n, np.int16), "quality_ok": np.ones(n, bool),
        **_pose(rng, t), "mm_per_px": np.full(n, 0.1), "ipd_mm": np.full(n, 63.0),
        "mouth_open_mm": np.abs(rng.normal(0, noise_mm, n)),
    }

    def noisy(base: float) -> np.ndarray:
        return base + rng.normal(0, noise_mm, n)

    for side in ("left", "right"):
        ap = 10.0 * (1 - act[(side, "eye")]) + rng.normal(0, noise_mm, n)
        cols[f"eye_aperture_{side}_mm"] = ap
        cols[f"mrd1_{side}_mm"] = ap * 0.45
        cols[f"mrd2_{side}_mm"] = ap * 0.55
        cols[f"fissure_width_{side}_mm"] = noisy(28.0)
        cols[f"ear_{side}"] = ap / 28.0 * 0.9
        cols[f"brow_height_{side}_mm"] = noisy(25.0)
        cols[f"cheek_drop_{side}_mm"] = noisy(35.0) + head - act[(side, "cheek")]
        cols[f"mouth_corner_drop_{side}_mm"] = noisy(70.0) + 2 * head - act[(side, "mouth")]
        cols[f"mouth_excursion_{side}_mm"] = noisy(25.0) + 0.5 * act[(side, "mouth")]
        cols[f"commissure_lateral_{side}_mm"] = noisy(24.0) + 0.4 * act[(side, "mouth")]
        # skin motion (skin_motion.py): the head's motion is removed there, a little is left
        cheek, mouth = act[(side, "cheek")], act[(side, "mouth")]
        cols[f"lid_drop_{side}_mm"] = 5.0 * act[(side, "eye")] + rng.normal(0, noise_mm, n)
        cols[f"lid_close_{side}_mm"] = 2.0 * act[(side, "eye")] + rng.normal(0, noise_mm, n)
        cols[f"cheek_lift_{side}_mm"] = 0.75 * cheek + 0.35 * mouth + 0.1 * head + rng.normal(0, noise_mm, n)
        cols[f"mouth_lift_{side}_mm"] = 0.7 * mouth + 0.5 * cheek + 0.1 * head + rng.normal(0, noise_mm, n)
        cols[f"mouth_out_{side}_mm"] = 0.3 * mouth + rng.normal(0, noise_mm, n)
    return pd.DataFrame(cols), truth_table(events, fps)


# --- rendered videos -----------------------------------------------------------------


EXAM_MOVES = {
    "brow_raise": (("brow", 6.0),),
    "gentle_eye_closure": (("eye", 1.0),),
    "tight_eye_closure": (("eye", 1.0), ("cheek", 1.5), ("brow", -1.5)),
    "smile": (("smile", 6.0), ("eye", 0.12), ("cheek", 1.5)),
    "snarl": (("snarl", 4.0), ("smile", 1.5)),
    "lip_pucker": (("pucker", 5.0),),
}
LOWER_FACE = {"smile", "snarl", "pucker", "cheek", "mouth"}


def implied_hb(factor: float) -> int:
    """House-Brackmann grade a peripheral palsy of this movement factor implies, by the scale's
    own 8-point measure (every movement at ``factor`` of normal: 8 x factor points), with the
    movement healthy faces themselves show (``grading.NORMAL_RATIO`` of the other side) as normal."""
    from ..exam.grading import NORMAL_RATIO

    return {8: 1, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5, 0: 6}[int(round(8 * min(1.0, factor / NORMAL_RATIO)))]


def exam_activations(t: np.ndarray, factor: float, side: str, central: bool, synkinesis: float,
                     rng: np.random.Generator) -> tuple[dict[tuple[str, str], np.ndarray], list[dict]]:
    """Per (side, region) activation over time for a guided exam, and the task segments."""
    from ..exam.protocol import load_protocol, segments_from_protocol

    segs = segments_from_protocol(load_protocol())
    regions = ("eye", "cheek", "mouth", "brow", "smile", "snarl", "pucker", "droop")
    act = {(s, r): np.zeros_like(t) for s in ("left", "right") for r in regions}

    def scale(s: str, region: str) -> float:
        if s != side:
            return 1.0
        if region == "brow" and central:
            return 1.0
        if region == "eye" and central:
            return 1.0 - 0.3 * (1.0 - factor)
        return factor

    for seg in segs:
        moves = EXAM_MOVES.get(seg.task, ())
        prof = _profile(t, TruthEvent("", "", "", "tonic", seg.start_s, seg.end_s - 0.3, 1.0))
        for s in ("left", "right"):
            for region, amp in moves:
                act[(s, region)] += prof * amp * scale(s, region)
        if synkinesis > 0:
            if seg.task in ("smile", "snarl", "lip_pucker"):
                act[(side, "eye")] += prof * 0.45 * synkinesis
            if seg.task in ("gentle_eye_closure", "tight_eye_closure"):
                act[(side, "smile")] += prof * 4.0 * synkinesis
    # resting droop of the weak side
    act[(side, "droop")] += 2.5 * (1 - factor)
    if not central:
        act[(side, "brow")] -= 2.0 * (1 - factor)
    # a few spontaneous blinks in the pauses
    for a, b in zip(segs[1:-1], segs[2:], strict=True):
        if rng.random() < 0.4:
            t0 = rng.uniform(a.end_s + 0.2, max(a.end_s + 0.25, b.start_s - 0.5))
            prof = _profile(t, TruthEvent("", "", "", "clonic", t0, t0 + 0.25, 1.0))
            for s in ("left", "right"):
                act[(s, "eye")] = np.maximum(act[(s, "eye")], prof * scale(s, "eye"))
    for k in act:
        if k[1] == "eye":
            act[k] = np.clip(act[k], 0, 1)
    return act, [{"task": sg.task, "start_s": sg.start_s, "end_s": sg.end_s} for sg in segs]


def simulate_exam_signals(factor: float = 1.0, side: str = "left", central: bool = False,
                          synkinesis: float = 0.0, fps: float = 30.0, noise_mm: float = 0.15,
                          random_state: int | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """A signals table of a guided exam (the ``signals`` layout) and its task segments: the
    same movements as ``render_exam_video``, mapped straight onto the measures."""
    from ..exam.protocol import load_protocol

    rng = np.random.default_rng(random_state)
    n = int(round((load_protocol().total_s + 0.5) * fps))
    t = np.arange(n) / fps
    act, tasks = exam_activations(t, factor, side, central, synkinesis, rng)
    cols: dict[str, np.ndarray] = {
        "frame": np.arange(n), "time_s": t, "face_detected": np.ones(n, bool),
        "n_faces": np.ones(n, np.int16), "quality_ok": np.ones(n, bool),
        **_pose(rng, t), "mm_per_px": np.full(n, 0.1), "ipd_mm": np.full(n, 63.0),
        "mouth_open_mm": np.abs(rng.normal(0, noise_mm, n)),
    }

    def nz() -> np.ndarray:
        return rng.normal(0, noise_mm, n)

    for s in ("left", "right"):
        a = {r: act[(s, r)] for r in ("eye", "cheek", "brow", "smile", "snarl", "pucker", "droop")}
        ap = 10.0 * (1 - a["eye"]) + nz()
        cols[f"eye_aperture_{s}_mm"] = ap
        cols[f"mrd1_{s}_mm"] = 0.45 * ap
        cols[f"mrd2_{s}_mm"] = 0.55 * ap
        cols[f"fissure_width_{s}_mm"] = 28.0 + nz()
        cols[f"ear_{s}"] = ap / 28.0 * 0.9
        cols[f"brow_height_{s}_mm"] = 22.0 + a["brow"] + nz()
        lateral = 25.0 + 0.7 * a["smile"] - a["pucker"] + nz()
        cols[f"commissure_lateral_{s}_mm"] = lateral
        cols[f"mouth_excursion_{s}_mm"] = lateral
        cols[f"mouth_corner_drop_{s}_mm"] = 70.0 - 0.7 * a["smile"] - a["snarl"] + a["droop"] + nz()
        cols[f"cheek_drop_{s}_mm"] = 35.0 - a["cheek"] + nz()
    return pd.DataFrame(cols), tasks
