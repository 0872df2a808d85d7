"""ASVS-style checks of the web app: CSRF bound to the session, uploads checked before their
body is read and counted as they stream in, passwords, e-mail syntax and sessions."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from facenerve.web.models import AuditEvent

from .conftest import Browser, invite, make_app, set_role

DAY = {"day": "2026-01-05", "twitching": "3"}


def test_a_csrf_token_only_works_for_the_session_it_was_given_to(app, browser):
    a, b = browser(), browser()
    pa = a.register("ann@example.org")
    b.register("bob@example.org")
    assert a.post(f"/p/{pa}/diary", DAY).status_code == 303
    # Bob's valid token, or a cookie and token another site chose (the old double submit), fail
    assert a.post(f"/p/{pa}/diary", {**DAY, "csrf": b.csrf}, csrf=False).status_code == 403
    a.client.cookies.set("fn_csrf", "chosen-by-attacker")
    assert a.post(f"/p/{pa}/diary", {**DAY, "csrf": "chosen-by-attacker"}, csrf=False).status_code == 403
    # any value is a clear 403, never a server error
    for value in ("é.ü", "a.b", "..", "x" * 5000, "\u202e.\u202e"):
        assert a.post(f"/p/{pa}/diary", {**DAY, "csrf": value}, csrf=False).status_code == 403, value
    # a token taken before logging in is not valid after it
    anon = browser()
    before = anon.csrf
    pc = anon.register("cat@example.org")
    assert anon.post(f"/p/{pc}/diary", {**DAY, "csrf": before}, csrf=False).status_code == 403


def test_requests_from_another_origin_are_refused_even_with_a_valid_token(app, browser):
    b = browser()
    pid = b.register("ann@example.org")
    other = {"Origin": "http://testserver:8081"}
    assert b.post(f"/p/{pid}/diary", DAY, headers=other).status_code == 403
    assert b.post(f"/p/{pid}/diary", DAY, headers={"Referer": "http://evil.example/x"}).status_code == 403
    assert b.post(f"/p/{pid}/diary", DAY, headers={"Origin": "http://testserver"}).status_code == 303


def _temp_files() -> set[Path]:
    return set(Path(tempfile.gettempdir()).iterdir())


def test_uploads_are_refused_before_their_body_is_read(database_url, tmp_path, tiny_videos):
    app = make_app(database_url, tmp_path / "data", max_upload_mb=1)
    video = (tiny_videos / "noface.mp4").read_bytes()
    anon = Browser(app)
    before = _temp_files()
    # anonymous, chunked (no Content-Length): 401 at once, nothing spooled to disk
    r = anon.client.post("/p/1/recordings", params={"csrf": anon.csrf},
                         content=iter([b"--x\r\n" + b"0" * 65536] * 40),
                         headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 401
    assert _temp_files() - before == set()
    b = Browser(app)
    pid = b.register("ann@example.org")
    files = {"file": ("clip.mp4", video, "video/mp4")}
    # the token in the form body alone is not enough for an upload: it must come before the body
    r = b.client.post(f"/p/{pid}/recordings", data={"csrf": b.csrf, "kind": "twitch"}, files=files)
    assert r.status_code == 403
    # a chunked body past the limit is cut off with 413, and no recording is kept
    head = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n")
    r = b.client.post(f"/p/{pid}/recordings", params={"csrf": b.csrf},
                      content=iter([head] + [b"0" * 65536] * 40),
                      headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413 and "larger than the 1 MB limit" in r.text
    assert "Content-Security-Policy" in r.headers and "X-Frame-Options" in r.headers
    assert b.get(f"/p/{pid}/recordings").text.count("clip.mp4") == 0


def test_weak_passwords_and_odd_addresses_are_refused(app, browser):
    b = browser()
    for pw in ("aaaaaaaaaa", "password12", "qwertyuiop", "ann@example.org"):
        r = b.post("/register", {"name": "Ann", "email": "ann@example.org", "password": pw, "password2": pw})
        assert r.status_code == 400, pw
    pw = "correct horse battery"
    for email in ("<svg/onload=alert(1)>@evil.org", "a@b", "ann@@example.org", "ann@example..org"):
        r = b.post("/register", {"name": "Ann", "email": email, "password": pw, "password2": pw})
        assert r.status_code == 400, email


def test_a_password_change_or_a_disabled_account_ends_the_other_sessions(app, browser):
    phone, laptop = browser(), browser()
    pid = phone.register("ann@example.org", "Ann")
    assert laptop.login("ann@example.org").status_code == 303
    r = phone.post("/settings", {"name": "Ann", "password": "correct horse battery",
                                 "new_password": "violet kettle harbour"})
    assert r.status_code == 303
    assert phone.get(f"/p/{pid}").status_code == 200  # this session stays
    assert laptop.get(f"/p/{pid}").status_code == 303  # the other one is logged out
    # disabled, then enabled again: its old sessions do not come back
    admin = browser()
    admin.register("root@example.org")
    set_role(app, "root@example.org", "admin")
    admin.login("root@example.org")
    assert admin.post(f"/admin/users/{pid}", {"role": "patient"}).status_code == 303  # disabled
    assert admin.post(f"/admin/users/{pid}", {"role": "patient", "active": "on"}).status_code == 303
    assert phone.get(f"/p/{pid}").status_code == 303


def test_a_login_ends_after_the_idle_time(database_url, tmp_path):
    app = make_app(database_url, tmp_path / "data", idle_minutes=0.001)
    b = Browser(app)
    pid = b.register("ann@example.org")
    time.sleep(0.2)
    assert b.get(f"/p/{pid}").status_code == 303  # back to the login page


def test_the_audit_trail_records_logins_refusals_and_changes_but_no_health_data(app, browser):
    b = browser()
    pid = b.register("ann@example.org")
    assert b.post(f"/p/{pid}/diary", {**DAY, "notes": "private words"}).status_code == 303
    assert browser().login("ann@example.org", "wrong password!").status_code == 401
    assert b.get(f"/p/{pid + 1}").status_code == 404
    assert b.get(f"/p/{pid}/report.html").status_code == 200  # an export
    assert b.post(f"/p/{pid}/diary", {**DAY, "csrf": "forged.x"}, csrf=False).status_code == 403
    with app.state.sessions() as db:
        events = [(e.action, e.outcome, e.user_id, e.target) for e in db.scalars(select(AuditEvent))]
    assert ("register", "ok", pid, "") in events
    assert ("login", "failed", pid, "ann@example.org") in events
    assert ("POST /p/{pid}/diary", "ok", pid, f"/p/{pid}/diary") in events
    assert ("GET /p/{pid}", "not-found", pid, f"/p/{pid + 1}") in events
    assert ("POST /p/{pid}/diary", "refused", pid, f"/p/{pid}/diary") in events
    assert ("GET /p/{pid}/report.html", "export", pid, f"/p/{pid}/report.html") in events
    assert not any("private" in str(e) for e in events)
    admin = browser()
    admin.register("root@example.org")
    set_role(app, "root@example.org", "admin")
    page = admin.get("/admin").text
    assert "Audit trail" in page and "login" in page and "private words" not in page


def test_clinicians_only_look_unless_the_patient_lets_them_change(app, browser):
    pat, doc = browser(), browser()
    pid = pat.register("ann@example.org", "Ann")
    assert pat.post(f"/p/{pid}/diary", DAY).status_code == 303
    doc.register("doc@example.org", "Dr Who")
    set_role(app, "doc@example.org", "clinician")
    code = invite(doc, "ann@example.org")
    share = int(pat.get("/sharing").text.split("/sharing/")[1].split("/")[0])
    assert pat.post(f"/sharing/{share}/accept", {"code": code}).status_code == 303
    diary = doc.get(f"/p/{pid}/diary").text
    assert "2026-01-05" in diary  # sees the day
    assert "/delete" not in diary and "Save the day" not in diary  # but no way to change it
    assert "not add" in doc.get(f"/p/{pid}/record").text
    assert doc.post(f"/p/{pid}/diary", {**DAY, "day": "2026-01-06"}).status_code == 403
    assert doc.post(f"/p/{pid}/diary/1/delete").status_code == 403
    # the patient grants changes, then takes the right back
    assert "may only look" in pat.get("/sharing").text
    assert pat.post(f"/sharing/{share}/allow-changes").status_code == 303
    assert "Save the day" in doc.get(f"/p/{pid}/diary").text
    assert doc.post(f"/p/{pid}/diary", {**DAY, "day": "2026-01-06"}).status_code == 303
    assert pat.post(f"/sharing/{share}/read-only").status_code == 303
    assert doc.post(f"/p/{pid}/diary", {**DAY, "day": "2026-01-07"}).status_code == 403
    assert "2026-01-06" in pat.get(f"/p/{pid}/diary").text and "2026-01-07" not in pat.get(f"/p/{pid}/diary").text


def test_an_invitation_needs_the_code_the_clinician_hands_over(app, browser):
    """Whoever registers the invited address first cannot take the invitation without the code."""
    doc, squatter = browser(), browser()
    doc.register("doc@example.org", "Dr Who")
    set_role(app, "doc@example.org", "clinician")
    code = invite(doc, "ann@example.org")
    assert len(code) == 9 and code[4] == "-"
    squatter.register("ann@example.org", "Not Ann")
    share = int(squatter.get("/sharing").text.split("/sharing/")[1].split("/")[0])
    assert squatter.post(f"/sharing/{share}/accept").status_code == 400
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD"):  # 5 wrong tries with the empty one
        assert squatter.post(f"/sharing/{share}/accept", {"code": guess}).status_code == 400
    assert squatter.post(f"/sharing/{share}/accept", {"code": code}).status_code == 429  # guessing stops
    assert "Not Ann" not in doc.get("/clinic").text
    # inviting again renews the code; the first one no longer works
    renewed = invite(doc, "ann@example.org")
    assert renewed != code
    for _ in range(25):  # invitations per day are capped
        r = doc.post("/clinic/invite", {"email": "someone@example.org"})
    assert r.status_code == 429


def test_a_server_error_is_a_plain_page_with_the_security_headers(app):
    from fastapi.testclient import TestClient

    def boom():
        raise RuntimeError("a bug with /secret/server/path in it")

    app.add_api_route("/boom", boom)
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500
    assert "went wrong on our side" in r.text and "/secret/server/path" not in r.text
    assert r.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in r.headers


def test_requests_naming_another_host_are_refused(database_url, tmp_path):
    from fastapi.testclient import TestClient

    app = make_app(database_url, tmp_path / "data", allowed_hosts=["clinic.example"])
    assert TestClient(app, base_url="http://clinic.example").get("/login").status_code == 200
    assert TestClient(app, base_url="http://evil.example").get("/login").status_code == 400


def test_no_generated_input_makes_a_server_error(tmp_path):
    """Hypothesis over every route of the app's API surface (its OpenAPI paths, as schemathesis
    reads them): any ids, any field or query values, any token; never a 500."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    app = make_app(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path / "data")
    b = Browser(app)
    pid = b.register("ann@example.org")
    token = b.csrf
    surface = sorted((m, p) for p, ops in app.openapi()["paths"].items() for m in ops if m in ("get", "post"))
    assert len(surface) > 30
    fields = ("day", "sleep_hours", "caffeine_cups", "alcohol_units", "stress", "twitching", "notes", "kind",
              "date", "dose_units", "muscles", "email", "name", "password", "new_password", "role", "active",
              "code", "complaints", "onset", "action", "next", "tasks")
    ids = st.one_of(st.integers(-3, 3), st.integers(2**62, 2**64), st.sampled_from([str(pid), "x", "%00", "1e9"]))
    values = st.one_of(st.text(max_size=40), st.sampled_from(["", "0", "-1", "1e309", "nan", "2026-02-30",
                                                              "\u202e", "<script>", "' OR 1=1 --"]))

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(surface), ident=ids, other=ids,
           form=st.dictionaries(st.sampled_from(fields), values), csrf=st.one_of(st.just(token), st.text(max_size=20)))
    def call(route, ident, other, form, csrf):
        method, path = route
        url = path
        for name in ("{pid}", "{rid}", "{eid}", "{tid}", "{uid}", "{share_id}"):
            url = url.replace(name, str(ident if name == "{pid}" else other))
        url = url.replace("{action}", "accept").replace("{name}", "x")
        if method == "get":
            r = b.client.get(url, params=form)
        else:
            r = b.client.post(url, data={**form, "csrf": csrf})
        assert r.status_code < 500, (method, url, form, r.status_code)

    call()


def test_registering_says_the_same_whether_or_not_the_address_has_an_account(app, browser):
    pw = "correct horse battery"
    first = browser().post("/register", {"name": "Ann", "email": "ann@example.org", "password": pw, "password2": pw})
    again = browser().post("/register", {"name": "Eve", "email": "ann@example.org", "password": pw, "password2": pw})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == "/login?registered=1"
    assert "fn_session" not in first.headers.get("set-cookie", "") + again.headers.get("set-cookie", "")
    # and a wrong password says the same for a known and an unknown address
    a, b = browser().login("ann@example.org", "not the password"), browser().login("nobody@example.org", pw)
    assert a.status_code == b.status_code == 401
    assert "wrong e-mail or password" in a.text and "wrong e-mail or password" in b.text


def test_many_failed_logins_from_one_address_do_not_lock_out_everyone_there(app, browser):
    """Twenty failures from one address (every local user is 127.0.0.1) leave others able to log in."""
    browser().register("ann@example.org")
    intruder = browser()
    for i in range(20):
        intruder.login(f"guess{i % 4}@example.org", "wrong password")
    assert browser().login("ann@example.org").status_code == 303


def test_each_symptom_question_offers_dont_know_once(app, browser):
    import re

    b = browser()
    pid = b.register("ann@example.org")
    page = b.post(f"/p/{pid}/triage", {"complaints": ["twitching", "weakness"], "action": "more"}).text
    names = re.findall(r'type="radio" name="([^"]+)" value="unknown"', page)
    assert names and len(names) == len(set(names))  # one "don't know" per question
    assert ">unknown<" not in page.replace(" ", "")


@pytest.mark.parametrize("next_url", ["//evil.example", "/\\evil.example", "/\\/evil.example", "https://evil.example",
                                      "/p/1\n/x"])
def test_login_never_sends_the_browser_to_another_site(browser, next_url):
    """``next`` after login (also where an expired form returns to) is a path on this site or
    nothing: browsers read "/\\host" as "//host"."""
    b = browser()
    b.register("ann@example.org")
    b.client.cookies.clear()
    b.client.get("/login")
    r = b.post("/login", {"email": "ann@example.org", "password": "correct horse battery", "next": next_url})
    assert r.status_code == 303 and r.headers["location"].startswith("/p/"), r.headers["location"]
