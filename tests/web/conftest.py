"""Web app fixtures: the same API tests run on a fresh SQLite file and, when
FACENERVE_TEST_PG_URL names a PostgreSQL server (``.ci/run`` installs and starts one), on a
fresh PostgreSQL database. FACENERVE_REQUIRE_PG=1 turns a missing server into a failure."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("FACENERVE_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_URL:
        if os.environ.get("FACENERVE_REQUIRE_PG"):
            pytest.fail("FACENERVE_TEST_PG_URL is not set but FACENERVE_REQUIRE_PG=1")
        pytest.skip("no PostgreSQL server: set FACENERVE_TEST_PG_URL (bash .ci/run starts one)")
    from sqlalchemy import create_engine, text

    name = f"fn_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield re.sub(r"/[^/]*$", f"/{name}", PG_URL)
    # an autovacuum worker may be visiting the new database, and only a superuser may end it:
    # try again while it finishes (a database left behind on a test server is harmless)
    from sqlalchemy.exc import DBAPIError

    for attempt in range(10):
        try:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            break
        except DBAPIError:
            time.sleep(0.5 * (attempt + 1))
    admin.dispose()


def make_app(database_url: str, data_dir: Path, workers: int = 0, **kw):
    from facenerve.web.app import create_app
    from facenerve.web.config import WebConfig

    kw.setdefault("allowed_hosts", ["testserver", "127.0.0.1", "localhost"])  # TestClient's host
    return create_app(WebConfig(data_dir=data_dir, database_url=database_url, workers=workers, **kw))


class Browser:
    """A TestClient with a user's cookies and the CSRF token they were given."""

    def __init__(self, app) -> None:
        from fastapi.testclient import TestClient

        self.client = TestClient(app, follow_redirects=False)
        self.client.get("/login")

    @property
    def csrf(self) -> str:
        """The token a page of this session carries (bound to the login session)."""
        page = self.client.get("/login").text
        return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf"] = self.csrf
        return self.client.post(url, data=data, **kw)

    def register(self, email: str, name: str = "Test", password: str = "correct horse battery") -> int:
        """Register and log in; the patient's id (-1 for other roles)."""
        r = self.post("/register", {"name": name, "email": email, "password": password, "password2": password})
        assert r.status_code == 303 and r.headers["location"] == "/login?registered=1", r.text
        r = self.login(email, password)
        assert r.status_code == 303, r.text
        return int(r.headers["location"].split("/")[-1]) if r.headers["location"].startswith("/p/") else -1

    def login(self, email: str, password: str = "correct horse battery"):
        return self.post("/login", {"email": email, "password": password})


def invite(clinician: Browser, email: str) -> str:
    """A clinician invites a patient; returns the one-time code shown to the clinician."""
    r = clinician.post("/clinic/invite", {"email": email})
    assert r.status_code == 200, r.text
    return re.search(r'<strong class="big">([A-Z0-9-]+)</strong>', r.text).group(1)


@pytest.fixture
def app(database_url, tmp_path):
    return make_app(database_url, tmp_path / "data")


@pytest.fixture
def browser(app):
    def new() -> Browser:
        return Browser(app)

    return new


def set_role(app, email: str, role: str) -> int:
    from sqlalchemy import select

    from facenerve.web.models import User

    with app.state.sessions() as db:
        u = db.scalar(select(User).where(User.email == email))
        u.role = role
        db.commit()
        return u.id
