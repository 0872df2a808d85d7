"""``facenerve bench``: throughput and memory of each stage, side by side in one run.

Figures, all over the same video:
- decode-only fps: PyAV decoding to RGB, nothing else;
- landmarks-only fps: FaceMesh alone on frames decoded beforehand (model-only);
- skin-motion fps: the optical-flow pass (``skin_motion``: its own decoding, the steadied
  crop, DIS flow) over the same frames, given their landmarks;
- end-to-end fps: ``analyze`` as the CLI runs it (decode, landmarks, signals, events, writing
  parquet, summary and report), in a child process so that its peak memory is its own;
- plain-loop fps: the floor any analysis pays, a loop of threaded PyAV decoding and FaceMesh
  in tracking mode, nothing else;
- the ratios of end-to-end to the plain loop and to landmarks-only throughput;
- CPU seconds per second of video, and peak resident memory, of the end-to-end child;
- start-up: imports, model load and the first frame's landmarks, in a fresh process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import tempfile
import time
from typing import Any

MAX_HELD_FRAMES = 900  # frames held in memory for the landmarks-only run


def _startup_child(path: str, conn) -> None:
    """Seconds from a fresh process to the first frame's landmarks (imports, model load)."""
    t0 = time.perf_counter()
    try:
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
        conn.send({"imports_and_model_s": t_model, "first_frame_s": time.perf_counter() - t0})
    except Exception as err:  # noqa: BLE001 - reported by the parent in one line
        conn.send({"error": f"{type(err).__name__}: {err}"})
    finally:
        conn.close()


def _e2e_child(path: str, conn) -> None:
    from ._log import native_stderr_silenced
    from .twitch.analyze import analyze_video
    from .twitch.outputs import write_outputs

    try:
        with native_stderr_silenced():
            t0 = time.perf_counter()
            result = analyze_video(path)
            with tempfile.TemporaryDirectory() as d:
                write_outputs(result, os.path.join(d, "out"))
            dt = time.perf_counter() - t0
        use = resource.getrusage(resource.RUSAGE_SELF)
        conn.send({"frames": result.info.n_frames, "seconds": dt, "video_s": result.info.duration_s,
                   "cpu_s": use.ru_utime + use.ru_stime, "peak_rss_mb": use.ru_maxrss / 1024})
    except Exception as err:  # noqa: BLE001 - reported by the parent in one line
        conn.send({"error": f"{type(err).__name__}: {err}"})
    finally:
        conn.close()


def _in_child(target, path: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(path, send))
    proc.start()
    send.close()
    return _child_result(proc, recv)


def _child_result(proc, recv) -> dict[str, Any]:
    """The end-to-end child's answer; one clear error if it failed or died, never a hang."""
    from .errors import FacenerveError

    while not recv.poll(0.5):
        if not proc.is_alive():
            proc.join()
            raise FacenerveError(f"the end-to-end benchmark process died (exit code {proc.exitcode}); "
                                 "run 'facenerve analyze' on the video to see why")
    res = recv.recv()
    proc.join()
    if "error" in res:
        raise FacenerveError(f"the end-to-end benchmark failed: {res['error']}")
    return res


def run_benchmark(path: str, repeat: int = 1) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from .measure.landmarks import MediaPipeFaceMesh
    from .measure.skin_motion import MOTION_POINTS, skin_motion
    from .media.video import iter_frames, probe
    from .settings import AnalysisSettings

    info = probe(path)
    out: dict[str, Any] = {"video": path, "width": info.width, "height": info.height,
                           "cpu_count": os.cpu_count()}
    # decode only
    t0 = time.perf_counter()
    n = 0
    for _ in range(repeat):
        for _f in iter_frames(path, info):
            n += 1
    out["decode_fps"] = round(n / (time.perf_counter() - t0), 1)
    out["frames"] = n // repeat
    # landmarks only, on frames decoded beforehand
    held = []
    for f in iter_frames(path, info):
        held.append(f.rgb)
        if len(held) >= MAX_HELD_FRAMES:
            break
    mesh = MediaPipeFaceMesh(AnalysisSettings())
    points = np.full((len(held), len(MOTION_POINTS), 2), np.nan, np.float32)
    t0 = time.perf_counter()
    for r in range(repeat):
        for i, rgb in enumerate(held):
            faces = mesh.process(rgb)
            if faces and r == 0:
                points[i] = faces[0][list(MOTION_POINTS), :2]
    lm_fps = len(held) * repeat / (time.perf_counter() - t0)
    mesh.close()
    n_held = len(held)
    del held
    out["landmarks_fps"] = round(lm_fps, 1)
    signals = pd.DataFrame({"quality_ok": np.isfinite(points[:, 0, 0]),
                            "time_s": np.arange(n_held) / (info.fps_nominal or 30.0),
                            "mm_per_px": np.full(n_held, 0.2),
                            "head_yaw_deg": np.zeros(n_held), "head_pitch_deg": np.zeros(n_held)})
    t0 = time.perf_counter()
    for _ in range(repeat):
        skin_motion(path, points, signals)
    out["skin_motion_fps"] = round(n_held * repeat / (time.perf_counter() - t0), 1)
    # the plain loop: threaded decoding and FaceMesh in tracking mode, nothing else
    from .measure.run import decode_ahead

    mesh = MediaPipeFaceMesh(AnalysisSettings())
    t0 = time.perf_counter()
    n_plain = 0
    for f in decode_ahead(iter_frames(path, info)):
        mesh.process(f.rgb)
        n_plain += 1
    plain_fps = n_plain / (time.perf_counter() - t0)
    mesh.close()
    out["plain_loop_fps"] = round(plain_fps, 1)
    # start-up, and end to end, each in a fresh child process
    start = _in_child(_startup_child, path)
    out["startup_imports_and_model_s"] = round(start["imports_and_model_s"], 2)
    out["startup_first_frame_s"] = round(start["first_frame_s"], 2)
    e2e, cpu, peak = [], [], 0.0
    for _ in range(repeat):
        res = _in_child(_e2e_child, path)
        e2e.append(res["frames"] / res["seconds"])
        cpu.append(res["cpu_s"] / max(res["video_s"], 1e-9))
        peak = max(peak, res["peak_rss_mb"])
    out["end_to_end_fps"] = round(sum(e2e) / len(e2e), 1)
    out["end_to_end_over_plain_loop"] = round(out["end_to_end_fps"] / plain_fps, 3)
    out["end_to_end_over_landmarks"] = round(out["end_to_end_fps"] / lm_fps, 3)
    out["end_to_end_cpu_s_per_video_s"] = round(sum(cpu) / len(cpu), 3)
    out["end_to_end_peak_rss_mb"] = round(peak, 1)
    out["note"] = ("end-to-end includes model start-up and writing outputs; landmarks-only "
                   "excludes decoding; the plain loop decodes and runs FaceMesh, nothing else. "
                   "Ratios are measured side by side in this one run.")
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
