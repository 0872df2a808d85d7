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
    assert not page.locator("#stop").is_visible()  # idle: nothing to stop
    page.fill("#rec-notes", "first exam at home")
    page.click("#start-exam")
    page.wait_for_selector("#prompt:has-text('eyebrows')", timeout=30000)
    assert page.locator("#stop").is_visible() and not page.locator("#start-exam").is_visible()
    assert page.inner_text("#rec-state").startswith("Recording 0:")  # a running timer
    page.screenshot(path=shots / "record-exam-in-progress.png")
    page.wait_for_url("**/recordings/*", timeout=90000)
    page.wait_for_selector("text=House-Brackmann", timeout=180000)
    page.screenshot(path=shots / "exam-result.png", full_page=True)
    assert "timed tasks" in page.content() and "browser" in page.content()
    assert "first exam at home" in page.inner_text("main")  # the note typed before recording

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


# ---- every page at a desktop's and a phone's width: layout, accessibility, forms that keep input

AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)


def _axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page (WCAG 2.1 A and AA rules)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _check_page(page, url: str, name: str, width: int, shots: Path, problems: list[str]) -> None:
    r = page.goto(url)
    assert r is not None and r.status < 500, (url, r and r.status)
    page.wait_for_load_state("networkidle")
    over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if over > 0:
        problems.append(f"{name} at {width} px scrolls sideways by {over} px")
    problems += [f"{name} at {width} px: axe {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
                 for v in _axe_violations(page)]
    page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)


@pytest.fixture(scope="module")
def seeded(server):
    """A patient with months of data shared (read only) with a clinician."""
    from facenerve.web.models import Share, User

    from .seed import seed_patient

    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run 'npm ci --prefix tests/web/js' (scripts/setup.sh does)")
    pid = seed_patient(server.app, "cara@example.org", "Cara Seeded")
    from facenerve.web.security import hash_password

    with server.app.state.sessions() as db:
        doc = User(email="dr.pages@example.org", name="Dr Pages", role="clinician",
                   password_hash=hash_password("correct horse battery"))
        db.add(doc)
        db.flush()
        db.add(Share(clinician_id=doc.id, patient_email="cara@example.org", patient_id=pid, status="accepted"))
        db.commit()
    return pid


def _login(ctx, base: str, email: str):
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def test_every_page_fits_a_phone_and_passes_axe(server, chromium, shots, seeded):
    from facenerve.web.models import Recording

    with server.app.state.sessions() as db:
        recs = {r.original_name: r.id for r in db.query(Recording).filter(Recording.owner_id == seeded)}
    home = f"{server}/p/{seeded}"
    patient_pages = {
        "overview": home, "record": f"{home}/record", "recordings": f"{home}/recordings",
        "exam-result": f"{home}/recordings/{recs['exam-3.mp4']}",
        "twitch-not-enough": f"{home}/recordings/{recs['twitch-2.mp4']}",
        "diary": f"{home}/diary", "symptom-check": f"{home}/triage", "sharing": f"{server}/sharing",
        "settings": f"{server}/settings", "report-html": f"{home}/report.html", "not-found": f"{server}/no/such/page",
    }
    clinician_pages = {"clinician-list": f"{server}/clinic", "clinician-overview": home,
                       "clinician-visit": f"{home}/visit", "clinician-diary": f"{home}/diary"}
    problems: list[str] = []
    for width in WIDTHS:
        for email, pages in (("cara@example.org", patient_pages), ("dr.pages@example.org", clinician_pages)):
            ctx = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
            page = _login(ctx, server, email)
            for name, url in pages.items():
                _check_page(page, url, name, width, shots, problems)
            if width == 390:  # the navigation folds into a menu
                page.goto(f"{server}/settings")
                assert page.locator("header").bounding_box()["height"] < 70
                assert not page.locator("#nav").is_visible()
                page.click(".menu-toggle")
                assert page.locator("#nav a[href='/settings']").is_visible()
            ctx.close()
        anon = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        for name, url in (("login", f"{server}/login"), ("register", f"{server}/register")):
            _check_page(anon.new_page(), url, name, width, shots, problems)
        anon.close()
    assert problems == []


def test_the_pages_say_what_the_data_supports(server, chromium, seeded):
    """The same finding everywhere, with its footage; 'not enough to judge' in words; the
    incomplete exam names what to redo; the clinician sees trends and what is new."""
    from sqlalchemy import update

    from facenerve.web.models import Share

    with server.app.state.sessions() as db:  # as if the clinician had never opened the patient
        db.execute(update(Share).where(Share.patient_id == seeded).values(last_viewed_at=None))
        db.commit()
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = _login(ctx, server, "cara@example.org")
    home = f"{server}/p/{seeded}"
    page.goto(home)
    twitch = page.inner_text("section[aria-labelledby=h-twitch]")
    assert "Not enough to judge" in twitch and "from 4 s of steady resting video of 19 s recorded" in twitch
    exam = page.inner_text("section[aria-labelledby=h-exam]")
    assert "House-Brackmann II (provisional)" in exam and "incomplete exam" in exam
    assert "Wrinkle your nose" in exam  # the movement to redo, in the exam's own words
    page.goto(f"{home}/recordings")
    assert page.locator("text=Not enough to judge").count() == 1
    assert page.locator("text=after a long day at work").count() == 1  # the upload's note
    ctx.close()

    doc = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = _login(doc, server, "dr.pages@example.org")
    page.goto(f"{server}/clinic")
    row = page.inner_text("#patients tbody tr")
    assert "Cara Seeded" in row and "new" in row and "not opened yet" in row
    assert "better: House-Brackmann III → II" in row  # the last two graded exams
    assert "better: 5.5 → 1.2 twitches/min" in row  # the one without enough footage does not count
    page.goto(home)  # opening the patient counts as looking
    page.goto(f"{server}/clinic?only=new")
    assert "No patient matches" in page.content()
    page.goto(f"{server}/clinic?q=nobody")
    assert "No patient matches" in page.content()
    page.goto(f"{home}/visit")
    text = page.inner_text("main")
    assert "facenerve no. " in text and "Sources" in text and "Baugh RF" in text
    doc.close()


def test_forms_keep_what_was_typed(server, chromium, seeded):
    """A refused diary day is shown again with every value and a message at the bad field;
    a form sent after the session ended comes back, after login, with the draft."""
    from sqlalchemy import delete

    from facenerve.web.models import AuthSession

    ctx = chromium.new_context(viewport={"width": 390, "height": 900})
    page = _login(ctx, server, "cara@example.org")
    page.goto(f"{server}/p/{seeded}/diary")
    form = "form[action$='/diary']"
    page.fill(f"{form} input[name=sleep_hours]", "30")
    page.fill(f"{form} input[name=stress]", "4")
    page.fill(f"{form} textarea[name=notes]", "slept badly, eye jumping")
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.input_value(f"{form} input[name=sleep_hours]") == "30"
    assert page.input_value(f"{form} input[name=stress]") == "4"
    assert page.input_value(f"{form} textarea[name=notes]") == "slept badly, eye jumping"
    assert "Sleep must be a number between 0 and 24" in page.inner_text("#day-sleep_hours-error")
    assert page.get_attribute(f"{form} input[name=sleep_hours]", "aria-invalid") == "true"

    # the session ends on the server while the form is open
    page.fill(f"{form} input[name=sleep_hours]", "6.5")
    with server.app.state.sessions() as db:
        db.execute(delete(AuthSession))
        db.commit()
    page.click(f"{form} button[type=submit]")
    page.wait_for_url("**/login?*expired=1*")
    assert "Your session ended" in page.content()
    page.fill("main input[name=email]", "cara@example.org")
    page.fill("main input[name=password]", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/p/{seeded}/diary")
    assert "What you typed before was kept" in page.content()
    assert page.input_value(f"{form} input[name=sleep_hours]") == "6.5"
    assert page.input_value(f"{form} textarea[name=notes]") == "slept badly, eye jumping"
    page.click(f"{form} button[type=submit]")
    page.wait_for_url("**/diary?saved=day")
    assert "The day is saved." in page.content() and "slept badly, eye jumping" in page.content()
    page.goto(f"{server}/p/{seeded}/diary")  # the draft went with the save
    assert "What you typed before was kept" not in page.content()
    ctx.close()


def test_camera_and_upload_failures_are_said_once_and_lose_nothing(server, chromium, seeded, shots):
    """A missing camera is said in plain words, once however often Start is pressed; a failed
    upload keeps the chosen file and sends it again with one click."""
    from facenerve.simulate.render import example_video

    ctx = chromium.new_context(viewport={"width": 390, "height": 900})
    ctx.add_init_script("""navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));""")
    page = _login(ctx, server, "cara@example.org")
    page.goto(f"{server}/p/{seeded}/record")
    for _ in range(3):
        page.click("#start-free")
        page.wait_for_selector("#rec-error .error")
    assert page.locator("#rec-error .error").count() == 1
    said = page.inner_text("#rec-error")
    assert "No camera was found" in said and "upload" in said and "Requested device" not in said
    assert page.inner_text("#rec-state").startswith("Ready") and not page.locator("#stop").is_visible()
    page.screenshot(path=shots / "record-camera-error-390.png", full_page=True)

    calls = []

    def fail_once(route):
        calls.append(route.request.url)
        if len(calls) == 1:
            route.fulfill(status=503, content_type="application/json", body='{"error": "the server is busy"}')
        else:
            route.continue_()

    page.route("**/recordings?csrf=*", fail_once)
    form = "form[action*='/recordings?csrf=']"
    page.set_input_files(f"{form} input[type=file]", str(example_video()))
    page.fill(f"{form} input[name=notes]", "uploaded on the second try")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{form} .error")
    assert "the server is busy" in page.inner_text(f"{form} .error")
    assert page.inner_text(f"{form} button[type=submit]") == "Try again"
    assert page.input_value(f"{form} input[name=notes]") == "uploaded on the second try"
    page.click(f"{form} button[type=submit]")
    page.wait_for_url("**/recordings/*")
    assert len(calls) == 2 and "uploaded on the second try" in page.inner_text("main")
    ctx.close()
