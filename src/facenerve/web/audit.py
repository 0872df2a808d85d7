"""The audit trail: logins and their failures, every change of data and every refusal, with
who, when and from where. Entries name actions and ids (the URL's route), never health data.

Shape contract
    ``record(db, action, user_id, target, outcome, address)`` adds one ``AuditEvent``.
    ``outcome(request, status)`` says what a finished request did, if anything worth a line:
    a change (any successful POST), an export (a report or video downloaded) or a refusal
    (401, 403, 404, 413, 429); ``from_response(request, outcome)`` records it.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from .models import AuditEvent
from .security import SESSION_COOKIE, session_user

REFUSALS = {401: "refused", 403: "refused", 404: "not-found", 413: "too-large", 429: "rate-limited"}
EXPORTS = ("/report", "/report.html", "/report.pdf", "/video")  # health data leaving the app


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def record(db: Session, action: str, user_id: int | None, target: str = "", outcome: str = "ok",
           where: str = "") -> None:
    db.add(AuditEvent(action=action[:40], user_id=user_id, target=target[:160], outcome=outcome[:16],
                      address=where[:64]))
    db.commit()


def outcome(request: Request, status: int) -> str | None:
    """What a finished request is for the trail (``ok`` a change, ``export``, or a refusal),
    or None when there is nothing to record; cheap, from the request alone."""
    if request.url.path in ("/login", "/register", "/logout") and status < 400:
        return None  # the account routes record these themselves, with the user they concern
    if request.method not in ("GET", "HEAD", "OPTIONS") and status < 400:
        return "ok"
    if request.method == "GET" and status == 200 and request.url.path.endswith(EXPORTS):
        return "export"
    return REFUSALS.get(status)


def from_response(request: Request, what: str) -> None:
    """Record a finished request (``outcome``): its route, path, user and address. The user is
    the one the request's own login check found, else it is looked up."""
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', None) or request.url.path}"
    with request.app.state.sessions() as db:
        user_id = getattr(request.state, "user_id", None)
        if user_id is None:
            user = session_user(db, request.cookies.get(SESSION_COOKIE))
            user_id = user.id if user else None
        record(db, action, user_id, request.url.path, what, address(request))
