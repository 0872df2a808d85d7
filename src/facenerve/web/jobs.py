"""The analysis queue. Web requests only store the video and add a job; workers take jobs from
the database and run each in a child process, so that a crash or an out-of-memory kill never
takes the server down. A job whose worker stopped (crash, restart) has no heartbeat and is
picked up again, at most ``MAX_ATTEMPTS`` times."""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing as mp
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import FacenerveError
from .config import WebConfig
from .db import make_engine, session_factory
from .models import Job, Recording, User, utcnow
from .trends import metrics_from_summary

log = logging.getLogger("facenerve.web")
MAX_ATTEMPTS = 3
HEARTBEAT_S = 2.0


def discard_media(path: str) -> None:
    """Remove a recording's stored video, or its folder of exam photos."""
    if Path(path).is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        Path(path).unlink(missing_ok=True)


def enqueue(db: Session, rec: Recording) -> Job:
    job = Job(recording_id=rec.id)
    rec.status, rec.error = "queued", None
    db.add(job)
    db.commit()
    return job


def requeue_stale(db: Session, stale_s: float) -> int:
    """Jobs left 'running' by a worker that stopped: queue them again (or fail after 3 tries)."""
    cutoff = utcnow() - dt.timedelta(seconds=stale_s)
    stale = db.scalars(select(Job).where(Job.status == "running", Job.heartbeat_at < cutoff)).all()
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            _finish(db, job, "failed", f"the analysis stopped {job.attempts} times without finishing; "
                    "try a shorter recording")
        else:
            job.status, job.message, job.progress = "queued", "restarted after an interruption", 0.0
            job.recording.status = "queued"
    db.commit()
    return len(stale)


def claim(db: Session) -> Job | None:
    """Take the oldest queued job; safe with several workers (the update only wins once)."""
    for job_id in db.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(5)):
        now = utcnow()
        won = db.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
            status="running", started_at=now, heartbeat_at=now, attempts=Job.attempts + 1,
            message="starting", progress=0.0)).rowcount
        db.commit()
        if won:
            job = db.get(Job, job_id)
            db.refresh(job)
            job.recording.status = "running"
            db.commit()
            return job
    return None


def _finish(db: Session, job: Job, status: str, message: str) -> None:
    job.status, job.message, job.finished_at = status, message, utcnow()
    job.progress = 1.0 if status == "done" else job.progress
    job.recording.status = status
    job.recording.error = message if status == "failed" else None


def analyse(rec: Recording, out_dir: Path, on_progress) -> dict[str, Any]:
    """Run the library on one recording and write its outputs into ``out_dir``; return the
    summary. ``on_progress(fraction, message)``."""
    from ..cohort.work import analyse_into

    video = rec.video_path
    if not video or not Path(video).exists():
        raise FacenerveError("the video of this recording is no longer stored; record it again")
    return analyse_into(rec.kind, video, out_dir, rec.tasks, on_progress=on_progress)[0]


def run_job(database_url: str, data_dir: str, job_id: int) -> None:
    """Body of the child process: analyse, store the results, never raise."""
    from .._log import native_stderr_silenced

    engine = make_engine(database_url)
    Session_ = session_factory(engine)
    with Session_() as db, native_stderr_silenced():
        job = db.get(Job, job_id)
        rec = job.recording
        last = [0.0]

        def on_progress(fraction: float, message: str) -> None:
            if time.monotonic() - last[0] < 1.0:
                return
            last[0] = time.monotonic()
            db.execute(update(Job).where(Job.id == job_id).values(
                progress=round(fraction, 3), message=message, heartbeat_at=utcnow()))
            db.commit()

        out_dir = Path(data_dir) / "results" / str(rec.id)
        try:
            summary = analyse(rec, out_dir, on_progress)
        except FacenerveError as err:  # said with the user's file name, never a server path
            message = str(err).replace(str(rec.video_path or ""), rec.original_name or "the video")
            _finish(db, job, "failed", message.replace(str(Path(data_dir)), "…"))
            db.commit()
            return
        except Exception as err:  # noqa: BLE001 - the job fails with one line; the server lives on
            log.exception("job %s failed", job_id)
            _finish(db, job, "failed", f"internal error ({type(err).__name__}); the video is kept, "
                    "report this to the administrator")
            db.commit()
            return
        rec.metrics = metrics_from_summary(rec.kind, summary)
        rec.results_path = str(out_dir)
        owner = db.get(User, rec.owner_id)
        if owner is not None and not owner.keep_video and rec.video_path:
            discard_media(rec.video_path)  # only after a successful analysis
            rec.video_path = None
        _finish(db, job, "done", "finished")
        db.commit()
    engine.dispose()


class Workers:
    """Background threads that take jobs and watch their child processes."""

    def __init__(self, config: WebConfig, sessions: sessionmaker[Session], n: int) -> None:
        self.config, self.sessions, self.n = config, sessions, n
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.children: set[mp.Process] = set()
        self.ctx = mp.get_context("spawn")

    def start(self) -> None:
        with self.sessions() as db:
            requeue_stale(db, self.config.stale_job_s)
        for i in range(self.n):
            t = threading.Thread(target=self._loop, name=f"facenerve-worker-{i}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        """Stop now: running children are ended and their jobs resumed at the next start."""
        self.stop_event.set()
        for p in list(self.children):
            p.terminate()
        for t in self.threads:
            t.join(timeout=10)

    def _loop(self) -> None:
        last_sweep = 0.0
        while not self.stop_event.is_set():
            try:
                with self.sessions() as db:
                    if time.monotonic() - last_sweep > self.config.stale_job_s:
                        requeue_stale(db, self.config.stale_job_s)
                        last_sweep = time.monotonic()
                    job = claim(db)
                    job_id = job.id if job else None
                if job_id is None:
                    self.stop_event.wait(0.5)
                    continue
                self._run(job_id)
            except Exception:  # noqa: BLE001 - a worker thread must not die (database hiccup)
                log.exception("worker loop")
                self.stop_event.wait(2.0)

    def _run(self, job_id: int) -> None:
        p = self.ctx.Process(target=run_job, args=(self.config.database_url, str(self.config.data_dir), job_id),
                             name=f"facenerve-job-{job_id}", daemon=True)
        p.start()
        self.children.add(p)
        try:
            while p.is_alive():
                p.join(HEARTBEAT_S)
                if self.stop_event.is_set():
                    return  # the job stays 'running'; its heartbeat stops; the next start resumes it
                with self.sessions() as db:
                    db.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                               .values(heartbeat_at=utcnow()))
                    db.commit()
        finally:
            self.children.discard(p)
        if p.exitcode != 0:
            with self.sessions() as db:
                job = db.get(Job, job_id)
                if job is not None and job.status == "running":
                    if job.attempts < MAX_ATTEMPTS:
                        job.status, job.message = "queued", f"restarting (the analysis stopped, code {p.exitcode})"
                        job.recording.status = "queued"
                    else:
                        _finish(db, job, "failed", f"the analysis stopped {job.attempts} times (code "
                                f"{p.exitcode}); try a shorter or smaller video")
                    db.commit()


def run_forever(config: WebConfig, n: int) -> None:
    """``facenerve worker``: workers without the web server (e.g. on another core)."""
    from .db import migrate

    engine = make_engine(config.database_url)
    migrate(engine)
    w = Workers(config, session_factory(engine), n)
    w.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        w.stop()


