"""The audit trail: logins and their failures, every change of data and every refusal, with
who, when and from where. Entries name actions and ids (the URL's route), never health data.

Shape contract
    ``record(db, action, user_id, target, outcome, address)`` adds one ``AuditEvent``.
    ``from_response(request, status)`` records what a finished request did: a change (any
    successful POST), an export (a report or video downloaded) or a refusal (401, 403, 404,
    413, 429), from the request alone.
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


def from_response(request: Request, status: int) -> None:
    """Record a finished request when it changed data or was refused (see the contract)."""
    change = request.method not in ("GET", "HEAD", "OPTIONS") and status < 400
    export = request.method == "GET" and status == 200 and request.url.path.endswith(EXPORTS)
    if not (change or export) and status not in REFUSALS:
        return
    if request.url.path in ("/login", "/register", "/logout") and status < 400:
        return  # the account routes record these themselves, with the user they concern
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', None) or request.url.path}"
    with request.app.state.sessions() as db:
        user = session_user(db, request.cookies.get(SESSION_COOKIE))
        record(db, action, user.id if user else None, request.url.path,
               "ok" if change else "export" if export else REFUSALS[status], address(request))
