"""Database tables (SQLAlchemy 2). The schema is created and changed only by the Alembic
migrations in ``migrations/``; ``tests/web`` checks that they match these models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("patient", "clinician", "admin")
RECORDING_KINDS = ("twitch", "exam")
JOB_STATES = ("queued", "running", "done", "failed")
TREATMENTS = {
    "botulinum_toxin": "Botulinum toxin",
    "steroid": "Steroids",
    "antiviral": "Antivirals",
    "surgery": "Surgery (e.g. microvascular decompression)",
    "physiotherapy": "Facial physiotherapy",
    "other": "Other",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="patient")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    keep_video: Mapped[bool] = mapped_column(Boolean, default=True)
    onset_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # of the palsy or spasm
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuthSession(Base):
    __tablename__ = "auth_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # idle timeout
    user: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """Who did what, when, from where: logins and their failures, denials and every change of
    data. It names actions and ids, never health data."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True,
                                                index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(160), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    address: Mapped[str] = mapped_column(String(64), default="")


class Share(Base):
    """A clinician's invitation to a patient (by e-mail); the patient accepts or declines, and
    can revoke it later. Only ``accepted`` shares give access: to read, and to add or delete
    only when the patient grants it (``can_write``)."""

    __tablename__ = "shares"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    patient_email: Mapped[str] = mapped_column(String(254), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|accepted|declined|revoked
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)  # granted by the patient, revocable
    # sha256 of the one-time code the clinician hands the patient (in person, by phone): whoever
    # holds the invited address cannot accept without it
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # when the clinician last opened the patient's overview: what is new since is counted from it
    last_viewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    clinician: Mapped[User] = relationship(foreign_keys=[clinician_id], lazy="joined")
    patient: Mapped[User | None] = relationship(foreign_keys=[patient_id], lazy="joined")


class Recording(Base):
    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # twitch | exam
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | browser | photos
    original_name: Mapped[str] = mapped_column(String(255), default="")
    video_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # None once deleted
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    tasks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    results_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")


class Job(Base):
    """One analysis of a recording, run by a worker outside the web request."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="waiting for a worker")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    recording: Mapped[Recording] = relationship(lazy="joined")


class DiaryEntry(Base):
    __tablename__ = "diary_entries"
    __table_args__ = (UniqueConstraint("owner_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    sleep_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    caffeine_drinks: Mapped[float | None] = mapped_column(Float, nullable=True)
    alcohol_units: Mapped[float | None] = mapped_column(Float, nullable=True)
    stress: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0-10
    twitching: Mapped[int | None] = mapped_column(Integer, nullable=True)  # self-rated 0-10
    notes: Mapped[str] = mapped_column(Text, default="")


class Treatment(Base):
    __tablename__ = "treatments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    dose: Mapped[str] = mapped_column(String(120), default="")  # e.g. "25 U" or "60 mg/day for 5 days"
    muscles: Mapped[str] = mapped_column(String(255), default="")  # toxin: orbicularis oculi, ...
    notes: Mapped[str] = mapped_column(Text, default="")


class TriageRecord(Base):
    __tablename__ = "triage_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    urgency: Mapped[str] = mapped_column(String(16))
