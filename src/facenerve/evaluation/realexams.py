"""Palsy grading on real faces: exams cut from real recordings of healthy people, and weakness
injected into them.

``build_real_exams(folder, out)``: in every video of ``folder`` (healthy people raising brows,
closing eyes, smiling, snarling, puckering: ``../shared/data/natural``), ``pick_exam_frames``
finds a resting frame and, for each exam task, the frame where both sides do that movement most
clearly at a still moment of it (not passing from one expression to another), facing the camera
as at rest. A clip with rest, a brow raise, an eye closure and a smile becomes a case:
``photos/`` (one PNG per task, the real frame) and ``exam.mp4`` with ``exam.tasks.json`` (the
real footage around each chosen frame, in protocol order).

``inject_weakness(photos, out, side, factor, central)``: one side's movement of every task photo
is pulled back towards rest by ``factor`` (0 none, 1 no movement at all). In the mouth's tasks
the landmarks of that side move ``factor`` of the way back to where the rest photo puts them on
the task photo's head (``rest_placement``) and the picture is warped with them (piecewise affine
between the landmarks). In the brow raise the side's brow and forehead come down ``factor`` of
the brow's rise (by its landmarks or its texture, the larger: FaceMesh may barely follow a brow
raise) as one smooth field, the skin above the lid squeezed (``_lower_brow``). For eye closure
the weak eye is the rest photo's eye, closed only ``lid_closure(factor)`` of the way, blended
in. Central cases spare the brow and the eyes.
``synkinesis`` adds co-movement: the weak eye narrows in smile, snarl and pucker.

``retake_photos(photos, out, seed)``: the same exam photographed again, as it would be another
day with another phone: each photo at another size, turned and moved in the picture, under other
light, saved as JPEG. The healthy grade must not depend on it.

``far_photos(photos, out)``, ``far_video(video, out)``: the same exam from across a room: each
photo, or each frame of its video (H.264 again), in a picture ``FAR`` times as wide and high, its
edges continued (``recode.placed_far``), the face a sixth of the width.

``evaluate_real_exams(out)``: grades every case from photographs (as cut, ``RETAKES`` times
retaken and from afar) and from video (as cut and from afar), and every injected case, and
reports the healthy grades and how far healthy faces' sides differ per task, the weaker side
found, Spearman of the factor with House-Brackmann and Sunnybrook, the central flag, and
synkinesis found where injected.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FacenerveError, InputError
from ..exam.grading import other_side
from ..settings import AnalysisSettings
from .metrics import clustered_ci

FRONTAL_DEG = 6.0  # task frames face the camera within this of the clip's usual pose ...
MAX_YAW_DEG = 10.0  # ... and within this of straight on
REST_MOUTH_MM = 3.0  # a resting mouth is closed (lips apart at most this much)
# both sides must move at least this much for a frame to stand for a task: a clear, deliberate
# movement, as an exam asks for (talking moves the face too, but less)
PICK = {"brow_raise": ("brow_up", 3.0), "tight_eye_closure": ("closure", 0.6),
        "smile": ("smile", 4.0), "snarl": ("corner_up", 2.5), "lip_pucker": ("pucker", 2.5)}
# a smile, as an exam asks for it, raises both mouth corners with the lips at most parted
# (``protocol.LIPS_MAX_OPEN_MM``): a corner pulled out mid-word, or a laugh with the jaw dropped,
# is not the exam's smile
SMILE_UP_MM = 2.0
NEEDED = ("rest", "brow_raise", "tight_eye_closure", "smile")
FACTORS = (0.25, 0.4, 0.55, 0.7, 0.85, 1.0)
SYNK_FACTOR = 0.55  # synkinesis is injected into a partly recovered palsy
# a task's frame is a still moment of the expression (its peak or plateau), not a face passing
# from one expression to another: neither side's movement changes by more than this fraction of
# the movement per frame there (a picture of a face in motion is blurred, and the tracked
# landmarks lag behind it)
STILL = 0.25
HALF_WINDOW_S = 0.4  # footage kept either side of a chosen frame in the video exam
REST_WINDOW_S = 0.6
INJECTION_VERSION = 7  # of inject_weakness and what it calls: part of the kept measures' names


def pick_exam_frames(signals: pd.DataFrame, posed_smile: bool = True) -> dict[str, int]:
    """Frame index (row) per task found: rest, and each task of ``PICK`` whose movement both
    sides show clearly at a still moment (``STILL``; a smile posed as an exam asks, unless not
    ``posed_smile``); the gentle eye closure is the closure's first frame at 80 % of its deepest.
    Frames within 0.5 s of another task's frame are not reused."""
    from ..exam.measures import movement_features, rest_baseline
    from ..exam.protocol import LIPS_MAX_OPEN_MM

    ok = signals["quality_ok"].to_numpy() & ~signals.get("damaged", pd.Series(False, index=signals.index)).to_numpy()
    if ok.sum() < 10:
        return {}
    pose = signals[["head_yaw_deg", "head_pitch_deg", "head_roll_deg"]].to_numpy(np.float64)
    frontal = ok & (np.abs(pose - np.nanmedian(pose[ok], axis=0)) < FRONTAL_DEG).all(axis=1) \
        & (np.abs(pose[:, 0]) <= MAX_YAW_DEG)
    mouth = signals["mouth_open_mm"].to_numpy(np.float64)
    closed = frontal & (mouth <= REST_MOUTH_MM)
    if closed.sum() < 3:
        return {}
    feats = movement_features(signals, rest_baseline(signals, closed)).rolling(3, center=True, min_periods=1).median()

    def side(col: str, s: str) -> np.ndarray:
        return feats[f"{col}_{s}"].to_numpy(np.float64)

    act = np.fmax.reduce([np.abs(side(c, s)) / k for c, k in (("brow_up", 2.0), ("closure", 0.5),
                                                              ("corner_move", 2.5)) for s in ("left", "right")])
    rest = int(np.argmin(np.where(closed, act, np.inf)))
    # measure from that resting moment
    t = signals["time_s"].to_numpy()
    near = closed & (np.abs(t - t[rest]) <= REST_WINDOW_S)
    feats = movement_features(signals, rest_baseline(signals, near, 1)).rolling(3, center=True, min_periods=1).median()
    picks = {"rest": rest}
    taken = [t[rest]]
    for task, (col, need) in PICK.items():
        moves = [side(col, s) for s in ("left", "right")]
        both = np.fmin(*moves)
        if task == "brow_raise":  # eyes open
            both = np.where(np.fmax(side("closure", "left"), side("closure", "right")) < 0.3, both, np.nan)
        if task == "smile" and posed_smile:
            both = np.where((np.fmin(side("corner_up", "left"), side("corner_up", "right")) >= SMILE_UP_MM)
                            & (mouth <= LIPS_MAX_OPEN_MM), both, np.nan)
        if task == "snarl":  # the upper lip up, corners not pulled out as in a smile
            both = np.where(np.fmax(side("corner_out", "left"), side("corner_out", "right")) < 1.5, both, np.nan)
        speed = np.fmax(*(np.abs(np.gradient(m)) for m in moves))
        score = np.where(frontal & np.isfinite(both) & (speed <= STILL * both), both, -np.inf)
        for j in np.argsort(-score):
            if score[j] < need:
                break
            if all(abs(t[j] - u) >= 0.5 for u in taken):
                picks[task] = int(j)
                taken.append(t[j])
                if task == "tight_eye_closure":  # the same closure, on its way down
                    c = np.fmin(side("closure", "left"), side("closure", "right"))
                    k = int(j)
                    while k > 0 and frontal[k - 1] and c[k - 1] >= 0.8 * c[j]:
                        k -= 1
                    if k != j:
                        picks["gentle_eye_closure"] = k
                break
    return picks


def _frames_at(video: Path, rows: set[int]) -> dict[int, np.ndarray]:
    from ..media.video import iter_frames

    out = {}
    for f in iter_frames(video):
        if f.index in rows:
            out[f.index] = f.rgb
        if f.index >= max(rows):
            break
    return out


def _write_png(rgb: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path)


def build_case(video: Path, signals: pd.DataFrame, out: Path, posed_smile: bool = True) -> dict[str, Any] | None:
    """Photos and a video exam of one clip in ``out`` (see the module); None when the clip
    lacks a task of ``NEEDED``."""
    from ..exam.protocol import load_protocol
    from ..simulate.render import write_video

    picks = pick_exam_frames(signals, posed_smile)
    if not all(k in picks for k in NEEDED):
        return None
    order = [t.id for t in load_protocol().tasks if t.id in picks]
    frame = signals["frame"].to_numpy()
    t = signals["time_s"].to_numpy()
    fps = float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 25.0
    pieces = {}
    for task in order:
        half = REST_WINDOW_S if task == "rest" else HALF_WINDOW_S
        rows = np.flatnonzero(np.abs(t - t[picks[task]]) <= half)
        pieces[task] = [int(frame[r]) for r in rows]
    wanted = {f for fs in pieces.values() for f in fs}
    imgs = _frames_at(video, wanted)
    (out / "photos").mkdir(parents=True, exist_ok=True)
    for task in order:
        _write_png(imgs[int(frame[picks[task]])], out / "photos" / f"{task}.png")
    frames, tasks, n = [], [], 0
    for task in order:
        fs = [imgs[f] for f in pieces[task] if f in imgs]
        tasks.append({"task": task, "start_s": n / fps, "end_s": (n + len(fs)) / fps})
        frames += fs
        n += len(fs)
    h, w = frames[0].shape[:2]
    frames = [f[: h - h % 2, : w - w % 2] for f in frames]
    write_video(frames, out / "exam.mp4", fps, crf=14)
    (out / "exam.tasks.json").write_text(json.dumps({"tasks": tasks}, indent=1))
    case = {"clip": video.name, "tasks": order, "frames": {k: int(frame[v]) for k, v in picks.items()}}
    (out / "case.json").write_text(json.dumps(case, indent=1))
    return case


def build_real_exams(folder: str | Path, out: str | Path, work: str | Path | None = None,
                     settings: AnalysisSettings | None = None, workers: int | None = None,
                     progress: bool = True, posed_smile: bool = True) -> list[dict[str, Any]]:
    from .realfaces import _progress, find_videos, measured, prefill

    settings = settings or AnalysisSettings()
    videos = find_videos(folder)
    out = Path(out)
    work_p = Path(work) if work else None
    prefill(videos, work_p, settings, landmarks=False, workers=workers)
    shutil.rmtree(out / "cases", ignore_errors=True)  # ours: cases of an earlier build may differ
    cases = []
    for v in _progress(videos, "cutting exams", progress):
        try:
            signals, _ = measured(v, work_p, settings)
        except FacenerveError:
            continue
        case = build_case(v, signals, out / "cases" / v.stem, posed_smile)
        if case:
            cases.append(case)
    return cases


# --- the same exam photographed again -----------------------------------------------------------

RETAKES = 3  # each healthy photo set is also graded this many times retaken


def retake_photos(photos: Path, out: Path, seed: int) -> None:
    """``photos`` (``<task>.png``) into ``out`` as ``<task>.jpg``, each as if taken apart: the face
    0.75-1.6 times the size, turned up to 4 degrees and moved up to 8 % of the picture, under a
    light 0.75-1.25 times as bright with a gamma of 0.8-1.25 and a tint of up to 8 % per colour,
    saved at JPEG quality 85 (seeded by ``seed``)."""
    import cv2
    from PIL import Image

    from ..media.photos import load_photo

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(photos.glob("*.png")):
        img = load_photo(p)
        h, w = img.shape[:2]
        scale, turn = rng.uniform(0.75, 1.6), rng.uniform(-4.0, 4.0)
        size = (int(w * max(scale, 1.0)), int(h * max(scale, 1.0)))
        m = cv2.getRotationMatrix2D((w / 2, h / 2), turn, scale)
        m[:, 2] += rng.uniform(-0.08, 0.08, 2) * (w, h) + ((size[0] - w) / 2, (size[1] - h) / 2)
        img = cv2.warpAffine(img, m, size, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_REFLECT)
        gain, gamma, tint = rng.uniform(0.75, 1.25), rng.uniform(0.8, 1.25), rng.uniform(0.92, 1.08, 3)
        img = np.clip(255 * (img / 255.0) ** gamma * gain * tint, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(out / f"{p.stem}.jpg", quality=85)


FAR = 6  # ... and placed in a picture this many times as wide and high (``far_photos``)
# the exams of healthy people whose differences make up the healthy spread (``healthy_log_spread``,
# ``held_out``); the far photo sets and videos are a check of finding small faces, not more of the same
HEALTHY_SOURCES = ("photos", "video", "retaken")
FAR_SOURCES = ("far", "far_video")


def far_photos(photos: Path, out: Path, times: int = FAR) -> None:
    """``photos`` (``<task>.png``) into ``out`` as ``<task>.jpg`` (quality 92), each in a picture
    ``times`` as wide and high, off centre, its edges continued outwards (no hard border by the
    face): the face as small in the picture as in a photo taken from across a room, with as many
    pixels as before."""
    from PIL import Image

    from ..media.photos import load_photo
    from .recode import placed_far

    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(photos.glob("*.png")):
        Image.fromarray(placed_far(load_photo(p), times)).save(out / f"{p.stem}.jpg", quality=92)


def far_video(video: Path, out: Path, times: int = FAR) -> None:
    """``video`` into ``out``/exam.mp4, each frame in a picture ``times`` as wide and high, as
    ``far_photos`` places a photo (H.264 again, at ``recode.DEFAULT_CRF``)."""
    from .recode import recode_video

    out.mkdir(parents=True, exist_ok=True)
    recode_video(video, out / "exam.mp4", far=times)


# --- weakness injected into real photos --------------------------------------------------------

def _mesh_indices(name: str) -> list[int]:
    import itertools

    from ..measure.landmarks import mediapipe_modules

    (c,) = mediapipe_modules("python.solutions.face_mesh_connections")
    return sorted(set(itertools.chain.from_iterable(getattr(c, name))))


def _eye_indices() -> dict[str, list[int]]:
    return {"left": _mesh_indices("FACEMESH_LEFT_EYE"), "right": _mesh_indices("FACEMESH_RIGHT_EYE")}


def _remap(img: np.ndarray, source: Any) -> np.ndarray:
    """``img`` resampled: each pixel takes the colour at ``source(points)`` (points [k, 2] px ->
    [k, 2] px), evaluated on a coarse grid and interpolated to every pixel."""
    import cv2

    h, w = img.shape[:2]
    step = max(2, int(max(h, w) / 320))
    gy, gx = np.mgrid[0:h + step:step, 0:w + step:step]
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float64)
    d = (source(grid) - grid).reshape(gy.shape[0], gy.shape[1], 2).astype(np.float32)
    d = cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)  # grid origin is pixel 0
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xx + d[..., 0], yy + d[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _warp(img: np.ndarray, targets: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Warp ``img`` so that what is at ``targets + back`` lands at ``targets`` (points [k, 2],
    backward displacements [k, 2]): piecewise affine over the points' triangles (no overshoot
    between points)."""
    from skimage.transform import PiecewiseAffineTransform

    pwa = PiecewiseAffineTransform.from_estimate(targets, targets + back)

    def source(grid: np.ndarray) -> np.ndarray:
        src = pwa(grid)
        outside = ~np.isfinite(src).all(axis=1) | (src == -1).all(axis=1)
        src[outside] = grid[outside]
        return src

    return _remap(img, source)


def _anchors(points: np.ndarray, h: int, w: int) -> np.ndarray:
    """Fixed points: a ring around the face and the picture's border."""
    c = points[:, :2].mean(axis=0)
    ring = c + 1.35 * (points[:, :2] - c)
    hull = ring[::6]
    border = np.array([[x, y] for x in np.linspace(0, w - 1, 6) for y in (0, h - 1)]
                      + [[x, y] for y in np.linspace(0, h - 1, 6) for x in (0, w - 1)], dtype=np.float64)
    return np.vstack([hull, border])


def weak_weights(points: np.ndarray, side: str, measure: str, rest: np.ndarray | None = None) -> np.ndarray:
    """Per landmark, how much of the ``side``'s weakness it takes in a task that moves
    ``measure``: 0 at the midline rising to 1 a quarter of the eyes' distance out, where the
    landmark is in the task or at rest (``rest``, the same landmarks at rest placed on the task
    photo), and only in the mouth's tasks, below the nose's middle (the brow and eye closure move
    no landmark, see ``inject_weakness``), so that the rest of the face, and any other movement
    caught in the photo, stays as it is, and so does the face's outline. A pucker draws the
    mouth's corner in to within a quarter of the eyes' distance: weighed by where it ends alone,
    a fully weak corner still came 0.6-0.9 of the way in."""
    from ..measure.geometry import align

    def aligned(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = align(p[None, :, :2].astype(np.float64))[0]
        ipd = float(np.linalg.norm(a[263] - a[33]))
        return a[:, 0] / ipd, a[:, 1] / ipd  # the person's left has larger aligned x; y towards the chin

    sgn = 1.0 if side == "left" else -1.0
    x, y = aligned(points)
    lateral = sgn * x if rest is None else np.maximum(sgn * x, sgn * aligned(rest)[0])
    w = np.clip(lateral / 0.25, 0, 1)
    if measure in ("smile", "snarl", "pucker"):
        w *= np.clip((y - 0.35) / 0.15, 0, 1)
    else:
        w[:] = 0.0
    w[_mesh_indices("FACEMESH_FACE_OVAL")] = 0.0  # the face's outline stays: no bulging edges
    return w


def _brow_rise(rest: np.ndarray, rest_pts: np.ndarray, img: np.ndarray, pts: np.ndarray,
               side: str) -> float:
    """How far (image px of ``img``, up the face) the ``side``'s brow rose from ``rest`` to
    ``img``: the larger of its landmarks' rise above the eye's centre and its texture's
    (``measure.texture``; FaceMesh may hardly follow a brow raise that the skin shows)."""
    import cv2

    from ..measure.geometry import SIDES
    from ..measure.texture import brow_rise_px

    gray = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (rest, img)]
    texture = brow_rise_px(gray[0], rest_pts, gray[1], pts)[side]
    ix = SIDES[side]

    def brow_height(p: np.ndarray) -> float:
        """The brow's landmarks above the eye's centre, in eye widths."""
        along = p[ix.eye_inner, :2] - p[ix.eye_outer, :2]
        width = float(np.linalg.norm(along))
        up = np.array([along[1], -along[0]]) / width
        up = up if up[1] < 0 else -up
        eye = (p[ix.eye_outer, :2] + p[ix.eye_inner, :2]) / 2
        return float((p[list(ix.brow), :2].mean(axis=0) - eye) @ up) / width

    width = float(np.linalg.norm(pts[ix.eye_inner, :2] - pts[ix.eye_outer, :2]))
    return max(texture, (brow_height(pts) - brow_height(rest_pts)) * width, 0.0)


BROW_MAX_DROP = 0.7  # a brow comes down at most this share of its height above the upper lid


def _lower_brow(img: np.ndarray, pts: np.ndarray, side: str, drop_px: float) -> np.ndarray:
    """``img`` with the ``side``'s brow and the forehead above it moved ``drop_px`` down the face,
    as a brow that did not rise: the skin between the brow and the upper lid is compressed (the
    lid stays), the shift fades out towards the midline (from a quarter of the eyes' distance
    out), beyond the temple and above the forehead. One smooth field over the region, so the
    brow keeps its shape (moving the brow's landmarks alone bent it where FaceMesh had not put
    them on it)."""
    from ..measure.geometry import SIDES, aligned_frame

    ix = SIDES[side]
    origin, rot = (x[0] for x in aligned_frame(pts[None, :, :2].astype(np.float64)))
    a = (pts[:, :2] - origin) @ rot.T  # aligned: x along the eyes (the person's left larger), y down
    ipd = float(np.linalg.norm(a[263] - a[33]))
    sgn = 1.0 if side == "left" else -1.0
    brow_y = float(a[list(ix.brow), 1].mean())
    lid_y = float(a[ix.lid_upper, 1])
    top_y = float(a[:, 1].min())
    oval = a[_mesh_indices("FACEMESH_FACE_OVAL")]
    temple = float(np.max(sgn * oval[(oval[:, 1] < lid_y), 0]))
    drop = min(drop_px, BROW_MAX_DROP * (lid_y - brow_y))
    if drop <= 0:
        return img
    gap = lid_y - brow_y

    def source(grid: np.ndarray) -> np.ndarray:
        u, v = ((grid - origin) @ rot.T).T
        # where each point down the face comes from: above the brow, ``drop`` further up; between
        # the brow and the lid, the band the brow left, squeezed; from the lid down, where it was
        src_v = np.where(v <= brow_y + drop, v - drop,
                         np.where(v < lid_y, brow_y + (v - brow_y - drop) * gap / (gap - drop), v))
        # all of it on the side's forehead, fading out towards the midline, beyond the temple
        # and above the forehead
        weight = (np.clip(sgn * u / (0.25 * ipd), 0.0, 1.0)
                  * np.clip((temple + 0.15 * ipd - sgn * u) / (0.15 * ipd), 0.0, 1.0)
                  * np.clip((v - (top_y - 0.4 * ipd)) / (0.4 * ipd), 0.0, 1.0))
        return origin + np.stack([u, v + weight * (src_v - v)], axis=1) @ rot

    return _remap(img, source)


EYE_RESERVE = 0.5


def lid_closure(factor: float) -> float:
    """How far the weak eye still closes (1 = as the task photo) at weakness ``factor``: the lids
    close fully until half the muscle's strength is lost, then less and less (House-Brackmann
    II-III close completely, IV does not)."""
    return float(min(1.0, (1.0 - factor) / EYE_RESERVE))


# The head's own points, which no exam task moves: the top of the forehead and the temples above
# the brows, the nose's root and the eyes' inner corners (the face's outline bulges in a smile and
# hollows in a pucker; the nose and the glabella move in a snarl)
HEAD_POINTS = (151, 10, 109, 338, 67, 297, 108, 337, 54, 284, 103, 332, 21, 251, 162, 389, 168, 6, 133, 362)


def rest_placement(rest_pts: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Where the rest photo's landmarks [n, 3] would be on a task photo's head, [n, 2] px: the 3-D
    similarity (FaceMesh's depth included) that maps the rest photo's ``HEAD_POINTS`` onto the
    task photo's, seen from the front. A flat similarity cannot follow a head that nods or turns
    between photos, and a fully weak corner placed by it still rose a third of a smile."""
    from skimage.transform import SimilarityTransform

    fit = SimilarityTransform.from_estimate(rest_pts[list(HEAD_POINTS), :3].astype(np.float64),
                                            pts[list(HEAD_POINTS), :3].astype(np.float64))
    return fit(rest_pts[:, :3].astype(np.float64))[:, :2]


SYNK_NARROWING = 0.6  # at synkinesis 1, the weak eye loses this share of its opening in mouth tasks


def inject_weakness(photos: Path, out: Path, side: str, factor: float, central: bool,
                    synkinesis: float = 0.0, settings: AnalysisSettings | None = None) -> None:
    """See the module's docstring. ``photos`` holds ``<task>.png``; ``out`` gets the same names.
    ``synkinesis`` (0..1): in smile, snarl and pucker the weak eye also narrows, its upper lid
    lowered over the eye by ``SYNK_NARROWING`` x ``synkinesis`` of its opening (the renderer's lid,
    as in the twitches injected into real videos: the skin above slides down over the iris; moving
    the lid landmarks instead folded the iris between them)."""
    import cv2

    from ..exam.protocol import load_protocol
    from ..measure.landmarks import landmarks_single_image
    from ..media.photos import load_photo
    from ..simulate.render import LID_SPAN, FaceWarper

    out.mkdir(parents=True, exist_ok=True)
    measure = {t.id: t.measure for t in load_protocol().tasks}
    rest = load_photo(photos / "rest.png")
    rest_pts = landmarks_single_image(rest, settings)
    if rest_pts is None:
        raise InputError(f"no face in {photos / 'rest.png'}")
    _write_png(rest, out / "rest.png")
    eye = _eye_indices()[side]
    for p in sorted(photos.glob("*.png")):
        if p.stem == "rest":
            continue
        img = load_photo(p)
        pts = landmarks_single_image(img, settings)
        if pts is None:
            raise InputError(f"no face in {p}")
        h, w = img.shape[:2]
        rest_here = rest_placement(rest_pts, pts)
        move = pts[:, :2] - rest_here
        back = weak_weights(pts, side, measure[p.stem], rest_here)[:, None] * move
        closing = measure[p.stem] == "eye_closure" and not central and lid_closure(factor) < 1
        targets = pts[:, :2] - factor * back
        anchors = _anchors(pts, h, w)
        img2 = _warp(img, np.vstack([targets, anchors]),
                     np.vstack([pts[:, :2] - targets, np.zeros_like(anchors)])) if back.any() else img
        if measure[p.stem] == "brow" and not central:
            img2 = _lower_brow(img2, pts, side, factor * _brow_rise(rest, rest_pts, img, pts, side))
        if synkinesis and measure[p.stem] in ("smile", "snarl", "pucker"):  # the eyes stayed where they were
            img2 = FaceWarper.on_face(img2, pts.astype(np.float64)).render({(side, "eye"): SYNK_NARROWING * synkinesis / LID_SPAN})
        if closing:
            # the rest photo's eye, closed only (1 - factor) of the way the task closes it; the rest
            # photo is placed by the affine nearest to ``rest_placement`` over the whole face
            m = np.linalg.lstsq(np.c_[rest_pts[:, :2], np.ones(len(rest_pts))], rest_here, rcond=None)[0].T
            rest_img = cv2.warpAffine(rest, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            tgt = rest_here[eye] + lid_closure(factor) * move[eye]
            fixed = np.array([i for i in range(len(pts)) if i not in set(eye) and i < 468])
            eye_img = _warp(rest_img, np.vstack([tgt, rest_here[fixed], anchors]),
                            np.vstack([rest_here[eye] - tgt, np.zeros((len(fixed) + len(anchors), 2))]))
            c = pts[eye, :2].mean(axis=0)
            ew = float(np.ptp(pts[eye, 0]))
            mask = np.zeros((h, w), np.float32)
            cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(0.75 * ew), int(0.55 * ew)), 0, 0, 360, 1.0, -1)
            k = int(ew * 0.25) | 1
            mask = cv2.GaussianBlur(mask, (k, k), 0)[..., None]
            img2 = (img2 * (1 - mask) + eye_img * mask).astype(np.uint8)
        _write_png(img2, out / p.name)


# --- grading the real cases --------------------------------------------------------------------

def _row(g: dict[str, Any], **truth: Any) -> dict[str, Any]:
    gr = g.get("grades", {})
    hb = gr.get("house_brackmann", {})
    return {
        **truth,
        "hb": hb.get("grade"), "hb_reasons": hb.get("reasons", [hb.get("reason")]),
        "sunnybrook": gr.get("sunnybrook", {}).get("composite"),
        "eface": gr.get("eface", {}).get("total"),
        "weaker_side": g.get("weaker_side"), "affected_side": g.get("affected_side"),
        "asymmetry": g.get("asymmetry"), "weakness_z": g.get("weakness_z"),
        "central_flag": bool(g.get("central_pattern")),
        "synkinesis_found": bool(g.get("synkinesis", {}).get("detected")),
        "exam_status": g["exam_status"]["status"],
        "ratios": g.get("ratios"),
    }


def _measuring_code() -> str:
    """The code that measures an exam, and the injection's version: a change to either makes
    kept measures stale (bump ``INJECTION_VERSION`` with any change to ``inject_weakness``)."""
    import hashlib

    from .realfaces import _code_hash

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(_code_hash())
    for name in ("measures.py", "photos.py", "pipeline.py", "protocol.py"):
        h.update((root / "exam" / name).read_bytes())
    h.update(f"injection {INJECTION_VERSION}".encode())
    return h.hexdigest()[:12]


def _spearman(x: list[float], y: list[float]) -> float | None:
    from scipy.stats import spearmanr

    ok = [(a, b) for a, b in zip(x, y, strict=True) if a is not None and b is not None]
    if len(ok) < 3 or len({a for a, _ in ok}) < 2 or len({b for _, b in ok}) < 2:
        return None  # undefined
    return round(float(spearmanr(*zip(*ok, strict=True)).statistic), 3)


def _pct(xs: list[bool]) -> float | None:
    return round(100 * sum(xs) / len(xs), 1) if xs else None


def _made_whole(folder: Path, make: Any) -> Path:
    """``folder``, made by ``make(part)`` into ``<folder>.part`` and renamed when whole unless it
    is there already: a rerun after an interruption never reuses half a photo set."""
    if not folder.exists():
        part = folder.with_name(folder.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        make(part)
        part.rename(folder)
    return folder


def _measure_one(job: dict[str, Any]) -> dict[str, Any]:
    """The measures of one exam of the evaluation (a job of ``evaluate_real_exams``: its truth,
    ``case_dir``, ``keep`` and for retaken and injected exams ``folder``), kept in ``keep`` (a JSON file)
    and read from it when kept before; errors are kept as ``error``."""
    from dataclasses import asdict

    from .._log import native_stderr_silenced
    from ..exam.photos import analyze_photo_exam
    from ..exam.pipeline import analyze_exam

    case, keep = Path(job["case_dir"]), Path(job["keep"])
    if keep.exists():
        return json.loads(keep.read_text())
    try:
        with native_stderr_silenced():
            if job["source"] == "photos":
                res = analyze_photo_exam(case / "photos")
            elif job["source"] == "retaken":
                res = analyze_photo_exam(_made_whole(Path(job["folder"]), lambda d: retake_photos(
                    case / "photos", d, job["seed"])))
            elif job["source"] == "far":
                res = analyze_photo_exam(_made_whole(Path(job["folder"]), lambda d: far_photos(case / "photos", d)))
            elif job["source"] == "video":
                res = analyze_exam(case / "exam.mp4", tasks=case / "exam.tasks.json")
            elif job["source"] == "far_video":
                made = _made_whole(Path(job["folder"]), lambda d: far_video(case / "exam.mp4", d))
                res = analyze_exam(made / "exam.mp4", tasks=case / "exam.tasks.json")
            else:
                res = analyze_photo_exam(_made_whole(Path(job["folder"]), lambda d: inject_weakness(
                    case / "photos", d, job["side"], job["factor"], job["central"],
                    1.0 if job["synkinesis"] else 0.0)))
        out = {"measures": res.measures, "segments": [asdict(x) for x in res.segments]}
    except FacenerveError as err:
        out = {"error": str(err)}
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text(json.dumps(out, default=float))
    return out


def healthy_log_spread(kept: list[dict[str, Any]], people: list[str] | None = None
                       ) -> dict[str, dict[str, float]]:
    """Per task, how far healthy faces' two sides differ: the root mean square of
    log(left/right movement) over the exams in ``kept`` where the task was graded, and over how
    many (``grading.HEALTHY_LOG_SPREAD`` is taken from this). With ``people`` (whose exam each
    of ``kept`` is), also what that spread is made of: ``between_people``, the root mean square
    of each person's mean, and ``within_person``, the pooled standard deviation of one person's
    exams (photos, video, retakes) about their mean, which is what a later exam of the same
    person would differ by."""
    from ..exam.grading import log_left_right

    logs: dict[str, list[float]] = {}
    by_person: dict[str, dict[str, list[float]]] = {}
    for i, k in enumerate(kept):
        for name, t in k.get("measures", {}).get("tasks", {}).items():
            if t.get("graded"):
                x = log_left_right(t["excursion"])
                logs.setdefault(name, []).append(x)
                if people is not None:
                    by_person.setdefault(name, {}).setdefault(people[i], []).append(x)
    out = {name: {"rms": round(float(np.sqrt(np.mean(np.square(x)))), 3), "exams": len(x)}
           for name, x in logs.items()}
    for name, per in by_person.items():
        means = [np.mean(x) for x in per.values()]
        resid = [v - np.mean(x) for x in per.values() for v in x]
        dof = sum(len(x) - 1 for x in per.values())
        out[name].update(people=len(per), between_people=round(float(np.sqrt(np.mean(np.square(means)))), 3),
                         within_person=round(float(np.sqrt(np.sum(np.square(resid)) / dof)), 3) if dof else None)
    return out


# no task's spread learned from a few people is taken below this, the least of
# ``grading.HEALTHY_LOG_SPREAD`` (eye closure's floor there: the closure saturates when both lids meet)
SPREAD_FLOOR = 0.1


def held_out(kept: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each person's exams (``kept``, with their ``jobs``) graded as a new person's would be:
    against healthy faces' log spread per task learned from the other people's healthy exams
    alone (``healthy_log_spread``, at least ``SPREAD_FLOOR``; a task nobody else was graded in
    keeps ``grading.HEALTHY_LOG_SPREAD``'s). The other cuts and thresholds stay as they are: they
    were chosen on all the people. Healthy: House-Brackmann grades, central and synkinesis flags,
    the exams graded worse than II with their reasons. Weakness injected (without co-movement):
    the weaker side from factor 0.4, right and wrong, and the central flag on central and on
    peripheral cases."""
    from ..exam.grading import HEALTHY_LOG_SPREAD, grade_exam

    healthy = [(k, j["case"]) for k, j in zip(kept, jobs, strict=True) if j["source"] in HEALTHY_SOURCES]
    grades, worse, central, synk, inj = [], [], 0, 0, []
    for person in sorted({c for _, c in healthy}):
        learned = healthy_log_spread([k for k, c in healthy if c != person])
        spread = {**HEALTHY_LOG_SPREAD, **{t: max(v["rms"], SPREAD_FLOOR) for t, v in learned.items()}}
        for k, j in zip(kept, jobs, strict=True):
            if j["case"] != person or "error" in k or j.get("synkinesis") or j["source"] in FAR_SOURCES:
                continue
            g = grade_exam(k["measures"], spread)
            if j["source"] == "injected":
                inj.append({**{a: j[a] for a in ("case", "side", "factor", "central")},
                            "weaker_side": g.get("weaker_side"), "affected_side": g.get("affected_side"),
                            "central_flag": bool(g.get("central_pattern"))})
                continue
            hb = g.get("grades", {}).get("house_brackmann", {})
            grades.append(hb.get("grade"))
            central += bool(g.get("central_pattern"))
            synk += bool(g.get("synkinesis", {}).get("detected"))
            if hb.get("grade") not in (None, 1, 2):
                worse.append({"case": person, "hb": hb["grade"], "hb_reasons": hb["reasons"]})
    return {
        "healthy": {"exams": len(grades),
                    "house_brackmann": {str(h): grades.count(h) for h in sorted(set(grades), key=str)},
                    "central_flags": central, "synkinesis_flags": synk, "worse_than_II": worse},
        "injected": {"exams": len(inj), **_side_and_central(inj)},
    }


def _pct_ci(rows: list[dict[str, Any]], hit: Any) -> list[float] | None:
    """The interval (``metrics.clustered_ci``) of the % of ``rows`` where ``hit(row)``, each
    person (``case``) with all their exams one unit: their faces, not the factors and sides
    injected into them, are what another set of people would change."""
    per: dict[str, list[int]] = {}
    for r in rows:
        c = per.setdefault(r["case"], [0, 0])
        c[0] += bool(hit(r))
        c[1] += 1
    return clustered_ci(list(per.values()), lambda x: 100 * x[0] / x[1])


def _side_and_central(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Of exams with weakness injected (``case``, ``side``, ``factor``, ``central`` and what was
    found: ``weaker_side``, ``affected_side``, ``central_flag``): the weaker side named right and
    wrong from factor 0.4 (the rest of the misses say "none", not enough to judge), and the central
    flag on central and on peripheral cases, in %, the first two with their intervals over people.
    Also how often the side that moves less (``affected_side``, given even when the sides differ
    no more than healthy faces') is the weakened one: the most that naming a weaker side at any
    level of evidence could reach."""
    from04 = [r for r in rows if r["factor"] >= 0.4 - 1e-9]
    central = [r for r in rows if r["central"]]
    return {"weaker_side_correct_from_0.4_pct": _pct([r["weaker_side"] == r["side"] for r in from04]),
            "weaker_side_correct_from_0.4_ci95_by_person": _pct_ci(from04, lambda r: r["weaker_side"] == r["side"]),
            "weaker_side_wrong_from_0.4_pct": _pct([r["weaker_side"] == other_side(r["side"]) for r in from04]),
            "side_moving_less_is_weakened_from_0.4_pct": _pct([r["affected_side"] == r["side"] for r in from04]),
            "central_flag_on_central_pct": _pct([r["central_flag"] for r in central]),
            "central_flag_on_central_ci95_by_person": _pct_ci(central, lambda r: r["central_flag"]),
            "central_flag_on_peripheral_pct": _pct([r["central_flag"] for r in rows if not r["central"]])}


def central_flag_ceiling(healthy: list[dict[str, Any]], central: list[dict[str, Any]]) -> dict[str, Any]:
    """The most a central flag resting on the mouth could reach without flagging a healthy face:
    the largest mouth z (``weakness_z["lower"]``, either side) of the ``healthy`` exams, and the %
    of ``central`` cases (with weakness injected on ``side``) whose weakened side's mouth is
    weaker than that, the brow not even asked, overall and by factor."""
    def toward_injected(r: dict[str, Any]) -> float:
        z = (r.get("weakness_z") or {}).get("lower")
        if z is None:
            return float("-inf")  # no mouth graded: nothing to flag on
        return z if r["affected_side"] == r["side"] else -z

    zs = [abs(r["weakness_z"]["lower"]) for r in healthy if "lower" in (r.get("weakness_z") or {})]
    top = max(zs, default=0.0)
    beyond = [toward_injected(r) > top for r in central]
    return {"healthy_mouth_z_max": round(top, 2), "healthy_exams": len(zs),
            "central_beyond_pct": _pct(beyond),
            "central_beyond_by_factor_pct": {
                f"{f:.2f}": _pct([b for b, r in zip(beyond, central, strict=True) if r["factor"] == f])
                for f in sorted({r["factor"] for r in central})}}


def weak_side_movement(kept: list[dict[str, Any]], jobs: list[dict[str, Any]], factor: float
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """How completely the injector takes a movement away, whatever the grader makes of it: per
    kind (peripheral, central) and graded task, the weakened side's movement over the other's in
    the exams injected at ``factor`` without co-movement (median, largest, and over how many)."""
    ratios: dict[str, dict[str, list[float]]] = {}
    for k, job in zip(kept, jobs, strict=True):
        if job["source"] != "injected" or job["synkinesis"] or abs(job["factor"] - factor) > 1e-9:
            continue
        side, other = job["side"], other_side(job["side"])
        by_task = ratios.setdefault("central" if job["central"] else "peripheral", {})
        for name, t in k.get("measures", {}).get("tasks", {}).items():
            if t.get("graded") and t["excursion"][other] > 0:
                by_task.setdefault(name, []).append(max(t["excursion"][side], 0.0) / t["excursion"][other])
    return {kind: {name: {"median": round(float(np.median(x)), 3), "max": round(float(np.max(x)), 3),
                          "exams": len(x)} for name, x in by_task.items()}
            for kind, by_task in ratios.items()}


def _grade_kept(kept: dict[str, Any], **truth: Any) -> dict[str, Any]:
    from ..exam.pipeline import grades_with_status
    from ..exam.protocol import Segment, load_protocol

    if "error" in kept:
        return {**truth, "error": kept["error"]}
    segments = [Segment(**x) for x in kept["segments"]]
    return _row(grades_with_status(kept["measures"], segments, load_protocol()), **truth)


def evaluate_real_exams(out: str | Path, factors: tuple[float, ...] = FACTORS, video: bool = True,
                        synkinesis: bool = True, retakes: int = RETAKES, far: bool = True,
                        workers: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Grade the cases of ``build_real_exams`` (in ``out``/cases): healthy from photographs (as
    cut, ``retakes`` times retaken, ``out``/retaken, and with ``far`` from afar, ``out``/far) and
    from video, and with weakness
    injected (``out``/injected), on ``workers`` Dask workers.
    Each exam's measures are kept in ``out``/measures, named by the case's chosen frames and
    the measuring code, so that a rerun only grades again."""
    import hashlib

    from tqdm import tqdm

    out = Path(out)
    cases = sorted(p for p in (out / "cases").glob("*") if (p / "case.json").exists())
    if not cases:
        raise InputError(f"no real exam cases in {out / 'cases'}; build them first")
    code = _measuring_code()
    jobs: list[dict[str, Any]] = []
    for c in cases:
        tag = hashlib.sha256((c / "case.json").read_bytes()).hexdigest()[:8]

        def add(name: str, made: str | None, c: Path = c, **truth: Any) -> None:
            folder = {"folder": str(out / made / f"{name}_{code}")} if made else {}
            jobs.append({"case": c.name, **truth, "case_dir": str(c), **folder,
                         "keep": str(out / "measures" / f"{name}_{code}.json")})

        for kind in ("photos", "video") if video else ("photos",):
            add(f"{c.name}_{tag}_{kind}", None, source=kind)
        for k in range(retakes):
            add(f"{c.name}_{tag}_retake{k}", "retaken", source="retaken", seed=int(tag, 16) + k)
        if far:
            add(f"{c.name}_{tag}_far", "far", source="far")
        if far and video:
            add(f"{c.name}_{tag}_far_video", "far", source="far_video")
        for f in factors:
            for side in ("left", "right"):
                for central in (False, True):
                    add(f"{c.name}_{tag}_{side}_{f:.2f}{'_central' if central else ''}", "injected",
                        source="injected", side=side, factor=f, central=central, synkinesis=False)
        for side in ("left", "right") if synkinesis else ():  # partial recovery with co-movement
            add(f"{c.name}_{tag}_{side}_{SYNK_FACTOR:.2f}_synk", "injected", source="injected", side=side,
                factor=SYNK_FACTOR, central=False, synkinesis=True)
    n = workers or os.cpu_count() or 1
    if n > 1:
        from ..cohort.batch import make_client

        client = make_client(workers=n)
        try:
            futures = client.map(_measure_one, jobs, pure=False)
            kept = [f.result() for f in tqdm(futures, desc="measuring real exams", disable=not progress)]
        finally:
            cluster = client.cluster
            client.close()
            cluster.close()
    else:
        kept = [_measure_one(j) for j in tqdm(jobs, desc="measuring real exams", disable=not progress)]
    paths = ("case_dir", "keep", "folder")
    rows = [_grade_kept(k, **{a: b for a, b in job.items() if a not in paths})
            for k, job in zip(kept, jobs, strict=True)]
    healthy_photos = [r for r in rows if r["source"] == "photos"]
    healthy_video = [r for r in rows if r["source"] == "video"]
    healthy_retaken = [r for r in rows if r["source"] == "retaken"]
    healthy_far = [r for r in rows if r["source"] == "far"]
    healthy_far_video = [r for r in rows if r["source"] == "far_video"]
    injected = [r for r in rows if r["source"] == "injected"]

    def healthy_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
        ok = [r for r in rows if "error" not in r]
        return {
            "cases": len(rows), "refused": len(rows) - len(ok),
            "house_brackmann": {str(g): sum(r["hb"] == g for r in ok) for g in sorted({r["hb"] for r in ok}, key=str)},
            # an exam the grader declines (a task not gradable) is "not enough to judge", not a grade
            "not_graded": sum(r["hb"] is None for r in ok),
            "hb_I_or_II_pct": _pct([r["hb"] in (1, 2) for r in ok if r["hb"] is not None]),
            "central_flags": sum(r["central_flag"] for r in ok),
            "synkinesis_flags": sum(r["synkinesis_found"] for r in ok),
            "worse_than_II_or_not_graded": [{k: r[k] for k in ("case", "hb", "hb_reasons", "ratios")} for r in ok
                                            if r["hb"] not in (1, 2)],
        }

    synk = [r for r in injected if r["synkinesis"] and "error" not in r]
    weak_only = [r for r in injected if not r["synkinesis"]]
    inj = [r for r in weak_only if "error" not in r]
    periph = [r for r in inj if not r["central"]]
    central = [r for r in inj if r["central"]]
    found = _side_and_central(inj)
    full = max(factors, default=None)
    healthy = [(k, job["case"]) for k, job in zip(kept, jobs, strict=True) if job["source"] in HEALTHY_SOURCES]
    return {
        "cases": len(cases),
        "healthy_photos": healthy_summary(healthy_photos),
        "healthy_video": healthy_summary(healthy_video) if video else None,
        "healthy_retaken": healthy_summary(healthy_retaken) if retakes else None,
        # the same photo sets from across a room (``far_photos``): the same grades, or the small
        # face was lost
        "healthy_far": healthy_summary(healthy_far) if far else None,
        "healthy_far_video": healthy_summary(healthy_far_video) if far and video else None,
        "healthy_log_spread": healthy_log_spread([k for k, _ in healthy], [c for _, c in healthy]),
        "held_out": held_out(kept, jobs),
        "injected": {
            "exams": len(weak_only), "refused": len(weak_only) - len(inj), "factors": list(factors),
            "weaker_side_correct_from_0.4_pct": found["weaker_side_correct_from_0.4_pct"],
            "weaker_side_correct_from_0.4_ci95_by_person": found["weaker_side_correct_from_0.4_ci95_by_person"],
            "weaker_side_correct_by_factor_pct": {
                f"{f:.2f}": _pct([r["weaker_side"] == r["side"] for r in inj if r["factor"] == f]) for f in factors},
            "weaker_side_wrong_from_0.4_pct": found["weaker_side_wrong_from_0.4_pct"],
            "side_moving_less_is_weakened_from_0.4_pct": found["side_moving_less_is_weakened_from_0.4_pct"],
            "spearman_factor_hb_peripheral": _spearman([r["factor"] for r in periph], [r["hb"] for r in periph]),
            "spearman_factor_sunnybrook_peripheral": _spearman([r["factor"] for r in periph],
                                                               [r["sunnybrook"] for r in periph]),
            "spearman_factor_hb_all": _spearman([r["factor"] for r in inj], [r["hb"] for r in inj]),
            "spearman_factor_sunnybrook_all": _spearman([r["factor"] for r in inj], [r["sunnybrook"] for r in inj]),
            "central_flag_on_central_pct": found["central_flag_on_central_pct"],
            "central_flag_on_central_ci95_by_person": found["central_flag_on_central_ci95_by_person"],
            "central_flag_on_central_by_factor_pct": {
                f"{f:.2f}": _pct([r["central_flag"] for r in central if r["factor"] == f]) for f in factors},
            "central_flag_on_peripheral_pct": found["central_flag_on_peripheral_pct"],
            # what the flag could reach at best, on the mouth alone, with every healthy exam unflagged
            "central_flag_ceiling": central_flag_ceiling(
                [r for r in rows if r["source"] != "injected" and "error" not in r], central),
            "synkinesis_flag_without_synkinesis_pct": _pct([r["synkinesis_found"] for r in inj]),
            # at full weakness a movement should be gone: what the measure still sees of it
            "weak_side_movement": {"factor": full, **weak_side_movement(kept, jobs, full)} if factors else None,
        },
        "injected_synkinesis": {
            "exams": len(synk), "factor": SYNK_FACTOR, "narrowing": SYNK_NARROWING,
            "synkinesis_found_pct": _pct([r["synkinesis_found"] for r in synk]),
            "weaker_side_correct_pct": _pct([r["weaker_side"] == r["side"] for r in synk]),
        } if synkinesis else None,
        "per_exam": {"healthy_photos": healthy_photos, "healthy_video": healthy_video,
                     "healthy_retaken": healthy_retaken, "healthy_far": healthy_far,
                     "healthy_far_video": healthy_far_video, "injected": injected},
    }
