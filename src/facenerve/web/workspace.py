"""A clinician's workspace: per shared patient the latest finding of each kind, its trend since
the clinician last looked, the latest symptom-check urgency and what is new; sorted and filtered.

Shape contract
    ``trend``: analysed recordings of one kind (dicts of ``reports.recordings_of``, oldest
    first) and the time the clinician last looked -> {direction: better|worse|stable|unknown,
    text}. Pure.
    ``clinic_rows``: the database, a clinician and the list's query -> one dict per patient.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import DiaryEntry, Recording, Share, Treatment, TriageRecord, User
from .reports import analysed, recordings_of
from .trends import describe

URGENCY_RANK = {"emergency": 3, "urgent": 2, "routine": 1, "self_care": 0}
SORTS = {"attention": "needs attention first", "recent": "latest activity first", "name": "name"}
FILTERS = {"": "all patients", "new": "with something new", "urgent": "urgent or emergency",
           "worse": "getting worse"}
TWITCH_CHANGE = (1.0, 0.3)  # a change of at least 1 twitch/min and 30 % counts as better or worse
SUNNYBROOK_CHANGE = 10  # points: what ``trends.palsy_course`` counts as improvement or worsening


def _twitch_value(m: dict[str, Any]) -> float:
    return float(m.get("twitches_per_min") or 0.0) if m.get("finding_status") == "spasm" else 0.0


def trend(kind: str, done: list[dict[str, Any]], since: dt.datetime | None) -> dict[str, str]:
    """Better, worse or stable: the latest judged recording against the last one the clinician
    had seen (else the one before it). Recordings with too little to judge do not count."""
    judged = [r for r in done if r["kind"] == kind and describe(kind, r["metrics"])["judged"]]
    if not judged:
        return {"direction": "unknown", "text": "nothing judged yet"}
    latest = judged[-1]
    seen = [r for r in judged[:-1] if since is None or r["at"] <= since]
    if not seen:
        return {"direction": "unknown", "text": "one judged recording so far"}
    base = seen[-1]
    old, new = base["metrics"], latest["metrics"]
    when = f"since {base['day']}"
    if kind == "twitch":
        a, b = _twitch_value(old), _twitch_value(new)
        changed = abs(b - a) >= max(TWITCH_CHANGE[0], TWITCH_CHANGE[1] * a)
        flip = old.get("finding_status") != new.get("finding_status")
        direction = ("worse" if b > a else "better") if (changed or flip) else "stable"
        return {"direction": direction, "text": f"{direction}: {a:.1f} → {b:.1f} twitches/min {when}"}
    ha, hb = old.get("hb_grade"), new.get("hb_grade")
    sa, sb = old.get("sunnybrook"), new.get("sunnybrook")
    if ha is not None and hb is not None and ha != hb:
        direction = "better" if hb < ha else "worse"
    elif sa is not None and sb is not None and abs(sb - sa) >= SUNNYBROOK_CHANGE:
        direction = "better" if sb > sa else "worse"
    else:
        direction = "stable"
    return {"direction": direction,
            "text": f"{direction}: House-Brackmann {old.get('hb_roman')} → {new.get('hb_roman')}, "
                    f"Sunnybrook {sa} → {sb} {when}"}


def new_since(db: Session, patient: User, since: dt.datetime | None) -> dict[str, int]:
    """What the patient added after ``since`` (everything when the clinician never looked)."""
    def count(model, column, value) -> int:
        q = select(func.count()).select_from(model).where(model.owner_id == patient.id)
        return int(db.scalar(q if value is None else q.where(column > value)) or 0)

    day = since.date() if since else None
    out = {"recordings": count(Recording, Recording.recorded_at, since),
           "symptom checks": count(TriageRecord, TriageRecord.created_at, since),
           "diary days": count(DiaryEntry, DiaryEntry.day, day),
           "treatments": count(Treatment, Treatment.day, day)}
    return {k: v for k, v in out.items() if v}


def patient_row(db: Session, share: Share) -> dict[str, Any]:
    p = share.patient
    recs = recordings_of(db, p)
    done = analysed(recs)
    latest = {k: next((r for r in reversed(done) if r["kind"] == k), None) for k in ("twitch", "exam")}
    tri = db.scalar(select(TriageRecord).where(TriageRecord.owner_id == p.id)
                    .order_by(TriageRecord.created_at.desc()).limit(1))
    new = new_since(db, p, share.last_viewed_at)
    trends = {k: trend(k, done, share.last_viewed_at) for k in ("twitch", "exam")}
    activity = max([r["at"] for r in recs] + ([tri.created_at] if tri else []), default=None)
    return {"patient": p, "latest": latest, "trends": trends,
            "urgency": tri.urgency if tri else None, "urgency_label": tri.result.get("urgency_label") if tri else None,
            "triage_at": tri.created_at if tri else None, "triage_id": tri.id if tri else None,
            "new": new, "viewed_at": share.last_viewed_at, "activity": activity,
            "central": bool(latest["exam"] and latest["exam"]["metrics"].get("central_pattern"))}


def _attention(row: dict[str, Any]) -> tuple:
    worse = any(t["direction"] == "worse" for t in row["trends"].values())
    return (URGENCY_RANK.get(row["urgency"] or "", -1) >= 2 or row["central"], worse, bool(row["new"]),
            row["activity"] or dt.datetime.min)


def clinic_rows(db: Session, clinician: User, q: str = "", only: str = "", sort: str = "attention") -> list[dict[str, Any]]:
    shares = db.scalars(select(Share).where(Share.clinician_id == clinician.id, Share.status == "accepted"))
    rows = [patient_row(db, s) for s in shares if s.patient is not None and s.patient.active]
    q = q.strip().lower()
    if q:
        rows = [r for r in rows if q in r["patient"].name.lower() or q in r["patient"].email.lower()]
    if only == "new":
        rows = [r for r in rows if r["new"]]
    elif only == "urgent":
        rows = [r for r in rows if URGENCY_RANK.get(r["urgency"] or "", -1) >= 2 or r["central"]]
    elif only == "worse":
        rows = [r for r in rows if any(t["direction"] == "worse" for t in r["trends"].values())]
    if sort == "name":
        return sorted(rows, key=lambda r: r["patient"].name.lower())
    if sort == "recent":
        return sorted(rows, key=lambda r: r["activity"] or dt.datetime.min, reverse=True)
    return sorted(rows, key=_attention, reverse=True)


def mark_viewed(db: Session, clinician: User, patient: User, now: dt.datetime) -> dt.datetime | None:
    """The clinician opens the patient: returns when they last looked, and remembers now."""
    share = db.scalar(select(Share).where(Share.clinician_id == clinician.id, Share.patient_id == patient.id,
                                          Share.status == "accepted"))
    if share is None:
        return None
    before = share.last_viewed_at
    share.last_viewed_at = now
    db.commit()
    return before
