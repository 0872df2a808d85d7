"""Background analysis: a real video goes through the queue and a worker process; a job cut
off by a restart is picked up again; the keep-video setting is honoured only after success."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facenerve.web.models import Job, Recording, User

from .conftest import Browser, make_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example_bytes() -> bytes:
    from facenerve.simulate.render import example_video

    return example_video().read_bytes()


def _upload(b: Browser, pid: int, data: bytes, kind: str = "twitch") -> int:
    r = b.client.post(f"/p/{pid}/recordings", params={"csrf": b.csrf}, data={"csrf": b.csrf, "kind": kind},
                      files={"file": ("face.mp4", data, "video/mp4")}, headers={"Accept": "application/json"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _wait(b: Browser, pid: int, rid: int, until=("done", "failed"), timeout: float = 240) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = b.get(f"/p/{pid}/recordings/{rid}/status").json()
        if s["status"] in until:
            return s
        time.sleep(0.5)
    raise AssertionError(f"recording {rid} still {s} after {timeout} s")


def test_a_video_is_analysed_by_a_worker_and_the_results_are_shown(tmp_path, example_bytes):
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data", workers=1)
    with TestClient(app):  # runs the app's start-up: migrations and workers
        b = Browser(app)
        pid = b.register("ann@example.org")
        b.post("/settings", {"name": "Ann"})  # keep_video unticked: delete after analysis
        rid = _upload(b, pid, example_bytes)
        seen = _wait(b, pid, rid, until=("running", "done"))
        s = _wait(b, pid, rid)
        assert s["status"] == "done", s
        m = s["metrics"]
        assert m["twitch_side"] == "left" and m["twitches_per_min"] > 3  # the example has left twitches
        page = b.get(f"/p/{pid}/recordings/{rid}").text
        assert "twitches/min" in page
        assert "facenerve analysis" in b.get(f"/p/{pid}/recordings/{rid}/report").text
        overview = b.get(f"/p/{pid}")
        assert overview.status_code == 200 and "figures/twitch.svg" in overview.text
        assert b.get(f"/p/{pid}/figures/twitch.svg").headers["content-type"].startswith("image/svg")
        with app.state.sessions() as db:
            rec = db.get(Recording, rid)
            assert rec.video_path is None  # the user chose not to keep videos
            assert not any((tmp_path / "data" / "media").rglob("*.mp4"))
        assert seen["status"] in ("running", "done")


def test_a_failed_analysis_says_why_and_keeps_the_video(tmp_path, tiny_videos):
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data", workers=1)
    with TestClient(app):
        b = Browser(app)
        pid = b.register("ann@example.org")
        b.post("/settings", {"name": "Ann"})  # even with keep_video off, a failure keeps the video
        rid = _upload(b, pid, (tiny_videos / "noface.mp4").read_bytes())
        s = _wait(b, pid, rid)
        assert s["status"] == "failed" and "no face was found" in s["error"]
        assert str(tmp_path) not in s["error"]  # the server's paths never reach the page
        with app.state.sessions() as db:
            assert db.get(Recording, rid).video_path is not None
        assert "no face was found" in b.get(f"/p/{pid}/recordings/{rid}").text


def test_a_job_cut_off_by_a_restart_is_picked_up_again(tmp_path, example_bytes):
    url, data = f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data"
    app = make_app(url, data, workers=1, stale_job_s=3)
    with TestClient(app):
        b = Browser(app)
        pid = b.register("ann@example.org")
        rid = _upload(b, pid, example_bytes)
        _wait(b, pid, rid, until=("running",))
        time.sleep(2)  # the child process is measuring the face
    # leaving the block stopped the server: the child was killed mid-analysis
    with app.state.sessions() as db:
        job = db.scalar(select(Job).where(Job.recording_id == rid))
        assert job.status == "running" and job.attempts == 1
    time.sleep(4.5)  # no heartbeat for longer than stale_job_s (and two heartbeats)
    viewer = make_app(url, data, workers=0, stale_job_s=60)  # too soon to pick it up: the page says why
    with TestClient(viewer):
        bv = Browser(viewer)
        bv.login("ann@example.org")
        said = bv.get(f"/p/{pid}/recordings/{rid}/status").json()["message"]
        assert said.startswith("no word from the analysis for ") and "picked up again" in said, said
        assert "no word from the analysis" in bv.get(f"/p/{pid}/recordings/{rid}").text
    app2 = make_app(url, data, workers=1, stale_job_s=3)
    with TestClient(app2):
        b2 = Browser(app2)
        b2.login("ann@example.org")
        s = _wait(b2, pid, rid)
    assert s["status"] == "done", s
    with app2.state.sessions() as db:
        job = db.scalar(select(Job).where(Job.recording_id == rid))
        assert job.attempts == 2
        assert db.scalar(select(User.keep_video)) is True


def test_exam_photos_are_uploaded_graded_and_shown(tmp_path):
    """The photo set of ``facenerve exam --photos`` through the web app: checked on upload
    (a set without its rest photo is refused and nothing kept), graded by a worker, shown as
    an incomplete exam when a task is missing, and deleted with its folder."""
    from ..test_exam_photos import _photo_set

    folder = _photo_set(tmp_path, 0.3, "left", 7)
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data", workers=1)
    media = tmp_path / "data" / "media"
    with TestClient(app):
        b = Browser(app)
        pid = b.register("ann@example.org")

        def files(names):
            return [("photos", (n, (folder / n).read_bytes(), "image/jpeg")) for n in names]

        r = b.client.post(f"/p/{pid}/recordings/photos", params={"csrf": b.csrf}, data={"csrf": b.csrf}, files=files(["smile.jpg", "snarl.jpg"]))
        assert r.status_code == 400 and "no rest photo" in r.text
        assert not any(p.is_file() for p in media.rglob("*"))
        names = ["rest.jpg", "brow_raise.jpg", "gentle_eye_closure.jpg", "tight_eye_closure.jpg", "smile.jpg",
                 "lip_pucker.jpg"]
        # a clinical set: a pose the exam does not grade and a second, lighter smile are left out
        extra = [("photos", ("Lower lip depression.jpg", (folder / "rest.jpg").read_bytes(), "image/jpeg")),
                 ("photos", ("light smile.jpg", (folder / "rest.jpg").read_bytes(), "image/jpeg"))]
        r = b.client.post(f"/p/{pid}/recordings/photos", params={"csrf": b.csrf}, data={"csrf": b.csrf},
                          files=files(names) + extra, headers={"Accept": "application/json"})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        s = _wait(b, pid, rid)
        assert s["status"] == "done", s
        assert s["metrics"]["exam_status"] == "incomplete"
        page = b.get(f"/p/{pid}/recordings/{rid}").text
        assert "snarl not found" in page
        assert "facenerve facial exam" in b.get(f"/p/{pid}/recordings/{rid}/report").text
        r = b.post(f"/p/{pid}/recordings/{rid}/delete", {})
        assert r.status_code in (200, 303)
        assert not any(media.rglob("*.jpg"))
