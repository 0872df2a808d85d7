"""A patient's data: recordings (upload or browser), analysis progress and results, diary,
treatments, triage, trends and reports. Every route starts from ``patient_for``, so a user
who may not see the patient gets 404 for every id."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from ..errors import InputError
from ..media.video import VIDEO_SUFFIXES
from . import forms
from .access import can_write, not_found, owned, patient_for
from .deps import csrf_protect, current_user, get_db, render
from .jobs import HEARTBEAT_S, discard_media, enqueue
from .models import (
    RECORDING_KINDS,
    TREATMENTS,
    DiaryEntry,
    Job,
    Recording,
    Treatment,
    TriageRecord,
    User,
    utcnow,
)
from .reports import (
    analysed,
    date_range,
    diary_month,
    html_report,
    identifier,
    patient_data,
    pdf_report,
    recordings_of,
    report_notes,
    summary,
    treatments_of,
)
from .trends import exam_series, palsy_figure, twitch_figure, twitch_series

router = APIRouter(dependencies=[Depends(csrf_protect)])
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"


def _patient(request: Request, pid: int, user: User = Depends(current_user), db: Session = Depends(get_db)) -> User:
    """The patient of the URL, for a user who may see them; changes (any POST) need the right
    to write too (``access.can_write``): a clinician gets 403 unless the patient granted it."""
    patient = patient_for(db, user, pid)
    request.state.can_write = can_write(db, user, pid)
    if request.method not in ("GET", "HEAD") and not request.state.can_write:
        raise HTTPException(403, "you may see this patient's data but not change it; the patient can "
                            "give you that right under Sharing")
    return patient


def _back(pid: int, page: str = "") -> RedirectResponse:
    return RedirectResponse(f"/p/{pid}{page}", status_code=303)


def _delete(db: Session, model, item_id: int, patient: User, page: str) -> RedirectResponse:
    db.delete(owned(db, model, item_id, patient))
    db.commit()
    return _back(patient.id, f"{page}?saved=deleted")


def _video_type(stored: Path) -> str:
    """The stored file's video type, from its container as FFmpeg reads it."""
    from ..errors import InputError
    from ..media.video import probe

    try:
        names = set(probe(stored).container.split(","))
    except InputError:
        return "application/octet-stream"
    suffix = stored.suffix.lower()
    if names & {"mp4", "mov"}:
        return "video/quicktime" if suffix == ".mov" else "video/mp4"
    if names & {"matroska", "webm"}:
        return "video/webm" if suffix == ".webm" else "video/x-matroska"
    return "video/x-msvideo" if "avi" in names else "application/octet-stream"


@router.get("/api/protocol")
def protocol(user: User = Depends(current_user)) -> dict[str, Any]:
    from ..exam.protocol import load_protocol

    return load_protocol().to_dict()


@router.get("/p/{pid}")
def overview(request: Request, pid: int, user: User = Depends(current_user),
             patient: User = Depends(_patient), db: Session = Depends(get_db)):
    """The patient's overview. A clinician also sees what is new since they last looked
    (and opening it counts as looking)."""
    from .workspace import mark_viewed, new_since

    data = patient_data(db, patient)
    since = new = None
    if user.role == "clinician":
        since = mark_viewed(db, user, patient, utcnow())
        new = new_since(db, patient, since)
    audience = "patient" if user.id == patient.id else "doctor"
    return render(request, "overview.html", {"patient": patient, **data, "since": since, "new": new,
                                             "summary": summary(patient, data, audience)}, user=user)


@router.get("/p/{pid}/visit")
def visit(request: Request, pid: int, user: User = Depends(current_user),
          patient: User = Depends(_patient), db: Session = Depends(get_db)):
    """A page to read before a visit: the summary, changes since the last look, the latest
    finding of each kind with its footage, the symptom check, treatments and the diary's month."""
    from .workspace import trend

    data = patient_data(db, patient)
    done = analysed(data["recordings"])
    notes, cites = report_notes(data)
    return render(request, "visit.html", {
        "patient": patient, **data, "summary": summary(patient, data, "doctor"), "notes": notes,
        "sources": cites.items, "ident": identifier(patient), "span": date_range(data),
        "trends_since": {k: trend(k, done, None) for k in ("twitch", "exam")},
        "month": diary_month(data["diary"], data["today"])}, user=user)


@router.get("/p/{pid}/figures/{name}.svg")
def figure(pid: int, name: str, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    """One trend plot; reads only the recordings (and treatments), not the whole overview."""
    done = analysed(recordings_of(db, patient))
    if name == "twitch":
        svg = twitch_figure(twitch_series(done), treatments_of(db, patient))
    elif name == "palsy":
        svg = palsy_figure(exam_series(done), patient.onset_date)
    else:
        raise not_found()
    if svg is None:
        raise not_found()
    return Response(svg, media_type="image/svg+xml")


# ---- recordings ---------------------------------------------------------------------------------

@router.get("/p/{pid}/recordings")
def recordings(request: Request, pid: int, user: User = Depends(current_user),
               patient: User = Depends(_patient), db: Session = Depends(get_db)):
    recs = db.scalars(select(Recording).where(Recording.owner_id == patient.id)
                      .order_by(Recording.recorded_at.desc())).all()
    return render(request, "recordings.html", {"patient": patient, "recordings": recs}, user=user)


@router.get("/p/{pid}/record")
def record_page(request: Request, pid: int, user: User = Depends(current_user), patient: User = Depends(_patient)):
    cfg = request.app.state.config
    from ..exam.protocol import load_protocol
    from ..media.photos import PHOTO_SUFFIXES

    return render(request, "record.html", {"patient": patient, "max_mb": cfg.max_upload_mb,
                                           "suffixes": ", ".join(VIDEO_SUFFIXES),
                                           "photo_suffixes": ", ".join(PHOTO_SUFFIXES),
                                           "max_photos": len(load_protocol().tasks)}, user=user)


def _tasks(raw: str) -> list[dict[str, Any]] | None:
    """Task times sent with a guided recording, checked as ``facenerve exam --tasks`` checks them."""
    if not raw.strip():
        return None
    from ..exam.protocol import load_protocol, parse_tasks

    try:
        segs = parse_tasks(json.loads(raw), load_protocol())
    except json.JSONDecodeError:
        raise HTTPException(400, "the task times are not valid JSON") from None
    except InputError as err:
        raise HTTPException(400, str(err)) from None
    return [{"task": s.task, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)} for s in segs]


async def _store_upload(upload: UploadFile, dest: Path, limit: int) -> int:
    size = 0
    try:
        with open(dest, "wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"the file is larger than the {limit >> 20} MB limit; "
                                        "trim the video or record a shorter one")
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)  # our partial copy only; the user's file is untouched
        raise
    return size


@router.post("/p/{pid}/recordings")
async def upload(request: Request, pid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    from ..media.video import probe

    cfg = request.app.state.config
    f = await request.form()
    file = f.get("file")
    try:
        kind = forms.choice(f.get("kind"), "Kind", RECORDING_KINDS)
        notes = forms.text(f.get("notes"), "Notes", 2000)
    except forms.FormError as err:
        raise HTTPException(400, str(err)) from None
    if not isinstance(file, UploadFile) or not file.filename:
        raise HTTPException(400, "choose a video file to upload")
    suffix = Path(file.filename).suffix.lower()
    ctype = (file.content_type or "").split(";")[0]
    if suffix not in VIDEO_SUFFIXES and not ctype.startswith("video/"):
        raise HTTPException(415, f"{file.filename} is not a video we can read; use one of {', '.join(VIDEO_SUFFIXES)}")
    if suffix not in VIDEO_SUFFIXES:
        suffix = ".webm" if "webm" in ctype else ".mp4"
    tasks = _tasks(str(f.get("tasks") or "")) if kind == "exam" else None
    folder = cfg.media_dir / str(patient.id)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{uuid.uuid4().hex}{suffix}"
    size = await _store_upload(file, dest, cfg.max_upload_mb << 20)
    try:
        info = probe(dest)
    except InputError as err:
        dest.unlink(missing_ok=True)
        raise HTTPException(400, str(err).replace(str(dest), file.filename)) from None
    if info.duration_s and info.duration_s > 15 * 60:
        dest.unlink(missing_ok=True)
        raise HTTPException(400, f"{file.filename} lasts {info.duration_s / 60:.0f} minutes; record at most 15")
    rec = Recording(owner_id=patient.id, kind=kind, source="browser" if f.get("source") == "browser" else "upload",
                    original_name=file.filename[:255], video_path=str(dest), size_bytes=size, tasks=tasks,
                    notes=notes)
    return _queued(request, db, rec)


def _queued(request: Request, db: Session, rec: Recording) -> Response:
    """Keep a new recording, queue its analysis and send the browser (or a script) to it."""
    db.add(rec)
    db.commit()
    enqueue(db, rec)
    url = f"/p/{rec.owner_id}/recordings/{rec.id}"
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"id": rec.id, "url": url}, status_code=201)
    return RedirectResponse(url, status_code=303)


def _safe_name(i: int, name: str, suffix: str) -> str:
    """A stored photo's name: its place in the upload and the words of the uploaded name (which
    may say its task), nothing a path could be built from."""
    stem = re.sub(r"[^a-z0-9]+", "_", Path(name).stem.lower()).strip("_")[:40]
    return f"{i:02d}_{stem or 'photo'}{suffix}"


@router.post("/p/{pid}/recordings/photos")
async def upload_photos(request: Request, pid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    """An exam from photographs (``facenerve exam --photos``): the set is checked (one photo
    per task, each a readable picture) before it is kept."""
    from ..exam.photos import match_photos
    from ..exam.protocol import load_protocol
    from ..media.photos import PHOTO_SUFFIXES, load_photo

    cfg = request.app.state.config
    f = await request.form()
    photos = [p for p in f.getlist("photos") if isinstance(p, UploadFile) and p.filename]
    try:
        notes = forms.text(f.get("notes"), "Notes", 2000)
    except forms.FormError as err:
        raise HTTPException(400, str(err)) from None
    # a clinical set may hold poses this exam does not grade (left out by name): a few more
    # photos than tasks are taken, and ``match_photos`` says what is wrong with the set
    most = 2 * len(load_protocol().tasks)
    if not photos:
        raise HTTPException(400, "choose the exam photos to upload, one per task")
    if len(photos) > most:
        raise HTTPException(400, f"{len(photos)} photos; give one photo per task, at most {most} in all")
    for p in photos:
        if Path(p.filename).suffix.lower() not in PHOTO_SUFFIXES:
            raise HTTPException(415, f"{p.filename} is not a photo we can read; use one of {', '.join(PHOTO_SUFFIXES)}")
    folder = cfg.media_dir / str(patient.id) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    size = 0
    try:
        names = {}
        for i, p in enumerate(photos):
            dest = folder / _safe_name(i, p.filename, Path(p.filename).suffix.lower())
            size += await _store_upload(p, dest, cfg.max_upload_mb << 20)
            names[dest.name] = p.filename
        try:
            match_photos(sorted(folder.iterdir()))
            for path in folder.iterdir():
                load_photo(path)
        except InputError as err:
            msg = str(err)
            for stored, original in names.items():
                msg = msg.replace(str(folder / stored), original).replace(stored, original)
            raise HTTPException(400, msg) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # our copies only
        raise
    rec = Recording(owner_id=patient.id, kind="exam", source="photos",
                    original_name=f"{len(photos)} exam photos", video_path=str(folder), size_bytes=size,
                    notes=notes)
    return _queued(request, db, rec)


def _latest_job(db: Session, rec: Recording) -> Job | None:
    return db.scalar(select(Job).where(Job.recording_id == rec.id).order_by(Job.id.desc()).limit(1))


def _job_message(job: Job | None, stale_s: float) -> str | None:
    """The job's own message, or, when its worker has gone quiet (the server restarted, say),
    what is happening: it is picked up again once ``stale_s`` has passed without a word."""
    if job is None:
        return None
    if job.status == "running" and job.heartbeat_at is not None:
        quiet = (utcnow() - job.heartbeat_at).total_seconds()
        if quiet > 2 * HEARTBEAT_S:
            wait = max(0, round(stale_s - quiet)) + 1
            return (f"no word from the analysis for {quiet:.0f} s: the server may have restarted. It is "
                    f"picked up again by itself within about {wait} s; nothing is lost.")
    return job.message


@router.get("/p/{pid}/recordings/{rid}")
def recording(request: Request, pid: int, rid: int, user: User = Depends(current_user),
              patient: User = Depends(_patient), db: Session = Depends(get_db)):
    rec = owned(db, Recording, rid, patient)
    job = _latest_job(db, rec)
    return render(request, "recording.html", {"patient": patient, "rec": rec, "job": job,
                                              "job_message": _job_message(job, request.app.state.config.stale_job_s)},
                  user=user)


@router.get("/p/{pid}/recordings/{rid}/status")
def recording_status(request: Request, pid: int, rid: int, patient: User = Depends(_patient),
                     db: Session = Depends(get_db)):
    rec = owned(db, Recording, rid, patient)
    job = _latest_job(db, rec)
    return {"status": rec.status, "progress": job.progress if job else None,
            "message": _job_message(job, request.app.state.config.stale_job_s), "error": rec.error,
            "metrics": rec.metrics}


@router.get("/p/{pid}/recordings/{rid}/report")
def recording_report(pid: int, rid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    rec = owned(db, Recording, rid, patient)
    path = Path(rec.results_path or "/nonexistent") / "report.html"
    if not path.is_file():
        raise not_found()
    return HTMLResponse(path.read_text(encoding="utf-8"), headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/p/{pid}/recordings/{rid}/video")
def recording_video(pid: int, rid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    rec = owned(db, Recording, rid, patient)
    if not rec.video_path or not Path(rec.video_path).is_file():
        raise not_found()
    # the type comes from what the stored file is (probed), never from the name the uploader
    # gave, and the browser saves it rather than rendering it
    stored = Path(rec.video_path)
    media_type = _video_type(stored)
    name = f"{Path(rec.original_name).stem or 'recording'}{stored.suffix}"
    return FileResponse(stored, media_type=media_type, filename=name, content_disposition_type="attachment")


@router.post("/p/{pid}/recordings/{rid}/analyse")
def recording_reanalyse(pid: int, rid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    rec = owned(db, Recording, rid, patient)
    if rec.status in ("queued", "running"):
        raise HTTPException(409, "this recording is already being analysed")
    if not rec.video_path or not Path(rec.video_path).exists():
        raise HTTPException(409, "the video was not kept, so it cannot be analysed again")
    enqueue(db, rec)
    return _back(pid, f"/recordings/{rid}")


@router.post("/p/{pid}/recordings/{rid}/delete")
def recording_delete(pid: int, rid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    rec = owned(db, Recording, rid, patient)
    if rec.status == "running":
        raise HTTPException(409, "this recording is being analysed; delete it when the analysis ends")
    if rec.video_path:
        discard_media(rec.video_path)
    if rec.results_path:
        shutil.rmtree(rec.results_path, ignore_errors=True)
    db.execute(delete(Job).where(Job.recording_id == rec.id))
    db.delete(rec)
    db.commit()
    return _back(pid, "/recordings?saved=deleted")


# ---- diary and treatments -----------------------------------------------------------------------

@router.get("/p/{pid}/diary")
def diary(request: Request, pid: int, user: User = Depends(current_user), patient: User = Depends(_patient),
          db: Session = Depends(get_db)):
    return _diary_page(request, user, patient, db)


def _diary_page(request: Request, user: User, patient: User, db: Session, form: str | None = None,
                fields: forms.Fields | None = None):
    """The diary page; a refused ``form`` ("day" or "treatment") is shown again with what was
    typed and a message at each bad field (400)."""
    entries = db.scalars(select(DiaryEntry).where(DiaryEntry.owner_id == patient.id)
                         .order_by(DiaryEntry.day.desc()).limit(120)).all()
    treatments = db.scalars(select(Treatment).where(Treatment.owner_id == patient.id)
                            .order_by(Treatment.day.desc())).all()
    refused = fields is not None and bool(fields.errors)
    return render(request, "diary.html", {"patient": patient, "entries": entries, "treatments": treatments,
                                          "kinds": TREATMENTS, "today": dt.date.today().isoformat(),
                                          "form": form, "values": fields.values if refused else {},
                                          "errors": fields.errors if refused else {}},
                  user=user, status=400 if refused else 200)


@router.post("/p/{pid}/diary")
async def diary_save(request: Request, pid: int, user: User = Depends(current_user),
                     patient: User = Depends(_patient), db: Session = Depends(get_db)):
    f = forms.Fields(await request.form())
    day = f("day", forms.day, "Day")
    values = {
        "sleep_hours": f("sleep_hours", forms.number, "Sleep", 0, 24),
        "caffeine_drinks": f("caffeine_drinks", forms.number, "Caffeine", 0, 30),
        "alcohol_units": f("alcohol_units", forms.number, "Alcohol", 0, 50),
        "stress": f("stress", forms.number, "Stress", 0, 10, integer=True),
        "twitching": f("twitching", forms.number, "Twitching", 0, 10, integer=True),
        "notes": f("notes", forms.text, "Notes", 2000),
    }
    if f.errors:
        return _diary_page(request, user, patient, db, "day", f)
    entry = db.scalar(select(DiaryEntry).where(DiaryEntry.owner_id == patient.id, DiaryEntry.day == day))
    if entry is None:
        entry = DiaryEntry(owner_id=patient.id, day=day)
        db.add(entry)
    for k, v in values.items():
        setattr(entry, k, v)
    db.commit()
    return _back(pid, "/diary?saved=day")


@router.post("/p/{pid}/diary/{eid}/delete")
def diary_delete(pid: int, eid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    return _delete(db, DiaryEntry, eid, patient, "/diary")


@router.post("/p/{pid}/treatments")
async def treatment_add(request: Request, pid: int, user: User = Depends(current_user),
                        patient: User = Depends(_patient), db: Session = Depends(get_db)):
    f = forms.Fields(await request.form())
    t = Treatment(owner_id=patient.id, kind=f("kind", forms.choice, "Treatment", list(TREATMENTS)),
                  day=f("day", forms.day, "Date"), dose=f("dose", forms.text, "Dose", 120),
                  muscles=f("muscles", forms.text, "Muscles", 255), notes=f("notes", forms.text, "Notes", 2000))
    if f.errors:
        return _diary_page(request, user, patient, db, "treatment", f)
    db.add(t)
    db.commit()
    return _back(pid, "/diary?saved=treatment")


@router.post("/p/{pid}/treatments/{tid}/delete")
def treatment_delete(pid: int, tid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    return _delete(db, Treatment, tid, patient, "/diary")


# ---- triage -------------------------------------------------------------------------------------

def _answers_from_form(form) -> dict[str, Any]:
    from ..triage.knowledge import load_knowledge

    k = load_knowledge()
    answers: dict[str, Any] = {}
    for q in k.questions.values():
        if q.type == "multi":
            vals = [v for v in form.getlist(q.id) if v]
            if vals:
                answers[q.id] = vals
        else:
            v = str(form.get(q.id) or "").strip()
            if v and v != "unknown":
                answers[q.id] = v
    return answers


def _questions(answers: dict[str, Any]) -> list[dict[str, Any]]:
    from ..triage.engine import applicable
    from ..triage.knowledge import load_knowledge

    k = load_knowledge()
    return [{"q": q, "value": answers.get(q.id)} for q in k.questions.values() if applicable(q, answers, k)]


def _video_findings(db: Session, patient: User) -> dict[str, Any] | None:
    """The latest analysed twitch recording and exam, as triage findings."""
    out: dict[str, Any] = {}
    for kind, key in (("twitch", "twitch"), ("exam", "exam")):
        rec = db.scalar(select(Recording).where(Recording.owner_id == patient.id, Recording.kind == kind,
                                                Recording.status == "done")
                        .order_by(Recording.recorded_at.desc()).limit(1))
        if rec and rec.results_path and (Path(rec.results_path) / "summary.json").is_file():
            summary = json.loads((Path(rec.results_path) / "summary.json").read_text())
            if key in summary:
                out[key] = summary[key]
    return out or None


@router.get("/p/{pid}/triage")
def triage_form(request: Request, pid: int, user: User = Depends(current_user), patient: User = Depends(_patient),
                db: Session = Depends(get_db)):
    past = db.scalars(select(TriageRecord).where(TriageRecord.owner_id == patient.id)
                      .order_by(TriageRecord.created_at.desc())).all()
    return render(request, "triage.html", {"patient": patient, "questions": _questions({}), "past": past,
                                           "findings": _video_findings(db, patient) is not None}, user=user)


@router.post("/p/{pid}/triage")
async def triage_submit(request: Request, pid: int, user: User = Depends(current_user),
                        patient: User = Depends(_patient), db: Session = Depends(get_db)):
    from ..triage import triage

    f = await request.form()
    answers = _answers_from_form(f)
    findings = _video_findings(db, patient)
    try:
        result = triage(answers, findings)
    except InputError as err:
        return render(request, "triage.html", {"patient": patient, "questions": _questions({}), "past": [],
                                               "error": str(err)}, user=user, status=400)
    if f.get("action") == "more":  # show the questions that now apply, keep the answers
        return render(request, "triage.html", {"patient": patient, "questions": _questions(result["answers"]),
                                               "past": [], "findings": findings is not None}, user=user)
    rec = TriageRecord(owner_id=patient.id, answers=result["answers"], result=json.loads(json.dumps(result, default=str)),
                       urgency=result["urgency"])
    db.add(rec)
    db.commit()
    return _back(pid, f"/triage/{rec.id}")


@router.get("/p/{pid}/triage/{tid}")
def triage_result(request: Request, pid: int, tid: int, user: User = Depends(current_user),
                  patient: User = Depends(_patient), db: Session = Depends(get_db)):
    rec = owned(db, TriageRecord, tid, patient)
    return render(request, "triage_result.html", {"patient": patient, "rec": rec, "r": rec.result}, user=user)


@router.post("/p/{pid}/triage/{tid}/delete")
def triage_delete(pid: int, tid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    return _delete(db, TriageRecord, tid, patient, "/triage")


# ---- reports --------------------------------------------------------------------------------------

@router.get("/p/{pid}/report.html")
def report_html(pid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    return HTMLResponse(html_report(patient, patient_data(db, patient)), headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/p/{pid}/report.pdf")
def report_pdf(pid: int, patient: User = Depends(_patient), db: Session = Depends(get_db)):
    name = f"facenerve-report-{dt.date.today().isoformat()}.pdf"
    return Response(pdf_report(patient, patient_data(db, patient)), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
