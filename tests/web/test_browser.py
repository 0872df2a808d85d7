"""End to end in Debian's Chromium, driven by Playwright: a patient records a guided exam from
a fake camera fed with a rendered face video, uploads a video, keeps a diary, checks symptoms,
sees results and trends; another patient cannot open any of it. Screenshots of the main pages
go to $FACENERVE_SCREENSHOTS (or the test's temporary folder)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import make_app, set_role

CHROMIUM = Path(os.environ.get("FACENERVE_CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.slow
READY_S = 3.0  # record.js counts down this long after opening the camera


def _need_browser() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("FACENERVE_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but FACENERVE_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium; bash .ci/run does)")


def write_y4m(video: Path, out: Path, lead_s: float) -> Path:
    """A video as the raw YUV4MPEG2 file Chromium's fake camera plays, with its first frame held
    for ``lead_s`` (the countdown before recording starts)."""
    import av

    with av.open(str(video)) as c:
        s = c.streams.video[0]
        fps = int(round(float(s.average_rate)))
        frames = [f.to_ndarray(format="yuv420p") for f in c.decode(s)]
    h = frames[0].shape[0] * 2 // 3
    w = frames[0].shape[1]
    with open(out, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for arr in [frames[0]] * int(lead_s * fps) + frames:
            f.write(b"FRAME\n")
            f.write(np.ascontiguousarray(arr).tobytes())
    return out


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory) -> Path:
    _need_browser()
    from facenerve.simulate.render import render_exam_video

    d = tmp_path_factory.mktemp("camera")
    render_exam_video(d / "exam.mp4", factor=0.3, side="left", fps=15, size=320, random_state=3)
    return write_y4m(d / "exam.mp4", d / "exam.y4m", READY_S + 0.5)


class _Server(str):
    """The server's base URL, and its app (to give a test user a role)."""

    def __new__(cls, url: str, app):
        self = super().__new__(cls, url)
        self.app = app
        return self


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    d = tmp_path_factory.mktemp("web")
    app = make_app(f"sqlite:///{d / 'db.sqlite'}", d / "data", workers=1)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.1)
    yield _Server(f"http://127.0.0.1:{port}", app)
    srv.should_exit = True
    t.join(timeout=20)


@pytest.fixture(scope="module")
def chromium(fake_camera):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={fake_camera}"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("FACENERVE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _register(page, base: str, email: str, name: str) -> str:
    page.goto(f"{base}/register")
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.fill("input[name=password2]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/login?registered=1")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/p/*")
    return page.url


def test_patient_journey_in_the_browser(server, chromium, shots):
    from facenerve.simulate.render import example_video

    ctx = chromium.new_context(viewport={"width": 1200, "height": 900}, permissions=["camera"])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    home = _register(page, server, "ann@example.org", "Ann Example")

    # 1. a guided exam recorded from the (fake) camera, task by task
    page.goto(f"{home}/record")
    page.wait_for_selector("#task-list li")
    page.screenshot(path=shots / "record.png")
    page.click("#start-exam")
    page.wait_for_selector("#prompt:has-text('eyebrows')", timeout=30000)
    page.screenshot(path=shots / "record-exam-in-progress.png")
    page.wait_for_url("**/recordings/*", timeout=90000)
    page.wait_for_selector("text=House-Brackmann", timeout=180000)
    page.screenshot(path=shots / "exam-result.png", full_page=True)
    assert "timed tasks" in page.content() and "browser" in page.content()

    # 2. an uploaded video of twitching
    page.goto(f"{home}/record")
    page.set_input_files("input[type=file]", str(example_video()))
    page.select_option("select[name=kind]", "twitch")
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/recordings/*")
    page.wait_for_selector("text=twitches/min", timeout=180000)
    page.screenshot(path=shots / "twitch-result.png", full_page=True)

    # 3. diary, a toxin injection, a symptom check
    page.goto(f"{home}/diary")
    page.fill("form[action$='/diary'] input[name=sleep_hours]", "6")
    page.fill("form[action$='/diary'] input[name=stress]", "7")
    page.click("form[action$='/diary'] button[type=submit]")
    page.select_option("select[name=kind]", "botulinum_toxin")
    page.fill("input[name=dose]", "20 U")
    page.click("form[action$='/treatments'] button[type=submit]")
    page.wait_for_selector("text=20 U")
    page.screenshot(path=shots / "diary.png", full_page=True)
    page.goto(f"{home}/triage")
    page.check("input[name=complaints][value=twitching]")
    page.click("button[value=more]")
    page.check("input[name=twitch_regions][value=lower_eyelid]")
    page.click("button[value=result]")
    page.wait_for_url("**/triage/*")
    assert "Most likely explanations" in page.content()
    page.screenshot(path=shots / "triage-result.png", full_page=True)

    # 4. the overview with trends, and the report
    page.goto(home)
    page.wait_for_selector("img[src$='twitch.svg']")
    assert page.evaluate("document.querySelector(\"img[src$='twitch.svg']\").naturalWidth") > 0
    assert page.evaluate("document.querySelector(\"img[src$='palsy.svg']\").naturalWidth") > 0
    page.screenshot(path=shots / "overview.png", full_page=True)
    report = ctx.request.get(f"{home}/report.pdf")
    assert report.ok and report.body().startswith(b"%PDF")
    assert errors == []

    # 5. another patient sees none of it
    other = chromium.new_context()
    p2 = other.new_page()
    _register(p2, server, "bob@example.org", "Bob Other")
    for path in ("", "/recordings", "/diary", "/triage", "/report.pdf", "/recordings/1", "/recordings/1/report"):
        r = p2.request.get(f"{home}{path}")
        assert r.status == 404, (path, r.status)
    p2.goto(f"{home}/recordings/1")
    assert "not found" in p2.content()
    p2.screenshot(path=shots / "isolation-404.png")
    other.close()

    # 6. a clinician the patient shares with (the code handed over): sees the diary, read only
    clinic = chromium.new_context(viewport={"width": 1200, "height": 900})
    doc = clinic.new_page()
    _register(doc, server, "doc@example.org", "Dr Who")
    set_role(server.app, "doc@example.org", "clinician")
    doc.goto(f"{server}/clinic")
    doc.fill("form[action='/clinic/invite'] input[name=email]", "ann@example.org")
    doc.click("form[action='/clinic/invite'] button[type=submit]")
    code = doc.inner_text("strong.big")
    page.goto(f"{server}/sharing")
    page.fill("input[name=code]", code)
    page.click("form[action$='/accept'] button")
    page.wait_for_selector("text=may only look")
    doc.goto(f"{home}/diary")
    assert "20 U" in doc.content()
    assert doc.locator("form[method=post]:not([action='/logout'])").count() == 0  # nothing to change
    doc.goto(f"{home}/recordings/1")
    assert doc.locator("form[action$='/delete']").count() == 0
    doc.screenshot(path=shots / "clinician-read-only.png", full_page=True)
    clinic.close()
    ctx.close()
