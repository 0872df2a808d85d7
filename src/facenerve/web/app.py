"""The FastAPI application: factory, request plumbing (database session, current user, CSRF,
security headers, error pages). The routes live in ``routes_account`` and ``routes_patient``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.middleware.base import BaseHTTPMiddleware

from .. import __version__
from .config import WebConfig
from .db import make_engine, migrate, session_factory
from .jobs import Workers
from .models import User
from .security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    LoginLimiter,
    csrf_ok,
    new_csrf_token,
    session_user,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
log = logging.getLogger("facenerve.web")

CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class LoginRequired(Exception):
    pass


class SecurityHeaders(BaseHTTPMiddleware):
    """Headers on every answer, a CSRF cookie for every visitor, and the upload size limit."""

    async def dispatch(self, request: Request, call_next):
        limit = request.app.state.config.max_upload_mb * 1024 * 1024
        length = request.headers.get("content-length")
        if request.method == "POST" and length and length.isdigit() and int(length) > limit + 1024 * 1024:
            return _error_response(request, 413, f"the file is larger than the {request.app.state.config.max_upload_mb} MB "
                                   "limit; trim the video or record a shorter one")
        token = request.cookies.get(CSRF_COOKIE)
        if not token:
            token = new_csrf_token()
            request.state.new_csrf = token
        request.state.csrf = token
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
        response.headers.setdefault("Cache-Control", "no-store")
        if getattr(request.state, "new_csrf", None):
            response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                                secure=request.app.state.config.secure_cookies, path="/")
        return response


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


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.startswith("/api/")


def _error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    csrf = getattr(request.state, "csrf", "")
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message,
                                                              "user": None, "csrf": csrf},
                                      status_code=status)


def create_app(config: WebConfig | None = None, start_workers: bool = True) -> FastAPI:
    config = config or WebConfig()
    config.prepare()
    engine = make_engine(config.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    workers = Workers(config, sessions, config.workers if start_workers else 0)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        workers.start()
        yield
        workers.stop()
        engine.dispose()

    app = FastAPI(title="facenerve", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.config, app.state.engine, app.state.sessions = config, engine, sessions
    app.state.workers = workers
    app.state.limiter = LoginLimiter(config.login_attempts)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if _wants_json(request) or request.method != "GET":
            return JSONResponse({"error": "log in first"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        msg = exc.detail if isinstance(exc.detail, str) else "the request could not be served"
        if exc.status_code == 404:
            msg = "not found: it does not exist, or it is not yours to see"
        return _error_response(request, exc.status_code, msg)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errs = exc.errors()
        field = ".".join(str(x) for x in errs[0].get("loc", [])[1:]) if errs else ""
        return _error_response(request, 400, f"the field '{field}' is missing or not valid: "
                               f"{errs[0].get('msg', '') if errs else ''}")

    from .routes_account import router as account
    from .routes_patient import router as patient

    app.include_router(account)
    app.include_router(patient)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
