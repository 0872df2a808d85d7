"""Chain the measurement stages: video -> landmarks -> signals (+ skin motion).

Shape contract
    ``measure_video(path)`` -> ``AnalysisResult``: signals (one row per decoded frame), run
    metadata (``RunInfo``), optionally the landmarks [n, 478, 3] (float16). ``events`` and
    ``findings`` stay empty here; the twitch stack fills them (``twitch.analyze``).

``measure_video`` only chains the pure stage functions. Memory stays flat with video length:
frames are never held (a small queue between the decoding thread and the landmark model),
and landmarks are reduced to per-frame pixel measures in chunks of ``CHUNK`` frames; only
those few numbers per frame are kept until calibration at the end.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .._log import logger
from ..errors import InputError, NoFaceError
from ..media.video import DecodeReport, Frame, iter_frames, probe
from ..settings import AnalysisSettings
from .signals import measure_px, to_signals

CHUNK = 256
MAX_DAMAGED_FRACTION = 0.5  # more than this and the file is refused as damaged


@dataclass(frozen=True)
class RunInfo:
    """Metadata of one analysis, saved beside the tables as ``summary.json``."""

    video: dict[str, Any]
    n_frames: int
    fps: float
    duration_s: float
    face_fraction: float
    quality_fraction: float
    calibration: dict[str, Any]
    landmarks: dict[str, Any]
    versions: dict[str, str]
    settings: dict[str, Any]
    elapsed_s: float
    created_utc: str
    # of the trusted frames, those steady enough for skin motion (skin_motion.POSE_TOL_DEG)
    skin_motion_fraction: float | None = None
    decode: dict[str, Any] = field(default_factory=dict)  # media.video.DecodeReport

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AnalysisResult:
    signals: pd.DataFrame
    info: RunInfo
    events: pd.DataFrame | None = None
    findings: dict[str, Any] = field(default_factory=dict)
    landmarks: np.ndarray | None = None  # float16 [n, 478, 3] when kept


def decode_ahead(it: Iterator[Frame], maxsize: int = 8) -> Iterator[Frame]:
    """Decode ahead in a thread (PyAV releases the GIL), passing errors through."""
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            q.put(err)

    thread = threading.Thread(target=work, daemon=True, name="facenerve-decode")
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"facenerve": __version__, "python": sys.version.split()[0]}
    for pkg in ("mediapipe", "av", "numpy", "pandas", "scipy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def measure_video(
    path: str | os.PathLike[str],
    settings: AnalysisSettings | None = None,
    progress: bool = False,
    keep_landmarks: bool = False,
    motion: bool = True,
    backend_factory=None,
    counter_factory=None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> AnalysisResult:
    """Measure each side of the face in every frame of a video.

    ``on_progress(frames_done, frames_expected_or_None)`` is called every 30 frames.
    ``motion`` adds the cheeks' and mouth corners' skin motion (``skin_motion``, a second
    pass over the video); twitch detection needs it."""
    from .landmarks import track_faces
    from .skin_motion import MOTION_POINTS, skin_motion

    settings = settings or AnalysisSettings()
    t0 = time.perf_counter()
    info = probe(path)
    decoded = DecodeReport()
    frames = decode_ahead(iter_frames(path, info, decoded))
    observations, lm_info = track_faces(
        frames, settings, fps_hint=info.fps_nominal or 30.0,
        backend_factory=backend_factory, counter_factory=counter_factory,
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.n_frames_header or None, unit="frame", file=sys.stderr,
                   desc=Path(path).name, leave=False, mininterval=0.5,
                   disable=None)  # only on a terminal: never a stray \r before an error line
    buf = np.full((CHUNK, 478, 3), np.nan, dtype=np.float32)
    in_frame_buf = np.zeros(CHUNK, dtype=bool)
    parts: list[dict[str, np.ndarray]] = []
    in_frame: list[np.ndarray] = []
    index, times, nfaces = [], [], []
    kept: list[np.ndarray] = []
    motion_points: list[np.ndarray] = []
    fill = 0

    def flush() -> None:
        nonlocal fill
        if fill:
            parts.append(measure_px(buf[:fill]))
            in_frame.append(in_frame_buf[:fill].copy())
            if keep_landmarks:
                kept.append(buf[:fill].astype(np.float16))
            if motion:
                motion_points.append(buf[:fill][:, list(MOTION_POINTS), :2].copy())
            buf[:] = np.nan
            fill = 0

    margin = 0.02
    w, h = info.width, info.height
    try:
        for obs in observations:
            index.append(obs.index)
            times.append(obs.t_s)
            nfaces.append(obs.n_faces)
            if obs.points is not None:
                buf[fill] = obs.points
                xy = obs.points[:, :2]
                in_frame_buf[fill] = bool(
                    (xy[:, 0].min() >= -margin * w) and (xy[:, 0].max() <= (1 + margin) * w)
                    and (xy[:, 1].min() >= -margin * h) and (xy[:, 1].max() <= (1 + margin) * h)
                )
            else:
                in_frame_buf[fill] = False
            fill += 1
            if fill == CHUNK:
                flush()
            if bar is not None:
                bar.update(1)
            if on_progress is not None and len(index) % 30 == 0:
                on_progress(len(index), info.n_frames_header or None)
        flush()
    finally:
        if bar is not None:
            bar.close()
    n = len(index)
    px = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    t = np.asarray(times)
    fps = float((n - 1) / (t[-1] - t[0])) if n > 1 and t[-1] > t[0] else float(info.fps_nominal)
    signals, cal = to_signals(px, np.asarray(index), t, np.asarray(nfaces), fps, settings,
                              np.concatenate(in_frame))
    # frames decoded from damaged data are never measured (media.video.DecodeReport)
    damaged = np.zeros(n, dtype=bool)
    damaged[[i for i in decoded.damaged if i < n]] = True
    if damaged.mean() > MAX_DAMAGED_FRACTION:
        raise InputError(
            f"{path} is damaged: {int(damaged.sum())} of its {n} frames were decoded from broken "
            "data; copy or export the video again")
    signals["damaged"] = damaged
    signals["quality_ok"] &= ~damaged
    face_fraction = float(signals["face_detected"].mean())
    if face_fraction == 0:
        raise NoFaceError(
            f"no face was found in any of the {n} frames of {path}; film the face from the "
            "front, well lit, filling a good part of the picture"
        )
    if motion:
        signals = pd.concat([signals, skin_motion(path, np.concatenate(motion_points), signals)], axis=1)
    if lm_info.max_faces_seen > 1:
        logger.info("several faces in view; following one: %s", lm_info.face_selection)
    run = RunInfo(
        video=info.to_dict(),
        n_frames=n,
        fps=round(fps, 4),
        duration_s=round(float(t[-1] - t[0]) + (1 / fps if fps else 0), 4),
        face_fraction=round(face_fraction, 4),
        quality_fraction=round(float(signals["quality_ok"].mean()), 4),
        calibration=cal.to_dict(),
        landmarks=asdict(lm_info),
        versions=_versions(),
        settings=settings.to_dict(),
        elapsed_s=round(time.perf_counter() - t0, 3),
        created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        decode=decoded.to_dict(),
        skin_motion_fraction=(
            round(float(signals.loc[signals["quality_ok"], "cheek_lift_left_mm"].notna().mean()), 4)
            if motion and signals["quality_ok"].any() else None),
    )
    result = AnalysisResult(
        signals=signals, info=run,
        landmarks=np.concatenate(kept) if keep_landmarks else None,
    )
    return result


def base_summary(result: AnalysisResult) -> dict[str, Any]:
    """The run metadata and the signal columns, the part of ``summary.json`` every command shares."""
    summary: dict[str, Any] = result.info.to_dict()
    summary["signal_columns"] = list(result.signals.columns)
    return summary
