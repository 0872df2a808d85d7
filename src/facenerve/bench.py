"""``facenerve bench``: throughput and memory of each stage, side by side in one run.

Figures, all over the same video:
- decode-only fps: PyAV decoding to RGB, nothing else;
- landmarks-only fps: FaceMesh alone on frames decoded beforehand (model-only);
- skin-motion fps: ``SkinMotion`` alone (the steadied crop, DIS flow) on those frames, given
  their landmarks;
- plain-loop fps: the floor any analysis pays, a plain loop of PyAV decoding and FaceMesh in
  tracking mode, nothing else; also with decoding on its own thread;
- two plain loops at once: the same loop in two processes started together, frames of both
  per second. What the machine's cores give a loop that already keeps more than one busy
  (MediaPipe's and FFmpeg's own threads): the ceiling of an analysis that splits the video
  between two processes and does no more per frame than the plain loop;
- end-to-end fps: ``analyze`` as the CLI runs it (decode, landmarks, skin motion, signals,
  events, writing parquet, summary and report), in a fresh child process so that its time
  includes start-up and its peak memory is its own;
- the ratios of end-to-end to the plain loops and to landmarks-only throughput;
- CPU seconds per second of video, and peak resident memory, of the end-to-end child with the
  processes it measures spans in: their peaks added (an upper bound of the total at any time)
  and the largest total at once (sampled every ``TOGETHER_EVERY_S``);
  for a video cut into spans, end to end again with the spans measured the other way (in
  processes of their own, or in threads of one process), its fps and peak memory;
- start-up: imports, model load and the first frame's landmarks, in a fresh process.

``facenerve bench --memory`` generates 640x360 videos of 10 and 60 minutes and prints the
peak memory of ``analyze`` on each, side by side.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_HELD_FRAMES = 900  # frames held in memory for the landmarks-only run...
MAX_HELD_BYTES = 400e6  # ...and at most this much of them


def _reports(child: Callable[..., dict[str, Any]]) -> Callable[..., None]:
    """A benchmark child ``child(path, *args) -> dict``, run in a fresh process as
    ``target(path, conn, *args)``: its answer, or its error in one line, goes to the parent."""

    @functools.wraps(child)
    def target(path: str, conn, *args: Any) -> None:
        try:
            conn.send(child(path, *args))
        except Exception as err:  # noqa: BLE001 - reported by the parent in one line
            conn.send({"error": f"{type(err).__name__}: {err}"})
        finally:
            conn.close()

    return target


@_reports
def _startup_child(path: str) -> dict[str, Any]:
    """Seconds from a fresh process to the first frame's landmarks (imports, model load)."""
    t0 = time.perf_counter()
    from ._log import native_stderr_silenced
    from .measure.landmarks import MediaPipeFaceMesh
    from .media.video import iter_frames
    from .settings import AnalysisSettings
    from .twitch.analyze import analyze_video  # noqa: F401 - part of what analyze imports

    with native_stderr_silenced():
        mesh = MediaPipeFaceMesh(AnalysisSettings())
        t_model = time.perf_counter() - t0
        mesh.process(next(iter(iter_frames(path))).rgb)
        mesh.close()
    return {"imports_and_model_s": t_model, "first_frame_s": time.perf_counter() - t0}


def _plain_loop(path: str, mesh) -> int:
    """PyAV decoding and MediaPipe's own FaceMesh.process, nothing else; the frames done."""
    import av

    n = 0
    with av.open(path) as container:
        for frame in container.decode(video=0):
            mesh.process(frame.to_ndarray(format="rgb24"))
            n += 1
    return n


@_reports
def _plain_child(path: str, barrier) -> dict[str, Any]:
    """The plain loop in a fresh process, started with the others at ``barrier``."""
    from ._log import native_stderr_silenced
    from .measure.landmarks import MediaPipeFaceMesh
    from .settings import AnalysisSettings

    with native_stderr_silenced():
        mesh = MediaPipeFaceMesh(AnalysisSettings(), lean=False)
        barrier.wait(120)
        t0 = time.perf_counter()
        n = _plain_loop(path, mesh)
        seconds = time.perf_counter() - t0
        mesh.close()
    return {"frames": n, "seconds": seconds}


def _plain_loops_at_once(path: str, k: int = 2) -> float:
    """Frames per second of ``k`` plain loops over the video run at once, in processes of
    their own: all their frames over the slowest one's time."""
    started = []
    try:
        barrier = mp.get_context("spawn").Barrier(k)
        for _ in range(k):
            started.append(_start(_plain_child, path, barrier))
        res = [_child_result(proc, recv, "plain loop") for proc, recv in started]
    finally:  # one failed: the others would wait at the barrier
        for proc, _ in started:
            if proc.is_alive():
                proc.kill()
                proc.join()
    return sum(r["frames"] for r in res) / max(r["seconds"] for r in res)


TOGETHER_EVERY_S = 0.05


class _PeakTogether:
    """The largest resident memory of this process and its descendants added together at one
    moment, sampled every ``TOGETHER_EVERY_S`` on a thread while in the ``with`` block (a peak
    shorter than that may be missed: the peaks-added figure bounds it from above)."""

    def __init__(self) -> None:
        import threading

        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="facenerve-bench-rss")

    def __enter__(self) -> _PeakTogether:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while True:
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # ended between the listing and the reading
                    pass
            self.bytes = max(self.bytes, total)
            if self._stop.wait(TOGETHER_EVERY_S):
                return


@_reports
def _e2e_child(path: str, span_processes: bool = True) -> dict[str, Any]:
    from ._log import native_stderr_silenced
    from .measure.run import peak_rss_mb
    from .twitch.analyze import analyze_video
    from .twitch.outputs import write_outputs

    with native_stderr_silenced(), _PeakTogether() as together:
        t0 = time.perf_counter()
        result = analyze_video(path, span_processes=span_processes)
        with tempfile.TemporaryDirectory() as d:
            write_outputs(result, os.path.join(d, "out"))
        dt = time.perf_counter() - t0
    # with its span processes (ended and waited for): their CPU, and their peaks added to
    # this process's own (an upper bound of the peak of them all at once)
    cpu = sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))
    spans = result.info.spans
    return {"frames": result.info.n_frames, "seconds": dt, "video_s": result.info.duration_s,
            "cpu_s": cpu, "processes": 1 + spans["in_processes"], "spans": spans["count"],
            "peak_rss_mb": peak_rss_mb() + sum(spans["process_peak_rss_mb"]),
            "peak_rss_together_mb": together.bytes / 2**20}


def _start(target: Callable[..., None], path: str, *args: Any):
    """A ``_reports`` child started in a fresh process: (the process, the end its answer comes to)."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(path, send, *args))
    proc.start()
    send.close()
    return proc, recv


def _in_child(target: Callable[..., None], path: str, *args: Any, what: str = "end-to-end") -> dict[str, Any]:
    return _child_result(*_start(target, path, *args), what)


def _child_result(proc, recv, what: str = "end-to-end") -> dict[str, Any]:
    """A benchmark child's answer; one clear error if it failed or died, never a hang."""
    from .errors import FacenerveError

    while not recv.poll(0.5):
        if not proc.is_alive():
            proc.join()
            raise FacenerveError(f"the {what} benchmark process died (exit code {proc.exitcode}); "
                                 "run 'facenerve analyze' on the video to see why")
    res = recv.recv()
    proc.join()
    if "error" in res:
        raise FacenerveError(f"the {what} benchmark failed: {res['error']}")
    return res


def _rate(frames: int, fn) -> float:
    t0 = time.perf_counter()
    fn()
    return round(frames / (time.perf_counter() - t0), 1)


def run_benchmark(path: str, repeat: int = 1) -> dict[str, Any]:
    import cv2

    from .measure.landmarks import MediaPipeFaceMesh
    from .measure.run import decode_ahead
    from .measure.skin_motion import SkinMotion
    from .media.video import iter_frames, probe
    from .settings import AnalysisSettings

    settings = AnalysisSettings()
    info = probe(path)
    out: dict[str, Any] = {"video": path, "width": info.width, "height": info.height,
                           "cpu_count": os.cpu_count()}
    out["frames"] = sum(1 for _ in iter_frames(path, info))
    n = out["frames"] * repeat
    out["decode_fps"] = _rate(n, lambda: [None for _ in range(repeat) for _f in iter_frames(path, info)])
    # landmarks only, then skin motion only, on frames decoded beforehand
    held = []
    for f in iter_frames(path, info):
        held.append(f.rgb)
        if len(held) >= min(MAX_HELD_FRAMES, max(30, MAX_HELD_BYTES // f.rgb.nbytes)):
            break
    mesh = MediaPipeFaceMesh(settings)
    points = [mesh.process(rgb) for rgb in held]  # warm, and the points for skin motion
    out["landmarks_fps"] = _rate(len(held) * repeat, lambda: [mesh.process(rgb) for _ in range(repeat)
                                                              for rgb in held])
    mesh.close()
    gray = [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) for rgb in held]
    step = 1 / (info.fps_nominal or 30.0)

    def skin() -> None:
        for _ in range(repeat):
            motion = SkinMotion(settings, info.width, info.height)
            for i, (g, faces) in enumerate(zip(gray, points, strict=True)):
                if faces:
                    motion.feed(i, i * step, g, faces[0])
            motion.result(len(gray), np.full(len(gray), 0.2), np.ones(len(gray), bool))

    out["skin_motion_fps"] = _rate(len(held) * repeat, skin)
    out["held_frames"] = len(held)
    held.clear()  # free them before the plain loops
    gray.clear()
    # the plain loops: PyAV decoding and MediaPipe's own FaceMesh.process in tracking mode
    mesh = MediaPipeFaceMesh(settings, lean=False)

    def plain_threaded_decode() -> None:
        for f in decode_ahead(iter_frames(path, info)):
            mesh.process(f.rgb)

    start = _in_child(_startup_child, path, what="start-up")  # start-up, in a fresh child process
    out["startup_imports_and_model_s"] = round(start["imports_and_model_s"], 2)
    out["startup_first_frame_s"] = round(start["first_frame_s"], 2)
    # the plain loops here and end to end in fresh child processes, taking turns: a busier
    # spell of a shared machine then weighs on each alike
    loops: dict[str, list[float]] = {"plain": [], "threaded": [], "two": []}
    e2e, cpu, peak, together, other, other_peak = [], [], 0.0, 0.0, [], 0.0
    for _ in range(repeat):
        loops["plain"].append(_rate(out["frames"], lambda: _plain_loop(path, mesh)))
        loops["threaded"].append(_rate(out["frames"], plain_threaded_decode))
        loops["two"].append(_plain_loops_at_once(path))
        res = _in_child(_e2e_child, path)
        out["end_to_end_spans"], out["end_to_end_processes"] = res["spans"], res["processes"]
        e2e.append(res["frames"] / res["seconds"])
        cpu.append(res["cpu_s"] / max(res["video_s"], 1e-9))
        peak, together = max(peak, res["peak_rss_mb"]), max(together, res["peak_rss_together_mb"])
        if res["spans"] > 1:  # the same spans measured the other way, for comparison
            res = _in_child(_e2e_child, path, res["processes"] == 1)
            other.append(res["frames"] / res["seconds"])
            other_peak = max(other_peak, res["peak_rss_mb"])
    mesh.close()
    out["plain_loop_fps"] = round(sum(loops["plain"]) / repeat, 1)
    out["plain_loop_threaded_decode_fps"] = round(sum(loops["threaded"]) / repeat, 1)
    out["two_plain_loops_at_once_fps"] = round(sum(loops["two"]) / repeat, 1)
    out["end_to_end_fps"] = round(sum(e2e) / len(e2e), 1)
    if other:
        way = "threads" if out["end_to_end_processes"] > 1 else "processes"
        out[f"end_to_end_spans_in_{way}_fps"] = round(sum(other) / len(other), 1)
        out[f"end_to_end_spans_in_{way}_peak_rss_mb"] = round(other_peak, 1)
    out["end_to_end_over_plain_loop"] = round(out["end_to_end_fps"] / out["plain_loop_fps"], 3)
    out["end_to_end_over_plain_loop_threaded_decode"] = round(
        out["end_to_end_fps"] / out["plain_loop_threaded_decode_fps"], 3)
    out["end_to_end_over_landmarks"] = round(out["end_to_end_fps"] / out["landmarks_fps"], 3)
    out["two_plain_loops_at_once_over_plain_loop"] = round(
        out["two_plain_loops_at_once_fps"] / out["plain_loop_fps"], 3)
    out["end_to_end_over_two_plain_loops_at_once"] = round(
        out["end_to_end_fps"] / out["two_plain_loops_at_once_fps"], 3)
    out["end_to_end_cpu_s_per_video_s"] = round(sum(cpu) / len(cpu), 3)
    out["end_to_end_peak_rss_mb"] = round(peak, 1)
    out["end_to_end_peak_rss_together_mb"] = round(together, 1)
    out["note"] = ("end-to-end includes start-up and writing outputs; landmarks-only excludes "
                   "decoding; the plain loop decodes and runs MediaPipe's FaceMesh.process, nothing "
                   "else (analyze calls the same graph without that call's per-frame overheads). "
                   "Ratios are measured side by side in this one run.")
    return out


MEMORY_SIZE = (640, 360)


def long_video(path: str, minutes: float, fps: float = 30.0) -> str:
    """A generated ``MEMORY_SIZE`` video of ``minutes``: the bundled example's face (a rendered
    hemifacial spasm) played forwards and backwards on a grey picture. Kept if already there."""
    from pathlib import Path

    from .media.video import iter_frames
    from .simulate.render import example_video, write_video

    if Path(path).exists():
        return path
    w, h = MEMORY_SIZE
    clip = []
    for f in iter_frames(example_video()):  # 360x360: it fits
        canvas = np.full((h, w, 3), 110, np.uint8)
        fh, fw = f.rgb.shape[:2]
        y, x = (h - fh) // 2, (w - fw) // 2
        canvas[y:y + fh, x:x + fw] = f.rgb
        clip.append(canvas)
    loop = clip + clip[-2:0:-1]  # forwards then backwards: no jump
    n = int(round(minutes * 60 * fps))
    tmp = f"{path}.part.mp4"
    write_video((loop[i % len(loop)] for i in range(n)), tmp, fps, crf=23)
    os.replace(tmp, path)
    return path


def run_memory_benchmark(minutes: tuple[float, ...] = (10.0, 60.0), folder: str | None = None) -> dict[str, Any]:
    """Peak memory of ``analyze`` (a fresh process each) on generated videos of each length."""
    out: dict[str, Any] = {"size": "x".join(map(str, MEMORY_SIZE)), "cpu_count": os.cpu_count(), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for m in minutes:
            video = long_video(os.path.join(folder or tmp, f"facenerve-memory-{m:g}min.mp4"), m)
            res = _in_child(_e2e_child, video)
            out["runs"][f"{m:g} min"] = {"peak_rss_mb": round(res["peak_rss_mb"], 1),
                                         "peak_rss_together_mb": round(res["peak_rss_together_mb"], 1),
                                         "fps": round(res["frames"] / res["seconds"], 1),
                                         "frames": res["frames"], "processes": res["processes"]}
    peaks = [r["peak_rss_mb"] for r in out["runs"].values()]
    out["peak_rss_longest_over_shortest"] = round(peaks[-1] / peaks[0], 3)
    out["peak_rss_growth_kb_per_min"] = round(1024 * (peaks[-1] - peaks[0]) / (minutes[-1] - minutes[0]), 1) \
        if len(minutes) > 1 and minutes[-1] != minutes[0] else None
    return out


def run_batch_benchmark(folder: str, workers: int | None = None) -> dict[str, Any]:
    """Videos per minute on one folder, side by side in one run: ``facenerve batch`` on its
    default local cluster, the same videos through ``facenerve analyze`` one after another,
    and the batch on 1 worker and on N workers (the scaling ratio)."""
    import subprocess
    import sys

    from .cohort.batch import run_batch
    from .cohort.manifest import load_manifest

    videos = load_manifest(folder)["video"].tolist()
    n = workers or os.cpu_count() or 1
    out: dict[str, Any] = {"folder": folder, "videos": len(videos), "cpu_count": os.cpu_count()}

    def batch(k: int | None) -> float:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            run_batch(folder, d, workers=k)
            return time.perf_counter() - t0

    t_default = batch(None)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i, v in enumerate(videos):
            subprocess.run([sys.executable, "-m", "facenerve.cli", "analyze", v, "--out", f"{d}/{i}", "--quiet"],
                           capture_output=True, check=False)
    t_seq = time.perf_counter() - t0
    t_one, t_n = batch(1), batch(n)
    per_min = {k: round(60 * len(videos) / t, 2) for k, t in
               (("batch_default", t_default), ("analyze_one_after_another", t_seq),
                ("batch_1_worker", t_one), (f"batch_{n}_workers", t_n))}
    out["videos_per_minute"] = per_min
    out["batch_over_sequential_analyze"] = round(t_seq / t_default, 2)
    out[f"scaling_{n}_workers_over_1"] = round(t_one / t_n, 2)
    out["seconds"] = {"batch_default": round(t_default, 1), "analyze_one_after_another": round(t_seq, 1),
                      "batch_1_worker": round(t_one, 1), f"batch_{n}_workers": round(t_n, 1)}
    out["note"] = ("each batch starts its own local cluster (included); 'analyze one after another' "
                   "starts a new process per video, as a shell loop would")
    return out
