"""Simulator: signals and rendered face videos with known blinks and twitches.

``simulate_signals``  -> (signals DataFrame in the ``signals`` layout, truth events DataFrame)
``render_twitch_video`` -> an .mp4 made by warping the pixels of a real face photograph
    (NASA's public-domain astronaut portrait shipped with scikit-image) so that one side's
    eyelid, cheek or mouth corner moves, plus ``<video>.truth.json`` with every event.

Both take ``random_state`` so a test can regenerate exactly the same data (NeuroKit2's
``ecg_simulate`` convention).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .geometry import SIDES

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
                    tonic_fraction: float = 0.2) -> list[TruthEvent]:
    """Non-overlapping blinks and one-sided twitches at the given rates (per minute)."""
    events: list[TruthEvent] = []
    t = 0.8
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
        if ev.offset_s > duration_s - 0.8:
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
        "head_yaw_deg": rng.normal(0, 1, n), "head_pitch_deg": rng.normal(0, 1, n),
        "head_roll_deg": rng.normal(0, 1, n), "mm_per_px": np.full(n, 0.1), "ipd_mm": np.full(n, 63.0),
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
        cols[f"cheek_lift_{side}_mm"] = 0.75 * cheek + 0.35 * mouth + 0.1 * head + rng.normal(0, noise_mm, n)
        cols[f"mouth_lift_{side}_mm"] = 0.7 * mouth + 0.5 * cheek + 0.1 * head + rng.normal(0, noise_mm, n)
        cols[f"mouth_out_{side}_mm"] = 0.3 * mouth + rng.normal(0, noise_mm, n)
    return pd.DataFrame(cols), truth_table(events, fps)


# --- rendered videos -----------------------------------------------------------------

def face_image(size: int = 480) -> np.ndarray:
    """NASA's astronaut portrait (public domain, shipped with scikit-image), face cropped."""
    from skimage import data, transform

    img = data.astronaut()
    crop = img[20:300, 100:380]  # the face and some margin
    out = transform.resize(crop, (size, size), order=3, anti_aliasing=True, preserve_range=True)
    return np.clip(out, 0, 255).astype(np.uint8)


def _gauss(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)


class _CachedGauss:
    """The warp fields are fixed bumps around fixed landmarks: compute each one once."""

    def __init__(self, xx: np.ndarray, yy: np.ndarray):
        self.xx, self.yy, self.cache = xx, yy, {}

    def __call__(self, _xx, _yy, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
        key = (round(float(cx), 3), round(float(cy), 3), round(float(sx), 3), round(float(sy), 3))
        if key not in self.cache:
            self.cache[key] = _gauss(self.xx, self.yy, cx, cy, sx, sy).astype(np.float32)
        return self.cache[key]


class FaceWarper:
    """Backward-warps one face image so that eyelids, cheeks and mouth corners move."""

    def __init__(self, image: np.ndarray, points: np.ndarray):
        self.image = image
        h, w = image.shape[:2]
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.gauss = _CachedGauss(self.xx, self.yy)
        self.p = points
        ring = points[list(SIDES["left"].iris_ring), :2]
        self.px_per_mm = float(np.linalg.norm(ring[0] - ring[1])) / 11.77

    def maps(self, act: dict[tuple[str, str], float], shift: tuple[float, float] = (0, 0),
             roll_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        mx, my = self.xx.copy(), self.yy.copy()
        p = self.p
        for side, ix in SIDES.items():
            a = act.get((side, "eye"), 0.0)
            if a > 0.01:
                x0, x1 = sorted((p[ix.eye_outer, 0], p[ix.eye_inner, 0]))
                yu, yl = p[ix.lid_upper, 1], p[ix.lid_lower, 1]
                h = (yl - yu) * 1.15
                cx, half = (x0 + x1) / 2, (x1 - x0) / 2 * 1.15
                wx = np.clip(1 - ((self.xx - cx) / half) ** 2, 0, 1) ** 0.5
                top = yu - 2.0 * h
                by = np.where((self.yy >= yu) & (self.yy <= yl + 1), 1.0,
                              np.where((self.yy < yu) & (self.yy > top), (self.yy - top) / (yu - top), 0.0))
                my -= a * h * by * wx
            c = act.get((side, "cheek"), 0.0)
            if c > 0.01:
                q = p[list(ix.cheek), :2].mean(axis=0)
                s = 0.06 * self.image.shape[1]
                my += c * self.px_per_mm * self.gauss(self.xx, self.yy, q[0], q[1], s, s)
            out_dir = -1.0 if side == "right" else 1.0  # person's right is image left
            corner = p[ix.mouth_corner, :2]
            w = self.image.shape[1]
            m = act.get((side, "mouth"), 0.0)
            if m > 0.01:
                g = m * self.px_per_mm * self.gauss(self.xx, self.yy, corner[0], corner[1], 0.07 * w, 0.07 * w)
                my += g
                mx -= 0.4 * out_dir * g
            # exam movements, amplitudes in mm (see render_exam_video)
            b = act.get((side, "brow"), 0.0)
            if abs(b) > 0.01:
                my += b * self.px_per_mm * self._brow_field(side)
            sm = act.get((side, "smile"), 0.0)
            if sm > 0.01:
                g = sm * self.px_per_mm * self.gauss(self.xx, self.yy, corner[0], corner[1], 0.07 * w, 0.07 * w)
                my += 0.7 * g
                mx -= 0.7 * out_dir * g
            sn = act.get((side, "snarl"), 0.0)
            if sn > 0.01:
                g = sn * self.px_per_mm * self.gauss(self.xx, self.yy, corner[0] - 0.02 * out_dir * w,
                                                 corner[1] - 0.035 * w, 0.05 * w, 0.05 * w)
                my += g
            pk = act.get((side, "pucker"), 0.0)
            if pk > 0.01:
                mx += out_dir * pk * self.px_per_mm * self.gauss(self.xx, self.yy, corner[0], corner[1], 0.06 * w, 0.06 * w)
            dr = act.get((side, "droop"), 0.0)
            if dr > 0.01:
                my -= dr * self.px_per_mm * self.gauss(self.xx, self.yy, corner[0], corner[1], 0.07 * w, 0.07 * w)
        if shift != (0, 0) or roll_deg:
            h, w = self.image.shape[:2]
            th = np.radians(roll_deg)
            cx, cy = w / 2, h / 2
            x, y = mx - cx - shift[0], my - cy - shift[1]
            mx = (np.cos(th) * x - np.sin(th) * y + cx).astype(np.float32)
            my = (np.sin(th) * x + np.cos(th) * y + cy).astype(np.float32)
        return mx, my

    def _brow_field(self, side: str) -> np.ndarray:
        """Where a brow raise moves the skin: the brow and forehead above one eye slide up as
        a whole, fading to nothing at the upper lid and towards the midline and temple."""
        key = ("brow", side, 0, 0, 0)
        if key not in self.gauss.cache:
            p, ix = self.p, SIDES[side]
            brow_y = p[list(ix.brow), 1].mean()
            lid_y = p[ix.lid_upper, 1]
            cx = p[list(ix.brow), 0].mean()
            half = abs(p[SIDES["left"].eye_inner, 0] - p[SIDES["right"].eye_inner, 0]) * 0.9
            wx = np.clip(1.5 - 1.5 * np.abs(self.xx - cx) / half, 0, 1)
            wy = np.where(self.yy <= brow_y, 1.0, np.clip((lid_y - self.yy) / max(lid_y - brow_y, 1), 0, 1))
            self.gauss.cache[key] = (wx * wy).astype(np.float32)
        return self.gauss.cache[key]

    def render(self, act: dict[tuple[str, str], float], **kw) -> np.ndarray:
        import cv2

        mx, my = self.maps(act, **kw)
        return cv2.remap(self.image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def face_warper(size: int = 360) -> FaceWarper:
    from .landmarks import landmarks_single_image

    img = face_image(size)
    points = landmarks_single_image(img)
    if points is None:
        raise RuntimeError("the face image has no face for MediaPipe")
    return FaceWarper(img, points)


def render_frames(warper: FaceWarper, act: dict[tuple[str, str], np.ndarray], t: np.ndarray,
                  rng: np.random.Generator, noise: float, motion: tuple[float, float, float] | None):
    """Frames (uint8 RGB) of the warped face: activations per frame, slow head motion (x and y
    shift in px, roll in degrees) and sensor noise."""
    period, phase = rng.uniform(6, 10), rng.uniform(0, 2 * np.pi)
    for i in range(len(t)):
        kw = {}
        if motion:
            sx, sy, roll = motion
            kw = dict(shift=(sx * np.sin(2 * np.pi * t[i] / period + phase), sy * np.sin(2 * np.pi * t[i] / (period * 1.3))),
                      roll_deg=roll * np.sin(2 * np.pi * t[i] / (period * 0.8) + phase))
        frame = warper.render({k: float(v[i]) for k, v in act.items()}, **kw).astype(np.float32)
        if noise:
            frame += rng.normal(0, noise, frame.shape).astype(np.float32)
        yield np.clip(frame, 0, 255).astype(np.uint8)


def write_video(frames, path: str | Path, fps: float, crf: int = 20) -> None:
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as out:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)


def render_twitch_video(out: str | Path, duration_s: float = 20.0, fps: float = 30.0,
                        twitch_side: str = "left", regions: tuple[str, ...] = REGIONS,
                        twitch_rate_per_min: float = 12.0, blink_rate_per_min: float = 15.0,
                        head_motion: bool = True, noise: float = 2.0, size: int = 360,
                        random_state: int | None = None) -> Path:
    """Render a face video with known events; writes ``<out>.truth.json``. Returns its path."""
    rng = np.random.default_rng(random_state)
    warper = face_warper(size)
    events = schedule_events(duration_s, blink_rate_per_min, twitch_rate_per_min, twitch_side, regions, rng)
    n = int(round(duration_s * fps))
    t = np.arange(n) / fps
    act = activations(events, t)  # cheek and mouth amplitudes are in mm, as the warper wants
    frames = render_frames(warper, act, t, rng, noise, (3.0, 2.0, 1.5) if head_motion else None)
    out = Path(out)
    write_video(frames, out, fps)
    truth = out.with_suffix(".truth.json")
    truth.write_text(json.dumps({
        "fps": fps, "n_frames": n, "twitch_side": twitch_side, "random_state": random_state,
        "source_image": "NASA astronaut portrait (public domain), via scikit-image",
        "events": truth_table(events, fps).to_dict(orient="records"),
    }, indent=1))
    return truth


# --- rendered exams ------------------------------------------------------------------

# what each task moves on a healthy side: (region, amplitude); eye in closure fraction, others mm
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
    own 8-point measure (brow and commissure at ``factor`` of normal: 8 x factor points)."""
    return {8: 1, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5, 0: 6}[int(round(8 * factor))]


def exam_activations(t: np.ndarray, factor: float, side: str, central: bool, synkinesis: float,
                     rng: np.random.Generator) -> tuple[dict[tuple[str, str], np.ndarray], list[dict]]:
    """Per (side, region) activation over time for a guided exam, and the task segments."""
    from .exam import load_protocol, segments_from_protocol

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
                act[(side, "smile")] += prof * 3.0 * synkinesis
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
    from .exam import load_protocol

    rng = np.random.default_rng(random_state)
    n = int(round((load_protocol().total_s + 0.5) * fps))
    t = np.arange(n) / fps
    act, tasks = exam_activations(t, factor, side, central, synkinesis, rng)
    cols: dict[str, np.ndarray] = {
        "frame": np.arange(n), "time_s": t, "face_detected": np.ones(n, bool),
        "n_faces": np.ones(n, np.int16), "quality_ok": np.ones(n, bool),
        "head_yaw_deg": rng.normal(0, 1, n), "head_pitch_deg": rng.normal(0, 1, n),
        "head_roll_deg": rng.normal(0, 1, n), "mm_per_px": np.full(n, 0.1), "ipd_mm": np.full(n, 63.0),
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


def render_exam_video(out: str | Path, factor: float = 1.0, side: str = "left", central: bool = False,
                      synkinesis: float = 0.0, fps: float = 30.0, size: int = 360, noise: float = 2.0,
                      head_motion: bool = True, random_state: int | None = None) -> Path:
    """Render a guided exam in which ``side`` moves ``factor`` (0 complete palsy .. 1 normal) of
    normal. ``central`` spares the forehead (brow moves normally, the eye nearly so);
    ``synkinesis`` (0..1) narrows the weak eye in smile/snarl/pucker and pulls the weak mouth
    corner in eye closure. Writes ``<out>.truth.json`` (parameters, implied House-Brackmann
    grade) and ``<out>.tasks.json`` (task times, the sidecar format of ``facenerve exam``)."""
    from .exam import load_protocol

    rng = np.random.default_rng(random_state)
    warper = face_warper(size)
    n = int(round((load_protocol().total_s + 0.5) * fps))
    t = np.arange(n) / fps
    act, tasks = exam_activations(t, factor, side, central, synkinesis, rng)
    frames = render_frames(warper, act, t, rng, noise, (2.0, 1.5, 1.0) if head_motion else None)

    out = Path(out)
    write_video(frames, out, fps)
    out.with_suffix(".tasks.json").write_text(json.dumps({"tasks": tasks}, indent=1))
    truth = out.with_suffix(".truth.json")
    truth.write_text(json.dumps({
        "factor": factor, "side": side, "central": central, "synkinesis": synkinesis,
        "implied_house_brackmann": implied_hb(factor) if not central else None,
        "random_state": random_state, "fps": fps, "n_frames": n,
        "source_image": "NASA astronaut portrait (public domain), via scikit-image",
    }, indent=1))
    return truth


EXAMPLE_NAME = "astronaut_left_hfs.mp4"


def example_video() -> Path:
    """The bundled example: a rendered left hemifacial spasm, shipped in the package."""
    path = Path(__file__).parent / "examples" / EXAMPLE_NAME
    if not path.exists():
        raise FileNotFoundError(path)
    return path
