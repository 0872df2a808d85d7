"""A patient with months of data, put straight into the database: twitch recordings (one with
too little footage to judge), exams (one incomplete), diary days, a toxin injection and a
symptom check. For pages, reports and the clinician's list, whose wording and layout is what is
tested here, not the analysis (the browser journey analyses real uploads)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select


def twitch_summary(status: str, rate: float, side: str = "left", assessable_s: float = 80.0,
                   recorded_s: float = 90.0) -> dict[str, Any]:
    judged = status != "not_enough_footage"
    per_side = {s: {"twitches_per_min": (rate if s == side else 0.2) if judged else None,
                    "blinks_per_min": 14.0 if judged else None, "regions": ["eye", "cheek"] if s == side else [],
                    "percent_time_in_spasm": 3.0} for s in ("left", "right")}
    reason = {"spasm": f"repeated one-sided twitching of the {side} side in {assessable_s:.0f} s of assessable resting footage",
              "no_spasm": f"no repeated one-sided twitching in {assessable_s:.0f} s of assessable resting footage",
              "not_enough_footage": f"too little steady resting footage to judge: {assessable_s:.0f} s "
                                    "of assessable resting footage (needs 10 s)"}[status]
    grades = {s: {"smc_grade": "II" if status == "spasm" and s == side else None,
                  "jankovic": {"total": 4} if status == "spasm" and s == side else None} for s in ("left", "right")}
    return {"duration_s": recorded_s, "face_fraction": 0.98,
            "twitch": {"per_side": per_side, "grades": grades,
                       "finding": {"status": status, "reason": reason, "affected_sides": [side] if status == "spasm" else []},
                       "footage": {"assessable_s": assessable_s, "recorded_s": recorded_s}}}


def exam_summary(hb: int | None, sunnybrook: int | None, missing: tuple[str, ...] = ()) -> dict[str, Any]:
    moves = ["brow_raise", "gentle_eye_closure", "tight_eye_closure", "smile", "snarl", "lip_pucker"]
    found = [m for m in moves if m not in missing]
    status = "complete" if not missing else ("incomplete" if len(found) >= 3 else "not_an_exam")
    reason = {"complete": "every task of the exam was found",
              "incomplete": f"incomplete exam: {', '.join(missing)} not found; redo those tasks",
              "not_an_exam": f"this does not look like a facial exam: {len(found)} of the 6 movements were found"}[status]
    roman = [None, "I", "II", "III", "IV", "V", "VI"][hb] if hb else None
    return {"duration_s": 40.0, "face_fraction": 0.99,
            "exam": {"grades": {"house_brackmann": {"grade": hb, "roman": roman},
                                "sunnybrook": {"composite": sunnybrook}, "eface": {"total": sunnybrook}},
                     "weaker_side": "left" if hb and hb > 1 else None, "provisional": status != "complete",
                     "exam_status": {"status": status, "reason": reason, "tasks_found": found,
                                     "tasks_missing": list(missing)},
                     "notes": [], "synkinesis": {"detected": False}, "central_pattern": False}}


def seed_patient(app, email: str, name: str = "Ann Example", today: dt.date | None = None) -> int:
    """Add a patient (password "correct horse battery") with data over the last 100 days."""
    from facenerve.triage import triage
    from facenerve.web.models import DiaryEntry, Recording, Treatment, TriageRecord, User
    from facenerve.web.security import hash_password
    from facenerve.web.trends import metrics_from_summary

    today = today or dt.date.today()

    def at(days_ago: int) -> dt.datetime:
        return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10, 0))

    with app.state.sessions() as db:
        user = User(email=email, name=name, role="patient", password_hash=hash_password("correct horse battery"),
                    onset_date=today - dt.timedelta(days=100))
        db.add(user)
        db.flush()
        recs = [("twitch", 90, twitch_summary("spasm", 6.0)), ("twitch", 60, twitch_summary("spasm", 5.5)),
                ("twitch", 30, twitch_summary("spasm", 1.2)),
                ("twitch", 2, twitch_summary("not_enough_footage", 0.0, assessable_s=4.0, recorded_s=19.0)),
                ("exam", 95, exam_summary(4, 35)), ("exam", 40, exam_summary(3, 52)),
                ("exam", 3, exam_summary(2, 78, missing=("snarl",)))]
        for kind, ago, summary in recs:
            db.add(Recording(owner_id=user.id, kind=kind, source="upload", original_name=f"{kind}-{ago}.mp4",
                             recorded_at=at(ago), status="done", metrics=metrics_from_summary(kind, summary),
                             notes="after a long day at work" if ago == 2 else ""))
        for ago in range(1, 15):
            db.add(DiaryEntry(owner_id=user.id, day=today - dt.timedelta(days=ago), sleep_hours=5.0 + ago % 4,
                              caffeine_drinks=ago % 5, stress=3 + ago % 6, twitching=2 + ago % 5, notes=""))
        db.add(Treatment(owner_id=user.id, kind="botulinum_toxin", day=today - dt.timedelta(days=45),
                         dose="20 U", muscles="orbicularis oculi", notes=""))
        result = triage({"complaints": ["twitching"], "side": "left", "onset": "months",
                         "twitch_regions": ["lower_eyelid", "cheek"]})
        import json

        db.add(TriageRecord(owner_id=user.id, created_at=at(1), answers=result["answers"],
                            result=json.loads(json.dumps(result, default=str)), urgency=result["urgency"]))
        db.commit()
        return db.scalar(select(User.id).where(User.email == email))
