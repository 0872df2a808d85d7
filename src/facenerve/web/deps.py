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
from .reports import num
from .security import CSRF_COOKIE, SESSION_COOKIE, csrf_binding, csrf_ok, session_user
from .trends import MIN_DAYS_FOR_ASSOCIATION, describe

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__


templates.env.filters["num"] = num
templates.env.globals["describe"] = describe
templates.env.globals["min_days"] = MIN_DAYS_FOR_ASSOCIATION

class LoginRequired(Exception):
    pass


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as db:
        yield db


def optional_user(request: Request, db: Session = Depends(get_db)) -> User | None:
    user = session_user(db, request.cookies.get(SESSION_COOKIE), request.app.state.config.idle_minutes)
    request.state.user_id = user.id if user else None  # for the audit trail, without a second lookup
    return user


def current_user(user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise LoginRequired()
    return user


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another origin (Origin, else
    Referer): a defence beside the token. Requests that name no origin pass (not a browser)."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer")
    return referer is None or referer == own or referer.startswith(own + "/")


def csrf_valid(request: Request, submitted: str | None) -> bool:
    binding = csrf_binding(request.cookies.get(SESSION_COOKIE), request.cookies.get(CSRF_COOKIE))
    return csrf_ok(request.app.state.secret, binding, submitted)


async def csrf_protect(request: Request) -> None:
    """Every state-changing request comes from this site's pages (Origin or Referer) and
    carries a CSRF token bound to its session: X-CSRF-Token, ``?csrf=`` or a form field."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if not same_origin(request):
        raise HTTPException(403, "the form came from another site; open facenerve and try again")
    submitted = request.headers.get("x-csrf-token") or request.query_params.get("csrf")
    if not submitted:
        try:
            submitted = (await request.form()).get("csrf")
        except Exception:  # noqa: BLE001 - an unreadable body is a bad request, said once
            raise HTTPException(400, "the form could not be read; reload the page and try again") from None
    if not csrf_valid(request, submitted if isinstance(submitted, str) else None):
        raise HTTPException(403, "the form has expired or came from another site; reload the page and try again")


# what a form's redirect may confirm (``?saved=KEY``): fixed words, nothing from the address
SAVED = {"day": "The day is saved.", "treatment": "The treatment is added.", "deleted": "Deleted.",
         "settings": "Your settings are saved.", "password": "Your password is changed.",
         "grant": "The right to add and delete is changed.", "shared": "Sharing is changed."}


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200,
           user: User | None = None) -> Response:
    ctx = {"user": user, "csrf": request.state.csrf, "can_write": getattr(request.state, "can_write", True),
           "saved": SAVED.get(request.query_params.get("saved", "")), "values": {}, "errors": {},
           **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status)
