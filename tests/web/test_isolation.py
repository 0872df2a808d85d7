"""Role isolation: a patient can never read, list, change or delete anything of another
patient, nor can a clinician without an accepted share, nor an admin. Every route of the app
that takes an id is tried (the list comes from the app itself, so a new route is covered)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from facenerve.web.models import DiaryEntry, Job, Recording, Share, Treatment, TriageRecord, User

from .conftest import invite, set_role

TABLES = (Recording, Job, DiaryEntry, Treatment, TriageRecord, Share, User)


def _snapshot(app) -> dict[str, int]:
    with app.state.sessions() as db:
        return {m.__tablename__: db.scalar(select(func.count()).select_from(m)) for m in TABLES}


def _seed(app, b, pid: int, tmp_path) -> dict[str, int]:
    """Give a patient one of everything: a finished recording with results, a queued one, a diary
    day, a treatment, a triage result."""
    results = tmp_path / f"results-{pid}"
    results.mkdir()
    (results / "report.html").write_text("<p>secret report</p>")
    video = tmp_path / f"video-{pid}.mp4"
    video.write_bytes(b"secret video")
    with app.state.sessions() as db:
        done = Recording(owner_id=pid, kind="twitch", video_path=str(video), status="done",
                         results_path=str(results), metrics={"twitches_per_min": 7.0, "twitch_side": "left"})
        db.add(done)
        db.commit()
        db.add(Job(recording_id=done.id, status="done"))
        db.commit()
        rec_id = done.id
    assert b.post(f"/p/{pid}/diary", {"day": "2026-01-05", "stress": "9", "notes": "secret diary"}).status_code == 303
    assert b.post(f"/p/{pid}/treatments", {"kind": "botulinum_toxin", "day": "2026-01-06"}).status_code == 303
    r = b.post(f"/p/{pid}/triage", {"complaints": ["twitching"], "action": "result"})
    assert r.status_code == 303
    with app.state.sessions() as db:
        ids = {"rid": rec_id,
               "eid": db.scalar(select(DiaryEntry.id).where(DiaryEntry.owner_id == pid)),
               "tid_treatment": db.scalar(select(Treatment.id).where(Treatment.owner_id == pid)),
               "tid_triage": db.scalar(select(TriageRecord.id).where(TriageRecord.owner_id == pid))}
    return ids


def _routes(routes):
    for r in routes:
        inner = getattr(r, "original_router", None)  # routers included in the app
        yield from (_routes(inner.routes) if inner is not None else [r])


def _urls(app, pid: int, ids: dict[str, int]) -> list[tuple[str, str]]:
    """Every (method, url) of the app that names a patient or one of their items."""
    out = []
    for route in _routes(app.routes):
        path = getattr(route, "path", "")
        if "{pid}" not in path and "{share_id}" not in path:
            continue
        for method in sorted(getattr(route, "methods", []) - {"HEAD"}):
            variants = [path]
            if "{tid}" in path:
                variants = [path.replace("{tid}", str(ids["tid_triage" if "triage" in path else "tid_treatment"]))]
            for v in variants:
                url = (v.replace("{pid}", str(pid)).replace("{rid}", str(ids["rid"]))
                       .replace("{eid}", str(ids["eid"])).replace("{name}", "twitch")
                       .replace("{share_id}", str(ids.get("share", 0))).replace("{action}", "accept"))
                assert not re.search(r"\{\w+\}", url), url
                out.append((method, url))
    return out


def test_no_one_reaches_another_patients_data(app, browser, tmp_path):
    a, b, lone_doc, adm = browser(), browser(), browser(), browser()
    pid_a = a.register("ann@example.org", "Ann")
    pid_b = b.register("bob@example.org", "Bob")
    lone_doc.register("doc@example.org")
    set_role(app, "doc@example.org", "clinician")
    adm.register("root@example.org")
    set_role(app, "root@example.org", "admin")
    ids_a = _seed(app, a, pid_a, tmp_path)
    _seed(app, b, pid_b, tmp_path)
    urls = _urls(app, pid_a, ids_a)
    assert len(urls) >= 20, urls  # the seeded items reach every kind of route
    before = _snapshot(app)
    for who, intruder in (("patient B", b), ("clinician without a share", lone_doc), ("admin", adm)):
        for method, url in urls:
            r = intruder.get(url) if method == "GET" else intruder.post(url, {"kind": "twitch", "day": "2026-01-07"})
            assert r.status_code == 404, (who, method, url, r.status_code)
            assert "secret" not in r.text
    # B's own patient id with A's item ids: still nothing
    for method, url in _urls(app, pid_b, ids_a):
        if re.search(rf"/p/{pid_b}/(recordings|diary|treatments|triage)/\d+", url):
            r = b.get(url) if method == "GET" else b.post(url)
            assert r.status_code == 404, (method, url, r.status_code)
    assert _snapshot(app) == before
    assert "secret diary" in a.get(f"/p/{pid_a}/diary").text  # A still has everything
    assert "secret report" in a.get(f"/p/{pid_a}/recordings/{ids_a['rid']}/report").text
    listing = b.get(f"/p/{pid_b}/recordings").text
    assert f"/recordings/{ids_a['rid']}\"" not in listing


def test_a_clinician_reaches_only_the_patients_who_shared(app, browser, tmp_path):
    a, b, doc = browser(), browser(), browser()
    pid_a = a.register("ann@example.org", "Ann")
    pid_b = b.register("bob@example.org", "Bob")
    doc.register("doc@example.org")
    set_role(app, "doc@example.org", "clinician")
    ids_b = _seed(app, b, pid_b, tmp_path)
    code = invite(doc, "ann@example.org")
    share = int(a.get("/sharing").text.split("/sharing/")[1].split("/")[0])
    a.post(f"/sharing/{share}/accept", {"code": code})
    assert doc.get(f"/p/{pid_a}").status_code == 200
    assert doc.get(f"/p/{pid_a}/recordings").status_code == 200
    before = _snapshot(app)
    for method, url in _urls(app, pid_b, ids_b):
        r = doc.get(url) if method == "GET" else doc.post(url, {"kind": "twitch", "day": "2026-01-07"})
        assert r.status_code == 404, (method, url, r.status_code)
    # B cannot act on the share between A and the clinician
    assert b.post(f"/sharing/{share}/revoke").status_code == 404
    assert _snapshot(app) == before
    # a clinician cannot accept a patient's invitation for them
    code_b = invite(doc, "bob@example.org")
    with app.state.sessions() as db:
        pending = db.scalar(select(Share.id).where(Share.patient_email == "bob@example.org"))
    assert doc.post(f"/sharing/{pending}/accept", {"code": code_b}).status_code == 404
    assert doc.get(f"/p/{pid_b}").status_code == 404
