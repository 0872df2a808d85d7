"""The FastAPI application: factory, security headers and error pages. Request plumbing
(database session, current user, CSRF) is in ``deps``; the routes live in ``routes_account``
and ``routes_patient``."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware

from .. import __version__
from .config import WebConfig
from .db import make_engine, migrate, session_factory
from .deps import HERE, LoginRequired, templates
from .jobs import Workers
from .security import CSRF_COOKIE, LoginLimiter, new_csrf_token

log = logging.getLogger("facenerve.web")

CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


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
