"""Chain the measurement stages: video -> landmarks -> signals (+ skin motion).

Shape contract
    ``measure_video(path)`` -> ``AnalysisResult``: signals (one row per decoded frame), run
    metadata (``RunInfo``), optionally the landmarks [n, 478, 3] (float16). ``events`` and
    ``findings`` stay empty here; the twitch stack fills them (``twitch.analyze``).

``measure_video`` only chains the pure stage functions, over one decoding pass. Three threads
share the work: decoding (PyAV releases the GIL), the landmark model (MediaPipe releases it)
and skin motion (OpenCV and NumPy release it), joined by small queues. A video of 30 s or
more is cut into spans (one per core) measured at once, each but one by a process of its own
(the threads of one process share its interpreter lock: on 2 cores, a 720p clip, 5-11 %
faster than spans in threads, for about 140 MB more memory), then joined. Memory stays flat with
video length: frames are never held beyond those queues and skin motion's current block of
small crops, and landmarks are reduced to per-frame pixel measures in chunks of ``CHUNK``
frames; only those few numbers per frame (float32) are kept until calibration at the end.
"""

from __future__ import annotations

import functools
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from .._log import logger
from ..errors import InputError, NoFaceError
from ..media.video import DecodeReport, Frame, Span, iter_frames, plan_spans, probe
from ..settings import AnalysisSettings
from .geometry import in_frame
from .signals import measure_px, to_signals

if TYPE_CHECKING:  # pandas is not needed to measure a span (``_span_main``)
    import pandas as pd

CHUNK = 256
TRIM_EVERY = 16  # chunks: the heap is trimmed about every two minutes of video
MAX_DAMAGED_FRACTION = 0.5  # more than this and the file is refused as damaged


@functools.cache
def _libc_trim():
    """glibc's ``malloc_trim``, or None where there is none."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def trim_heap() -> None:
    """Give freed heap memory back to the system. glibc keeps what each thread frees in that
    thread's arena, and an hour of small per-chunk arrays freed between long-lived ones
    fragments it: without this an hour's measuring holds tens of MB it no longer uses."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


def peak_rss_mb() -> float:
    """This process's own peak resident memory, MB. ``VmHWM`` is reset when a program starts;
    ``ru_maxrss`` is not (Linux carries the parent's size at fork over into it)."""
    import resource

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    # how it was measured: spans (1: one pass), how many in processes of their own, and
    # those processes' peak memory (MB; this process's own is not included)
    spans: dict[str, Any] = field(default_factory=dict)

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


class _Worker:
    """Calls ``fn(*args)`` for each ``put``, in order, on its own thread (OpenCV and NumPy
    release the GIL, so it runs beside the landmark model). An error is raised by the next
    ``put`` or by ``close``; a failed worker still drains its queue, so ``put`` never blocks
    forever."""

    def __init__(self, fn: Callable[..., None], maxsize: int, name: str):
        self.fn, self.error = fn, None
        self.q: queue.Queue = queue.Queue(maxsize=maxsize)
        self.thread = threading.Thread(target=self._run, daemon=True, name=name)
        self.thread.start()

    def _run(self) -> None:
        while (args := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.fn(*args)
                except BaseException as err:  # noqa: BLE001 - raised in the caller's thread
                    self.error = err

    def put(self, *args: Any) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(args)

    def stop(self) -> None:
        """Finish the queued calls and end the thread (again: nothing)."""
        if self.thread.is_alive():
            self.q.put(None)
            self.thread.join()

    def close(self) -> None:
        self.stop()
        if self.error is not None:
            raise self.error


@dataclass
class _Part:
    """What one span of a video measured (``_measure_span``)."""

    px: dict[str, np.ndarray]  # measure_px columns, and index, t, faces, in_frame per frame
    landmarks: np.ndarray | None
    skin: Any  # skin_motion.SkinMotion, or None
    lm_info: Any  # landmarks.LandmarkRunInfo
    decoded: DecodeReport
    process_peak_rss_mb: float | None = None  # measured in a process of its own: its peak
    spans: dict[str, Any] = field(  # RunInfo.spans
        default_factory=lambda: {"count": 1, "in_processes": 0, "process_peak_rss_mb": []})


def _measure_span(path: str | os.PathLike[str], info: Any, settings: AnalysisSettings, span: Span | None,
                  keep_landmarks: bool, motion: bool, threads: bool, tick: Callable[[], None],
                  backend_factory=None, detector_factory=None) -> _Part:
    """Decode a span (or all) of a video, run the landmark model and skin motion on it."""
    from .landmarks import track_faces
    from .skin_motion import SkinMotion

    decoded = DecodeReport()
    frames: Iterator[Frame] = iter_frames(path, info, decoded, gray=motion, span=span)
    if threads:
        frames = decode_ahead(frames)
    observations, lm_info = track_faces(
        frames, settings, fps_hint=info.fps_nominal or 30.0,
        backend_factory=backend_factory, detector_factory=detector_factory,
    )
    skin = SkinMotion(settings, info.width, info.height) if motion else None
    worker = _Worker(skin.feed, 16, "facenerve-skin") if skin is not None and threads else None
    feed = worker.put if worker is not None else skin.feed if skin is not None else None
    first_s = span.start_s if span is not None else -np.inf
    buf = np.full((CHUNK, 478, 3), np.nan, dtype=np.float32)
    rows = np.zeros(CHUNK, dtype=[("index", np.int64), ("t", np.float64), ("faces", np.int16)])
    parts: list[dict[str, np.ndarray]] = []
    kept: list[np.ndarray] = []
    fill = 0

    def flush() -> None:
        nonlocal fill
        if fill:
            px = measure_px(buf[:fill])
            px["in_frame"] = in_frame(buf[:fill], info.width, info.height)
            for name in rows.dtype.names:
                px[name] = rows[name][:fill].copy()
            # float32 like the signals table: ~45 numbers per frame are all that is kept
            parts.append({k: v.astype(np.float32) if v.dtype == np.float64 and k != "t" else v
                          for k, v in px.items()})
            if keep_landmarks:
                kept.append(buf[:fill].astype(np.float16))
            buf[:] = np.nan
            fill = 0
            if len(parts) % TRIM_EVERY == 0:
                trim_heap()

    try:
        for obs in observations:
            if obs.t_s < first_s:  # the tracker's warm-up, before the span
                continue
            rows[fill] = (obs.index, obs.t_s, obs.n_faces)
            if obs.points is not None:
                buf[fill] = obs.points
                if feed is not None:
                    feed(obs.index, obs.t_s, obs.gray, obs.points)
            fill += 1
            if fill == CHUNK:
                flush()
            tick()
        flush()
        if worker is not None:
            worker.close()
    finally:
        if worker is not None:
            worker.stop()
    # column by column, each chunk's arrays let go once joined: never the whole span twice
    px = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])} if parts else {}
    return _Part(px, np.concatenate(kept) if kept else None, skin, lm_info, decoded)


def _join(parts: list[_Part]) -> _Part:
    """The spans' parts as one, in order; raises ValueError unless their frames are exactly
    the video's, each once."""
    parts = [p for p in parts if p.px]
    first = parts[0]
    px = {k: np.concatenate([p.px.pop(k) for p in parts]) for k in list(first.px)}
    if not np.array_equal(px["index"], np.arange(len(px["index"]))):
        raise ValueError("the spans' frames do not join up")
    infos = [p.lm_info for p in parts]
    lm_info = first.lm_info
    lm_info.max_faces_seen = max(i.max_faces_seen for i in infos)
    lm_info.frames_with_several_faces = sum(i.frames_with_several_faces for i in infos)
    lm_info.frames_in_crop = sum(i.frames_in_crop for i in infos)
    modes = [i.multi_face_mode_from_frame for i in infos if i.multi_face_mode_from_frame is not None]
    lm_info.multi_face_mode_from_frame = min(modes) if modes else None
    decoded = DecodeReport(frames=sum(p.decoded.frames for p in parts),
                           damaged=[i for p in parts for i in p.decoded.damaged])
    if first.skin is not None:
        for p in parts[1:]:
            first.skin.merge(p.skin)
    landmarks = np.concatenate([p.landmarks for p in parts]) if first.landmarks is not None else None
    peaks = [p.process_peak_rss_mb for p in parts if p.process_peak_rss_mb is not None]
    return _Part(px, landmarks, first.skin, lm_info, decoded,
                 spans={"count": len(parts), "in_processes": len(peaks), "process_peak_rss_mb": peaks})


_SPAN_MAIN = "from facenerve.measure.run import _span_main; _span_main()"
PROGRESS_EVERY = 30  # frames between a span process's progress messages


class _SpanProcess:
    """A span measured by a fresh Python process, so that spans use every core (threads share
    one interpreter lock). A plain subprocess, not ``multiprocessing``: its start methods
    either fork a process that runs threads or run the caller's main script again in the
    child. It sends its frame count every ``PROGRESS_EVERY`` frames, then its ``_Part`` or its
    error, over a pipe of its own (native libraries may write to its stdout)."""

    def __init__(self, args: tuple[Any, ...]):
        read, write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SPAN_MAIN, str(write)], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write,))
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self.conn = Connection(read, writable=False)
        self.frames, self.answer = 0, None
        blob = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        # in a thread: the arguments may not fit the pipe before the child reads them
        threading.Thread(target=self._send, args=(blob,), daemon=True, name="facenerve-span-args").start()

    def _send(self, blob: bytes) -> None:
        try:
            with self.proc.stdin:
                self.proc.stdin.write(blob)
        except OSError:  # the child died: seen by ``wait``
            pass

    def drain(self) -> None:
        """Take in what the child has sent so far."""
        try:
            while self.answer is None and self.conn.poll(0):
                msg = self.conn.recv()
                if isinstance(msg, int):
                    self.frames = msg
                else:
                    self.answer = msg
                    if isinstance(msg, _Part) and msg.px:
                        self.frames = len(msg.px["index"])
        except (EOFError, OSError):  # the child ended without its answer
            pass

    def wait(self, progress: Callable[[], None]) -> Any:
        """The child's ``_Part`` or error; None if it ended without one."""
        while self.answer is None and self.proc.poll() is None:
            self.conn.poll(0.5)
            self.drain()
            progress()
        self.drain()
        return self.answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.conn.close()


def _span_main() -> None:
    """The span process (``_SpanProcess``): arguments from stdin, answers to the given fd."""
    from .._log import native_stderr_silenced

    conn = Connection(int(sys.argv[1]), readable=False)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % PROGRESS_EVERY == 0:
            conn.send(done)

    try:
        path, info, settings, span, keep_landmarks, motion = pickle.load(sys.stdin.buffer)
        import cv2

        cv2.setNumThreads(1)
        with native_stderr_silenced():
            part = _measure_span(path, info, settings, span, keep_landmarks, motion, True, tick)
        part.process_peak_rss_mb = round(peak_rss_mb(), 1)
        conn.send(part)
    except BaseException as err:  # noqa: BLE001 - raised again in the parent
        try:
            conn.send(err)
        except Exception:  # noqa: BLE001 - an error that cannot be pickled: its message
            conn.send(RuntimeError(f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def _can_start_processes() -> bool:
    """Spans go to processes of their own unless this one may not have children (a daemonic
    process: the web app's analysis jobs, cohort workers)."""
    import multiprocessing

    return not multiprocessing.current_process().daemon


def _measure_spans(plan: list[Span], measure: Callable[[Span], _Part],
                   start_child: Callable[[Span], _SpanProcess | None],
                   progress: Callable[[], None]) -> list[_Part]:
    """Each span but the longest measured in a process of its own (``start_child``), that one
    here at the same time (``measure``); the parts in the plan's order. A span whose process
    could not start, or ended without an answer, is measured here."""
    here = max(range(len(plan)), key=lambda i: plan[i].end_s - plan[i].start_s)
    children = {i: start_child(span) for i, span in enumerate(plan) if i != here}
    parts: dict[int, _Part] = {}
    try:
        parts[here] = measure(plan[here])
        for i, child in children.items():
            answer = child.wait(progress) if child is not None else None
            if isinstance(answer, BaseException):
                raise answer
            if answer is None:
                if child is not None:
                    logger.info("span process %s ended with code %s: measured here", i, child.proc.returncode)
                answer = measure(plan[i])
            parts[i] = answer
    finally:
        for child in filter(None, children.values()):
            child.close()
    progress()
    return [parts[i] for i in range(len(plan))]


MIN_SPAN_S = 15.0  # videos are cut into spans measured at once only when each is this long


def measure_video(
    path: str | os.PathLike[str],
    settings: AnalysisSettings | None = None,
    progress: bool = False,
    keep_landmarks: bool = False,
    motion: bool = True,
    backend_factory=None,
    detector_factory=None,
    on_progress: Callable[[int, int | None], None] | None = None,
    parallel: bool = True,
    spans: int | None = None,
    span_processes: bool = True,
) -> AnalysisResult:
    """Measure each side of the face in every frame of a video, in one decoding pass.

    ``on_progress(frames_done, frames_expected_or_None)`` is called every 30 frames.
    ``motion`` adds the cheeks' and mouth corners' skin motion (``skin_motion``); twitch
    detection needs it. ``parallel`` runs decoding and skin motion on their own threads beside
    the landmark model, and cuts a long video into ``spans`` (default: one per core) of whole
    skin-motion blocks, each at least ``MIN_SPAN_S``, measured at once: the longest here and,
    with ``span_processes``, each other by a process of its own (in threads here otherwise, or
    when this process may not have children, or a model is given). With one span the results
    are exactly those of ``parallel=False``; with several, each span's landmark tracker starts
    afresh (a test bounds the difference), wherever each span is measured (a test checks that
    a process and a thread give the same)."""
    from .skin_motion import BLOCK_S

    settings = settings or AnalysisSettings()
    t0 = time.perf_counter()
    info = probe(path)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.n_frames_header or None, unit="frame", file=sys.stderr,
                   desc=Path(path).name, leave=False, mininterval=0.5,
                   disable=None)  # only on a terminal: never a stray \r before an error line
    total = info.n_frames_header or None
    lock = threading.Lock()
    own = shown = 0  # frames measured in this process; frames shown as done
    children: list[_SpanProcess] = []  # spans measured in processes of their own

    def show() -> None:
        nonlocal shown
        for child in children:
            child.drain()
        done = own + sum(child.frames for child in children)
        if bar is not None:
            bar.update(done - shown)
        if on_progress is not None and done != shown:
            on_progress(done, total)
        shown = done

    def tick() -> None:
        nonlocal own
        with lock:
            own += 1
            if own % 30 == 0:
                show()

    plan = None
    if parallel and (spans or os.cpu_count() or 1) > 1:
        plan = plan_spans(path, info, spans or os.cpu_count() or 1, MIN_SPAN_S, BLOCK_S)

    def measure(span: Span | None) -> _Part:
        return _measure_span(path, info, settings, span, keep_landmarks, motion, parallel, tick,
                             backend_factory, detector_factory)

    def start_child(span: Span) -> _SpanProcess | None:
        try:
            child = _SpanProcess((os.fspath(path), info, settings, span, keep_landmarks, motion))
        except (OSError, ValueError) as err:  # no process (no room; no pass_fds): measured here
            logger.info("span measured here, no process: %s", err)
            return None
        children.append(child)
        return child

    import cv2

    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # our threads share the cores; OpenCV's own pool only spins beside them
    try:
        whole = None
        if plan is not None:
            if span_processes and backend_factory is None and detector_factory is None \
                    and _can_start_processes():
                found = _measure_spans(plan, measure, start_child, show)
            else:  # in threads: the model given, or no children allowed
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(len(plan), thread_name_prefix="facenerve-span") as pool:
                    found = list(pool.map(measure, plan))
            try:
                whole = _join(found)
            except ValueError as err:  # an odd file: measured again in one pass
                logger.info("measuring %s in one pass: %s", path, err)
                own, children = 0, []
        if whole is None:
            whole = measure(None)
    finally:
        cv2.setNumThreads(cv_threads)
        if bar is not None:
            bar.close()
    px, decoded, skin, lm_info = whole.px, whole.decoded, whole.skin, whole.lm_info
    whole.px = {}  # to_signals' table replaces these arrays; do not keep both
    decoded.header_frames = info.n_frames_header
    t = px.pop("t")
    n = len(t)
    index, nfaces, framed = px.pop("index"), px.pop("faces"), px.pop("in_frame")
    fps = float((n - 1) / (t[-1] - t[0])) if n > 1 and t[-1] > t[0] else float(info.fps_nominal)
    signals, cal = to_signals(px, index, t, nfaces, fps, settings, framed)
    del px
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
    if skin is not None:  # new columns, not a concatenated copy of the table
        moved = skin.result(n, signals["mm_per_px"].to_numpy(), signals["quality_ok"].to_numpy())
        for col in moved.columns:
            signals[col] = moved[col].to_numpy()
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
        spans=whole.spans,
        skin_motion_fraction=(
            round(float(signals.loc[signals["quality_ok"], "cheek_lift_left_mm"].notna().mean()), 4)
            if motion and signals["quality_ok"].any() else None),
    )
    trim_heap()
    return AnalysisResult(signals=signals, info=run, landmarks=whole.landmarks)


def base_summary(result: AnalysisResult) -> dict[str, Any]:
    """The run metadata and the signal columns, the part of ``summary.json`` every command shares."""
    summary: dict[str, Any] = result.info.to_dict()
    summary["signal_columns"] = list(result.signals.columns)
    return summary
