"""The FastAPI application: factory, security headers and error pages. Request plumbing
(database session, current user, CSRF) is in ``deps``; the routes live in ``routes_account``
and ``routes_patient``."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import __version__
from . import audit
from .config import WebConfig
from .db import make_engine, migrate, session_factory
from .deps import HERE, LoginRequired, csrf_valid, same_origin, templates
from .jobs import Workers
from .security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    LoginLimiter,
    csrf_binding,
    csrf_token,
    digest,
    load_secret,
    new_browser_id,
    session_user,
)

log = logging.getLogger("facenerve.web")

CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin",
                    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()"}


class SecurityHeaders(BaseHTTPMiddleware):
    """Headers on every answer, and the page's CSRF token (bound to the session, or to the
    browser's id cookie before login)."""

    async def dispatch(self, request: Request, call_next):
        browser = request.cookies.get(CSRF_COOKIE)
        if not browser:
            browser = request.state.new_browser = new_browser_id()
        request.state.csrf = csrf_token(request.app.state.secret,
                                        csrf_binding(request.cookies.get(SESSION_COOKIE), browser))
        response = await call_next(request)
        what = audit.outcome(request, response.status_code)
        if what is not None:  # most requests record nothing: no database work for them
            await run_in_threadpool(audit.from_response, request, what)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
        if getattr(request.state, "new_browser", None):
            response.set_cookie(CSRF_COOKIE, browser, httponly=True, samesite="strict",
                                secure=request.app.state.config.secure_cookies, path="/")
        return response


class _TooLarge(Exception):
    pass


MAX_FORM_BYTES = 1024 * 1024  # bodies other than uploads
MAX_UPLOADS_PER_USER = 2  # uploads of one login at once


class BodyGuard:
    """Before a request body is read: uploads (multipart) need a logged-in user, a CSRF token
    in the URL or a header, and a free upload slot; every body's size is counted as it streams
    in (chunked bodies too) and cut off with 413 past the limit."""

    def __init__(self, app) -> None:
        self.app = app
        self.uploads: dict[str, int] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        config = request.app.state.config
        upload = request.headers.get("content-type", "").startswith("multipart/")
        limit = (config.max_upload_mb * 1024 * 1024 + MAX_FORM_BYTES) if upload else MAX_FORM_BYTES
        too_large = (f"the file is larger than the {config.max_upload_mb} MB limit; trim the video or "
                     "record a shorter one") if upload else "the form is too large"
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _error_response(request, 413, too_large)(scope, receive, send)
            return
        slot = None
        if upload:
            refused = await run_in_threadpool(_upload_refused, request)
            if refused:
                await _error_response(request, *refused)(scope, receive, send)
                return
            slot = digest(request.cookies.get(SESSION_COOKIE, ""))
            if self.uploads.get(slot, 0) >= MAX_UPLOADS_PER_USER:
                await _error_response(request, 429, "another upload is still running; wait for it to "
                                      "finish")(scope, receive, send)
                return
            self.uploads[slot] = self.uploads.get(slot, 0) + 1
        received, started, over = 0, False, False

        async def counted():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _TooLarge
            return message

        async def watched(message):
            nonlocal started
            if over and not started:
                return  # the app's answer to a body cut off (FastAPI makes it a 400): replaced
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            pass
        finally:
            if slot is not None:
                self.uploads[slot] -= 1
                if not self.uploads[slot]:
                    del self.uploads[slot]
        if over and not started:
            await _error_response(request, 413, too_large)(scope, receive, send)


def _upload_refused(request: Request) -> tuple[int, str] | None:
    """Why an upload is refused before its body is read, or None."""
    with request.app.state.sessions() as db:
        if session_user(db, request.cookies.get(SESSION_COOKIE), request.app.state.config.idle_minutes) is None:
            return 401, "log in first, then upload again"
    if not same_origin(request):
        return 403, "the upload came from another site; open facenerve and try again"
    if not csrf_valid(request, request.headers.get("x-csrf-token") or request.query_params.get("csrf")):
        return 403, "the page has expired; reload it and upload again"
    return None


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.startswith("/api/")


def _page_user(request: Request):
    """The logged-in user, for the navigation of an error page (None when not logged in or
    when the database cannot be read: an error page must not fail in turn)."""
    try:
        with request.app.state.sessions() as db:
            user = session_user(db, request.cookies.get(SESSION_COOKIE), request.app.state.config.idle_minutes)
            if user is not None:
                db.expunge(user)
            return user
    except Exception:  # noqa: BLE001
        return None


def _error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    csrf = getattr(request.state, "csrf", "")
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message,
                                                              "user": _page_user(request), "csrf": csrf},
                                      status_code=status)


def _back_to_form(request: Request) -> str:
    """Where to return after logging in again: the page the refused form was on (its Referer,
    when it is this site's), else the form's own address."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    referer = request.headers.get("referer") or ""
    if referer.startswith(own + "/"):
        return referer[len(own):]
    return request.url.path


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
    app.state.secret = load_secret(config.data_dir)
    app.add_middleware(BodyGuard)
    app.add_middleware(SecurityHeaders)  # its headers are on BodyGuard's answers too
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=config.allowed_hosts)  # outermost
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        """A page asks to log in and comes back. A form sent after the session ended goes back,
        after login, to the page it came from, where the browser restores the draft it kept
        (``app.js``); a script gets 401."""
        if _wants_json(request) or request.method not in ("GET", "POST"):
            return JSONResponse({"error": "log in first"}, status_code=401)
        target = request.url.path if request.method == "GET" else _back_to_form(request)
        return RedirectResponse(f"/login?{urlencode({'next': target, 'expired': int(request.method == 'POST')})}",
                                status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        msg = exc.detail if isinstance(exc.detail, str) else "the request could not be served"
        if exc.status_code == 404:
            msg = "not found: it does not exist, or it is not yours to see"
        return _error_response(request, exc.status_code, msg)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        """A bug: logged with its traceback, answered with a plain 500 page that keeps the
        security headers (this handler runs outside the middleware that adds them)."""
        log.exception("internal error on %s %s", request.method, request.url.path)
        response = _error_response(request, 500, "something went wrong on our side; it has been "
                                   "logged. Try again, and tell the administrator if it repeats")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = CSP
        return response

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
