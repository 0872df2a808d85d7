"""Rendered face videos with known blinks, twitches and exam movements.

``render_twitch_video`` -> an .mp4 made by warping the pixels of a real face photograph
    (NASA's public-domain astronaut portrait shipped with scikit-image) so that one side's
    eyelid, cheek or mouth corner moves, plus ``<video>.truth.json`` with every event.

Both take ``random_state`` so a test can regenerate exactly the same data (NeuroKit2's
``ecg_simulate`` convention).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..measure.geometry import SIDES
from ..settings import AnalysisSettings
from .signals import (
    REGIONS,
    activations,
    exam_activations,
    implied_hb,
    schedule_events,
    truth_table,
)


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


# the bundled portrait's width over its interpupillary distance (measured with FaceMesh at 360 px)
IMAGE_WIDTH_PER_IPD = 6.49
# the lid's full travel over the landmarks' opening: the lid margins lie a little beyond FaceMesh's
# eye contour, so an eye activation of 1 / LID_SPAN lowers the upper lid by the whole opening
LID_SPAN = 1.15


def iris_px_per_mm(points: np.ndarray) -> float:
    """Pixels per millimetre of a face's landmarks [478, >=2]: its left iris's width over the
    assumed iris diameter (``AnalysisSettings.iris_diameter_mm``)."""
    ring = points[list(SIDES["left"].iris_ring), :2]
    return float(np.linalg.norm(ring[0] - ring[1])) / AnalysisSettings.iris_diameter_mm


class FaceWarper:
    """Backward-warps one face image so that eyelids, cheeks and mouth corners move."""

    def __init__(self, image: np.ndarray, points: np.ndarray, scale_px: float | None = None):
        """``scale_px`` sets the size of the warped regions; by default the image's width (the
        bundled portrait, whose face spans it). For a face of any size in a larger picture, see
        ``on_face``."""
        self.image = image
        h, w = image.shape[:2]
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.gauss = _CachedGauss(self.xx, self.yy)
        self.p = points
        self.px_per_mm = iris_px_per_mm(points)
        self.scale = float(scale_px) if scale_px else float(image.shape[1])

    @classmethod
    def on_face(cls, image: np.ndarray, points: np.ndarray) -> FaceWarper:
        """A warper for a face of any size in a larger picture (a real photo or video frame):
        its regions sized as on the bundled portrait, by the face's interpupillary distance."""
        ipd = float(np.linalg.norm(points[SIDES["left"].iris_center, :2] - points[SIDES["right"].iris_center, :2]))
        return cls(image, points, scale_px=IMAGE_WIDTH_PER_IPD * ipd)

    def maps(self, act: dict[tuple[str, str], float], shift: tuple[float, float] = (0, 0),
             roll_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        mx, my = self.xx.copy(), self.yy.copy()
        p = self.p
        for side, ix in SIDES.items():
            a = act.get((side, "eye"), 0.0)
            if a > 0.01:
                x0, x1 = sorted((p[ix.eye_outer, 0], p[ix.eye_inner, 0]))
                yu, yl = p[ix.lid_upper, 1], p[ix.lid_lower, 1]
                h = (yl - yu) * LID_SPAN
                cx, half = (x0 + x1) / 2, (x1 - x0) / 2 * 1.15
                wx = np.clip(1 - ((self.xx - cx) / half) ** 2, 0, 1) ** 0.5
                top = yu - 2.0 * h
                with np.errstate(divide="ignore", invalid="ignore"):  # a closed eye: h = 0
                    by = np.where((self.yy >= yu) & (self.yy <= yl + 1), 1.0,
                                  np.where((self.yy < yu) & (self.yy > top), (self.yy - top) / (yu - top), 0.0))
                my -= a * h * by * wx
            c = act.get((side, "cheek"), 0.0)
            if c > 0.01:
                q = p[list(ix.cheek), :2].mean(axis=0)
                s = 0.06 * self.scale
                my += c * self.px_per_mm * self.gauss(self.xx, self.yy, q[0], q[1], s, s)
            out_dir = -1.0 if side == "right" else 1.0  # person's right is image left
            corner = p[ix.mouth_corner, :2]
            w = self.scale
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
    from ..measure.landmarks import landmarks_single_image

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
def render_exam_video(out: str | Path, factor: float = 1.0, side: str = "left", central: bool = False,
                      synkinesis: float = 0.0, fps: float = 30.0, size: int = 360, noise: float = 2.0,
                      head_motion: bool = True, random_state: int | None = None) -> Path:
    """Render a guided exam in which ``side`` moves ``factor`` (0 complete palsy .. 1 normal) of
    normal. ``central`` spares the forehead (brow moves normally, the eye nearly so);
    ``synkinesis`` (0..1) narrows the weak eye in smile/snarl/pucker and pulls the weak mouth
    corner in eye closure. Writes ``<out>.truth.json`` (parameters, implied House-Brackmann
    grade) and ``<out>.tasks.json`` (task times, the sidecar format of ``facenerve exam``)."""
    from ..exam.protocol import load_protocol

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
    path = Path(__file__).parent.parent / "examples" / EXAMPLE_NAME
    if not path.exists():
        raise FileNotFoundError(path)
    return path
