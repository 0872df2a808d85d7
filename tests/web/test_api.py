"""Accounts, CSRF, rate limit, form and upload checks, sharing and reports, on SQLite and on
PostgreSQL (see conftest)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from facenerve.web.models import DiaryEntry, Recording, TriageRecord, User

from .conftest import invite, make_app, set_role


def _count(app, model) -> int:
    with app.state.sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_register_login_logout_and_cookies(app, browser):
    b = browser()
    pid = b.register("ann@example.org", "Ann")
    cookie = b.client.cookies.jar
    session = next(c for c in cookie if c.name == "fn_session")
    assert session.has_nonstandard_attr("HttpOnly")
    r = b.get(f"/p/{pid}")
    assert r.status_code == 200 and "Ann" in r.text
    with app.state.sessions() as db:
        assert db.scalar(select(User.password_hash)).startswith("$argon2id$")
    assert b.post("/logout").status_code == 303
    r = b.get(f"/p/{pid}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert b.login("ann@example.org", "wrong password!").status_code == 401
    r = b.login("ann@example.org")
    assert r.status_code == 303 and r.headers["location"] == f"/p/{pid}"
    set_cookie = r.headers.get_list("set-cookie")
    assert any("fn_session" in c and "HttpOnly" in c and "SameSite=lax" in c for c in set_cookie)


def test_every_form_needs_the_csrf_token(app, browser):
    b = browser()
    pid = b.register("ann@example.org")
    day = {"day": "2026-01-05", "sleep_hours": "7"}
    assert b.post(f"/p/{pid}/diary", day, csrf=False).status_code == 403
    assert b.post(f"/p/{pid}/diary", {**day, "csrf": "forged"}, csrf=False).status_code == 403
    assert b.post("/logout", csrf=False).status_code == 403
    assert _count(app, DiaryEntry) == 0
    assert b.post(f"/p/{pid}/diary", day).status_code == 303
    assert _count(app, DiaryEntry) == 1


def test_login_attempts_are_rate_limited(app, browser):
    b = browser()
    b.register("ann@example.org")
    b.post("/logout")
    codes = [b.login("ann@example.org", f"wrong password {i}").status_code for i in range(5)]
    assert codes == [401] * 5
    r = b.login("ann@example.org")  # the right password, but too many failures
    assert r.status_code == 429 and "too many failed attempts" in r.text
    assert int(r.headers["retry-after"]) >= 1  # says when to try again
    other = browser()
    other.register("bob@example.org")
    other.post("/logout")
    assert other.login("bob@example.org").status_code == 303  # another account is not locked


def test_bad_form_fields_get_one_clear_message_and_store_nothing(app, browser):
    b = browser()
    r = b.post("/register", {"name": "A", "email": "not-an-email", "password": "x" * 12, "password2": "x" * 12})
    assert r.status_code == 400 and "valid e-mail" in r.text
    r = b.post("/register", {"name": "A", "email": "a@example.org", "password": "short", "password2": "short"})
    assert r.status_code == 400 and "at least 10 characters" in r.text
    pid = b.register("ann@example.org")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    for fields, message in [({"day": "2026-01-05", "stress": "11"}, "Stress must be a whole number between 0 and 10"),
                            ({"day": "2026-01-05", "sleep_hours": "lots"}, "Sleep must be a number"),
                            ({"day": future}, "cannot be in the future"),
                            ({"day": "05/01/2026"}, "must be a date like")]:
        r = b.post(f"/p/{pid}/diary", fields)
        assert r.status_code == 400 and message in r.text, (fields, r.text[:300])
    r = b.post(f"/p/{pid}/treatments", {"kind": "snake_oil", "day": "2026-01-05"})
    assert r.status_code == 400 and "Treatment must be one of" in r.text
    assert _count(app, DiaryEntry) == 0


def test_uploads_are_checked_and_nothing_is_kept_on_failure(database_url, tmp_path, browser, tiny_videos):
    app = make_app(database_url, tmp_path / "data", max_upload_mb=1)
    b = type(browser())(app)
    pid = b.register("ann@example.org")

    def up(name: str, content: bytes, ctype: str, kind: str = "twitch"):
        return b.client.post(f"/p/{pid}/recordings", params={"csrf": b.csrf}, data={"csrf": b.csrf, "kind": kind},
                             files={"file": (name, content, ctype)})

    r = up("notes.txt", b"hello", "text/plain")
    assert r.status_code == 415 and "not a video" in r.text
    r = up("fake.mp4", b"this is text, not a video\n" * 10, "video/mp4")
    assert r.status_code == 400 and "fake.mp4" in r.text and "traceback" not in r.text.lower()
    r = up("big.mp4", b"\0" * (2 << 20), "video/mp4")
    assert r.status_code == 413 and "1 MB limit" in r.text
    r = up("clip.mp4", (tiny_videos / "truncated.mp4").read_bytes(), "video/mp4")
    assert r.status_code == 400
    good = (tiny_videos / "noface.mp4").read_bytes()
    r = b.client.post(f"/p/{pid}/recordings", params={"csrf": b.csrf}, data={"csrf": b.csrf, "kind": "exam", "tasks": '{"tasks": [{"task": "smile", "start_s": 3, "end_s": 1}]}'},
                      files={"file": ("exam.mp4", good, "video/mp4")})
    assert r.status_code == 400 and "must end after it starts" in r.text
    r = up("clip.mp4", good, "video/mp4", kind="nonsense")
    assert r.status_code == 400 and "Kind must be one of" in r.text
    assert _count(app, Recording) == 0
    assert not any((tmp_path / "data" / "media").rglob("*.*"))
    r = b.client.post(f"/p/{pid}/recordings", params={"csrf": b.csrf}, data={"csrf": b.csrf, "kind": "twitch"},
                      files={"file": ("clip.mp4", good, "video/mp4")}, headers={"Accept": "application/json"})
    assert r.status_code == 201
    status = b.get(r.json()["url"] + "/status").json()
    assert status["status"] == "queued" and status["message"] == "waiting for a worker"


def test_clinician_sees_a_patient_only_after_the_patient_accepts(app, browser):
    pat, doc = browser(), browser()
    pid = pat.register("ann@example.org", "Ann")
    doc.register("doc@example.org", "Dr Who")
    set_role(app, "doc@example.org", "clinician")
    assert doc.get("/clinic").status_code == 200
    assert doc.get(f"/p/{pid}").status_code == 404
    code = invite(doc, "ann@example.org")
    assert doc.get(f"/p/{pid}").status_code == 404  # invited, not yet accepted
    page = pat.get("/sharing").text
    assert "Dr Who" in page and "pending" in page
    share_id = int(page.split("/sharing/")[1].split("/")[0])
    assert pat.post(f"/sharing/{share_id}/accept", {"code": code}).status_code == 303
    assert doc.get(f"/p/{pid}").status_code == 200
    assert "Ann" in doc.get("/clinic").text
    assert pat.post(f"/sharing/{share_id}/revoke").status_code == 303
    assert doc.get(f"/p/{pid}").status_code == 404
    assert pat.post(f"/sharing/{share_id}/accept", {"code": code}).status_code == 400  # revoked stays revoked


def test_admin_manages_accounts_but_sees_no_health_data(app, browser):
    adm, pat = browser(), browser()
    adm.register("root@example.org")
    admin_id = set_role(app, "root@example.org", "admin")
    pid = pat.register("ann@example.org")
    assert "ann@example.org" in adm.get("/admin").text
    assert adm.get(f"/p/{pid}").status_code == 404
    assert pat.get("/admin").status_code == 404
    assert adm.post(f"/admin/users/{pid}", {"role": "clinician", "active": "on"}).status_code == 303
    assert pat.get("/clinic").status_code == 200
    assert adm.post(f"/admin/users/{pid}", {"role": "wizard"}).status_code == 400
    assert adm.post(f"/admin/users/{admin_id}", {"role": "patient", "active": "on"}).status_code == 400


def test_diary_treatments_triage_and_reports(app, browser):
    b = browser()
    pid = b.register("ann@example.org", "Ann")
    assert b.post(f"/p/{pid}/diary", {"day": "2026-01-05", "sleep_hours": "5", "caffeine_drinks": "4",
                                      "stress": "8", "twitching": "6", "notes": "bad day"}).status_code == 303
    assert b.post(f"/p/{pid}/diary", {"day": "2026-01-05", "sleep_hours": "6"}).status_code == 303  # replaces
    assert b.post(f"/p/{pid}/treatments", {"kind": "botulinum_toxin", "day": "2026-01-10", "dose": "20 U",
                                           "muscles": "orbicularis oculi"}).status_code == 303
    page = b.get(f"/p/{pid}/diary").text
    assert "orbicularis oculi" in page and "bad day" not in page
    r = b.post(f"/p/{pid}/triage", {"complaints": ["weakness", "numbness"], "onset": "minutes",
                                    "hours_since_onset": "1", "side": "left", "other_symptoms": ["arm_or_leg_weakness"],
                                    "action": "result"})
    assert r.status_code == 303, r.text[:500]
    result = b.get(r.headers["location"])
    assert result.status_code == 200
    with app.state.sessions() as db:
        assert db.scalar(select(TriageRecord.urgency)) == "emergency"
    more = b.post(f"/p/{pid}/triage", {"complaints": ["twitching"], "action": "more"})
    assert "Where does it twitch?" in more.text
    html = b.get(f"/p/{pid}/report.html").text
    assert "20 U" in html and "Symptom check" in html
    pdf = b.get(f"/p/{pid}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 2000


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from facenerve.web.models import Base

    with app.state.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_cli_creates_the_first_admin_and_reports_a_bad_database_in_one_line(tmp_path, monkeypatch, capsys):
    from facenerve.cli import main

    monkeypatch.setenv("FACENERVE_PASSWORD", "a long admin password")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["user", "root@example.org", "--role", "admin", "--data-dir", str(tmp_path), "--database-url", url]) == 0
    app = make_app(url, tmp_path)
    with app.state.sessions() as db:
        assert db.scalar(select(User.role).where(User.email == "root@example.org")) == "admin"
    # naming an existing account without --role leaves its role alone (never a silent demotion)
    assert main(["user", "root@example.org", "--data-dir", str(tmp_path), "--database-url", url]) == 0
    with app.state.sessions() as db:
        assert db.scalar(select(User.role).where(User.email == "root@example.org")) == "admin"
    code = main(["user", "x@example.org", "--data-dir", str(tmp_path), "--database-url", "mysql://nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "--database-url must be" in err[0]
    code = main(["user", "x@example.org", "--data-dir", str(tmp_path),
                 "--database-url", "postgresql+psycopg://nobody:x@127.0.0.1:1/none"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "could not open or upgrade the database" in err[0]


def test_ids_out_of_range_are_not_found_never_a_server_error(app, browser):
    b = browser()
    pid = b.register("ann@example.org", "Ann")
    for path in (f"/p/{pid}/recordings/9223372036854775808", f"/p/{pid}/recordings/{10**30}",
                 f"/p/{pid}/triage/9223372036854775808", "/p/9223372036854775808",
                 f"/p/{pid}/recordings/0", f"/p/{pid}/recordings/-1"):
        assert b.get(path).status_code == 404, path


def test_the_query_string_cannot_put_words_in_the_page(app, browser):
    b = browser()
    pid = b.register("ann@example.org", "Ann")
    r = b.get(f"/p/{pid}/diary?error=Your+account+is+locked.+Call+555-0100")
    assert r.status_code == 200 and "555-0100" not in r.text


def test_a_stored_video_is_served_as_a_video_whatever_its_uploaded_name(database_url, tmp_path, browser, tiny_videos):
    """A file named page.html that is a real video: kept under a generated name and served
    back only with its video type, as a download."""
    app = make_app(database_url, tmp_path / "data")
    b = type(browser())(app)
    pid = b.register("ann@example.org")
    r = b.client.post(f"/p/{pid}/recordings", params={"csrf": b.csrf}, data={"csrf": b.csrf, "kind": "twitch"},
                      files={"file": ("page.html", (tiny_videos / "noface.mp4").read_bytes(), "video/mp4")},
                      headers={"Accept": "application/json"})
    assert r.status_code == 201
    v = b.get(r.json()["url"] + "/video")
    assert v.status_code == 200 and v.headers["content-type"] == "video/mp4"  # what the file is
    assert v.headers["content-disposition"].startswith("attachment") and ".html" not in v.headers["content-disposition"]


def test_error_pages_keep_the_layout_and_expired_forms_return_to_their_page(browser):
    """An unknown address is an HTML page with the navigation (JSON only for scripts); a form
    sent after the session ended leads to the login page and back to the form's page."""
    from sqlalchemy import delete

    from facenerve.web.models import AuthSession

    b = browser()
    pid = b.register("ann@example.org")
    page = b.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert '<nav id="nav"' in page.text and f'href="/p/{pid}/diary"' in page.text
    assert b.get("/no/such/page", headers={"Accept": "application/json"}).json() == {
        "error": "not found: it does not exist, or it is not yours to see"}
    token = b.csrf
    with b.client.app.state.sessions() as db:
        db.execute(delete(AuthSession))
        db.commit()
    r = b.client.post(f"/p/{pid}/diary", data={"csrf": token, "day": "2026-11-01", "notes": "kept"},
                      headers={"Referer": f"http://testserver/p/{pid}/diary"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=%2Fp%2F{pid}%2Fdiary&expired=1"
    assert "Your session ended" in b.get(r.headers["location"]).text


def test_a_refused_diary_day_keeps_every_value_and_says_what_is_wrong_at_the_field(browser):
    b = browser()
    pid = b.register("ann@example.org")
    r = b.post(f"/p/{pid}/diary", {"day": "2026-11-01", "sleep_hours": "30", "stress": "11",
                                   "caffeine_drinks": "2", "notes": "a long day"})
    assert r.status_code == 400
    assert 'id="day-sleep_hours-error">Sleep must be a number between 0 and 24' in r.text
    assert 'id="day-stress-error">Stress must be a whole number between 0 and 10' in r.text
    for value in ('value="30"', 'value="11"', 'value="2"', ">a long day</textarea>", 'value="2026-11-01"'):
        assert value in r.text, value
    assert "2 fields to correct" in r.text
    ok = b.post(f"/p/{pid}/diary", {"day": "2026-11-01", "sleep_hours": "6.0", "caffeine_drinks": "2"})
    assert ok.status_code == 303 and ok.headers["location"] == f"/p/{pid}/diary?saved=day"
    page = b.get(ok.headers["location"]).text
    assert "The day is saved." in page and '<td data-label="Sleep (h)">6</td>' in page  # not 6.0
