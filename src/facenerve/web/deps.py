"""Request plumbing the routes share: templates, the database session, the current user,
the CSRF check and page rendering. The app factory (``app``) and the routes import from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from .. import __version__
from .models import User
from .security import CSRF_COOKIE, SESSION_COOKIE, csrf_ok, session_user

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__

class LoginRequired(Exception):
    pass


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as db:
        yield db


def optional_user(request: Request, db: Session = Depends(get_db)) -> User | None:
    return session_user(db, request.cookies.get(SESSION_COOKIE))


def current_user(user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise LoginRequired()
    return user


async def csrf_protect(request: Request) -> None:
    """Every state-changing request carries the CSRF token: a form field or X-CSRF-Token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    submitted = request.headers.get("x-csrf-token")
    if not submitted:
        try:
            submitted = (await request.form()).get("csrf")
        except Exception:  # noqa: BLE001 - an unreadable body is a bad request, said once
            raise HTTPException(400, "the form could not be read; reload the page and try again") from None
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), submitted if isinstance(submitted, str) else None):
        raise HTTPException(403, "the form has expired or came from another site; reload the page and try again")


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200,
           user: User | None = None) -> Response:
    ctx = {"user": user, "csrf": request.state.csrf, **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status)
