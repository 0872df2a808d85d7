"""One video of a cohort, where a Dask worker runs it.

Shape contract
    ``process_video(row, out_root, settings)`` -> dict: ``row`` (the cohort summary row:
    the manifest's columns, status ok | error, the one-line error, duration, footage, rates,
    the twitch finding, exam grades and versions) and ``events`` (the video's events, each
    with its video id). The outputs of ``facenerve analyze`` or ``facenerve exam`` go to
    ``out_root/videos/<id>/``, with ``batch.json`` (the row) written last: a video whose
    ``batch.json`` says ok is finished, whatever happens to the batch afterwards.
    ``analyse_into(kind, source, out_dir, ...)`` -> (summary, events): the analysis of one
    recording, shared with the web app's workers.

Never raises for a bad video: the reason is the row's ``error``. Nothing here is Dask's: the
function runs the same in a plain loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MARKER = "batch.json"


def _twitch_columns(t: dict[str, Any]) -> dict[str, Any]:
    f, ft, ps = t.get("finding", {}), t.get("footage", {}), t.get("per_side", {})
    g = t.get("grades", {})
    return {
        "assessable_s": ft.get("assessable_s"), "face_trusted_s": ft.get("face_trusted_s"),
        "finding": f.get("status"), "finding_reason": f.get("reason"),
        "affected_sides": "+".join(f.get("affected_sides") or []),
        "blepharospasm_like": f.get("blepharospasm_like"),
        "twitches_left": ps.get("left", {}).get("twitch_count"),
        "twitches_right": ps.get("right", {}).get("twitch_count"),
        "twitches_per_min_left": ps.get("left", {}).get("twitches_per_min"),
        "twitches_per_min_right": ps.get("right", {}).get("twitches_per_min"),
        "blinks_per_min": ps.get("left", {}).get("blinks_per_min"),
        "smc_left": g.get("left", {}).get("smc_grade"), "smc_right": g.get("right", {}).get("smc_grade"),
    }


def _exam_columns(e: dict[str, Any]) -> dict[str, Any]:
    g = e.get("grades", {})
    return {
        "exam_status": (e.get("exam_status") or {}).get("status"),
        "weaker_side": e.get("weaker_side"),
        "house_brackmann": (g.get("house_brackmann") or {}).get("grade"),
        "sunnybrook": (g.get("sunnybrook") or {}).get("composite"),
        "eface": (g.get("eface") or {}).get("total"),
        "synkinesis": (e.get("synkinesis") or {}).get("detected"),
        "central_pattern": e.get("central_pattern"),
    }


def summary_row(manifest_row: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The cohort summary row of a finished video, from its summary.json."""
    row = {**manifest_row, "status": "ok", "error": "",
           "duration_s": summary.get("duration_s"), "n_frames": summary.get("n_frames"),
           "face_fraction": summary.get("face_fraction"),
           "damaged_frames": (summary.get("decode") or {}).get("damaged_frames"),
           "facenerve_version": (summary.get("versions") or {}).get("facenerve"),
           "mediapipe_version": (summary.get("versions") or {}).get("mediapipe")}
    if "twitch" in summary:
        row.update(_twitch_columns(summary["twitch"]))
    if "exam" in summary:
        row.update(_exam_columns(summary["exam"]))
    return row


def analyse_into(kind: str, source: str | Path, out_dir: Path, tasks: list[dict[str, Any]] | None = None,
                 settings: Any = None, on_progress: Callable[[float, str], None] | None = None,
                 csv: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``facenerve analyze`` (``kind`` twitch) or ``exam`` of one recording (a video, or a folder
    of exam photos), its outputs written into ``out_dir`` atomically: (summary, events).
    ``on_progress(fraction, message)``. Used by the cohort's workers and the web app's."""
    progress = on_progress or (lambda fraction, message: None)

    def frames(scale: float) -> Callable[[int, int | None], None]:
        return lambda done, total: progress(scale * min(done / total, 1.0) if total else 0.0,
                                            f"measuring the face: {done} frames")

    if kind == "exam":
        from ..exam.outputs import exam_summary, write_exam_outputs

        if Path(source).is_dir():  # an exam from photographs
            from ..exam.photos import analyze_photo_exam

            progress(0.1, "measuring the photos")
            exam = analyze_photo_exam(source, settings=settings)
        else:
            from ..exam.pipeline import analyze_exam

            exam = analyze_exam(source, tasks=tasks or None, settings=settings, on_progress=frames(0.8))
        progress(0.9, "grading and writing the report")
        write_exam_outputs(exam, out_dir)
        return exam_summary(exam), []
    from ..twitch.analyze import analyze_video
    from ..twitch.outputs import build_summary, write_outputs

    res = analyze_video(source, settings, on_progress=frames(0.9))
    progress(0.95, "writing the report")
    write_outputs(res, out_dir, csv=csv)
    return build_summary(res), res.events.to_dict("records")


def process_video(manifest_row: dict[str, Any], out_root: str, settings: dict[str, Any] | None = None,
                  csv: bool = False) -> dict[str, Any]:
    """See the module's shape contract."""
    from .._log import native_stderr_silenced
    from ..errors import FacenerveError
    from ..settings import AnalysisSettings

    out = Path(out_root) / "videos" / manifest_row["id"]
    t0 = time.perf_counter()
    events: list[dict[str, Any]] = []
    try:
        s = AnalysisSettings.from_dict(settings)
        with native_stderr_silenced():
            summary, evs = analyse_into(manifest_row.get("kind") or "twitch", manifest_row["video"], out,
                                        manifest_row.get("tasks"), s, csv=csv)
        events = [{"video_id": manifest_row["id"], **e} for e in evs]
        row = summary_row(manifest_row, summary)
    except FacenerveError as err:
        row = {**manifest_row, "status": "error", "error": str(err).splitlines()[0][:300]}
    except MemoryError:
        row = {**manifest_row, "status": "error", "error": "out of memory on this worker"}
    except Exception as err:  # noqa: BLE001 - one bad video never stops the others
        row = {**manifest_row, "status": "error",
               "error": f"internal error: {type(err).__name__}: {str(err)[:200]}"}
    row["elapsed_s"] = round(time.perf_counter() - t0, 2)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{MARKER}.part"
    tmp.write_text(json.dumps(row, default=str))
    tmp.replace(out / MARKER)
    return {"row": row, "events": events}


def finished(out_root: str | Path, video_id: str) -> dict[str, Any] | None:
    """The row of a video a previous batch finished well, else None."""
    marker = Path(out_root) / "videos" / video_id / MARKER
    try:
        row = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return row if row.get("status") == "ok" else None
