"""``facenerve batch``: a cohort of videos on Dask, with tables and a report.

Shape contract
    ``run_batch(INPUT, OUT)`` -> dict (counts, paths of the tables, dashboard address) and, in
    OUT: ``videos/<id>/`` (each video's own outputs, as ``facenerve analyze`` or ``exam``
    writes them, plus ``batch.json``), ``cohort_summary.parquet`` (one row per video),
    ``cohort_events.parquet`` (every event with its video id), ``.csv`` copies on request,
    and ``cohort_report.html``.

Where it runs: a ``distributed.LocalCluster`` on this machine (one single-threaded worker
process per core by default: one analysis already keeps more than one core busy with its
decoding thread), or an existing cluster at ``scheduler`` / ``DASK_SCHEDULER_ADDRESS``. Dask
schedules, retries a video whose worker died (``distributed.scheduler.allowed-failures``),
and keeps each worker's memory under its limit. A rerun skips the videos whose ``batch.json``
says ok, so an interrupted batch loses nothing already written (``force`` redoes all).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from .manifest import load_manifest
from .work import finished, process_video

TABLES = ("cohort_summary", "cohort_events")


def _memory_total() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def make_client(scheduler: str | None = None, workers: int | None = None,
                memory_per_worker: str | None = None):
    """A Dask client: to ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) if given, else to a new
    LocalCluster on 127.0.0.1 sized from this machine's cores and memory."""
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            return Client(address, timeout="30s")
        except OSError as err:
            raise InputError(f"cannot reach the Dask scheduler at {address}: {err}; start it with "
                             "'dask scheduler' or leave --scheduler out to run on this machine") from None
    n = workers or os.cpu_count() or 1
    memory = memory_per_worker or f"{max(1, int(0.8 * _memory_total() / n) >> 20)}MiB"
    try:
        import bokeh  # noqa: F401 - the dashboard needs it

        dashboard = "127.0.0.1:0"
    except ImportError:
        dashboard = None
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory,
                           host="127.0.0.1", dashboard_address=dashboard)
    return Client(cluster)


def _write_table(df: pd.DataFrame, out: Path, name: str, csv: bool) -> Path:
    """Each table replaces the old one in one step (written beside it, then renamed)."""
    path = out / f"{name}.parquet"
    part = out / f".{name}.parquet.part"
    df.to_parquet(part, index=False)
    part.replace(path)
    if csv:
        part = out / f".{name}.csv.part"
        df.to_csv(part, index=False)
        part.replace(out / f"{name}.csv")
    return path


def _stored_events(out: Path, video_id: str) -> list[dict[str, Any]]:
    path = out / "videos" / video_id / "events.csv"
    if not path.exists():
        return []
    return [{"video_id": video_id, **e} for e in pd.read_csv(path).to_dict("records")]


def run_batch(source: str | Path, out: str | Path, scheduler: str | None = None,
              workers: int | None = None, memory_per_worker: str | None = None,
              settings: dict[str, Any] | None = None, force: bool = False, csv: bool = False,
              progress: bool = False, client=None) -> dict[str, Any]:
    """See the module's shape contract. ``client``: an existing Dask client to use."""
    from ..settings import AnalysisSettings

    AnalysisSettings.from_dict(settings)  # a bad setting fails here, not on every worker
    manifest = load_manifest(source)
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder; choose another --out")
    (out / "videos").mkdir(parents=True, exist_ok=True)
    records = manifest.to_dict("records")
    rows: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    todo = []
    for rec in records:
        done = None if force else finished(out, rec["id"])
        if done is not None:
            rows[rec["id"]] = {**done, **{k: rec[k] for k in rec}}
            events += _stored_events(out, rec["id"])
        else:
            todo.append(rec)
    t0 = time.perf_counter()
    own = client is None and bool(todo)
    dashboard = None
    if todo:
        from distributed import as_completed
        from tqdm import tqdm

        client = client or make_client(scheduler, workers, memory_per_worker)
        dashboard = getattr(client, "dashboard_link", None)
        if progress and dashboard:
            print(f"facenerve: Dask dashboard at {dashboard}", file=sys.stderr)
        try:
            futures = {client.submit(process_video, rec, str(out), settings, csv, pure=False,
                                     key=f"facenerve-{rec['id']}-{time.time_ns()}"): rec for rec in todo}
            bar = tqdm(total=len(futures), unit="video", desc="batch", disable=not progress, file=sys.stderr)
            failed = 0
            for fut in as_completed(futures):
                rec = futures[fut]
                try:
                    res = fut.result()
                except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: its row says why
                    res = {"row": {**rec, "status": "error",
                                   "error": f"the worker analysing it failed: {type(err).__name__}: {str(err)[:200]}"},
                           "events": []}
                rows[rec["id"]] = res["row"]
                events += res["events"]
                failed += res["row"]["status"] != "ok"
                bar.update(1)
                bar.set_postfix(failed=failed, remaining=len(futures) - bar.n)
            bar.close()
        finally:
            if own:
                cluster = getattr(client, "cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
    summary = pd.DataFrame([rows[rec["id"]] for rec in records])
    ev = pd.DataFrame(events) if events else pd.DataFrame(columns=["video_id"])
    paths = {name: str(_write_table(df, out, name, csv)) for name, df in zip(TABLES, (summary, ev), strict=True)}
    from .report import cohort_report

    report = out / "cohort_report.html"
    part = out / ".cohort_report.html.part"
    part.write_text(cohort_report(summary, ev))
    part.replace(report)
    n_ok = int((summary["status"] == "ok").sum())
    return {"videos": len(summary), "ok": n_ok, "failed": len(summary) - n_ok,
            "skipped_as_finished": len(records) - len(todo), "analysed_now": len(todo),
            "seconds": round(time.perf_counter() - t0, 2), "dashboard": dashboard,
            "tables": paths, "report": str(report)}
