"""Who may see whose data. Every data route goes through ``patient_for``: a patient sees
only their own data, a clinician only that of patients who accepted their invitation, an
admin manages accounts but sees no one's health data. Anything else is 404, as if it did
not exist, so ids cannot be probed. Changing data (``can_write``) is the patient's own right;
a clinician has it only when the patient grants it."""

from __future__ import annotations

from typing import TypeVar

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Share, User

T = TypeVar("T")


MAX_ID = 2**63 - 1  # a larger id cannot be in any table (and would overflow the database's integer)


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="not found")


def shared_patients(db: Session, clinician: User) -> list[User]:
    rows = db.scalars(select(Share).where(Share.clinician_id == clinician.id, Share.status == "accepted"))
    return sorted((s.patient for s in rows if s.patient is not None and s.patient.active),
                  key=lambda u: u.name.lower())


def can_see(db: Session, user: User, patient_id: int, write: bool = False) -> bool:
    """May ``user`` see (``write``: also change) this patient's data?"""
    if user.role == "patient":
        return user.id == patient_id
    if user.role == "clinician":
        q = select(Share.id).where(Share.clinician_id == user.id, Share.patient_id == patient_id,
                                   Share.status == "accepted")
        return db.scalar(q.where(Share.can_write.is_(True)) if write else q) is not None
    return False


def can_write(db: Session, user: User, patient_id: int) -> bool:
    return can_see(db, user, patient_id, write=True)


def patient_for(db: Session, user: User, patient_id: int) -> User:
    """The patient whose data ``user`` asks for, or 404."""
    if not 0 < patient_id <= MAX_ID or not can_see(db, user, patient_id):
        raise not_found()
    patient = db.get(User, patient_id)
    if patient is None or patient.role != "patient" or not patient.active:
        raise not_found()
    return patient


def owned(db: Session, model: type[T], item_id: int, patient: User) -> T:
    """A row of ``model`` belonging to ``patient`` (its ``owner_id``), or 404."""
    if not 0 < item_id <= MAX_ID:
        raise not_found()
    item = db.get(model, item_id)
    if item is None or getattr(item, "owner_id", None) != patient.id:
        raise not_found()
    return item
