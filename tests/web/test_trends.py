"""Trends: the toxin wearing off, palsy recovery against the expected course, triggers."""

from __future__ import annotations

import datetime as dt

import numpy as np

from facenerve.web.trends import palsy_course, toxin_course, trigger_associations, twitch_series

D0 = dt.date(2026, 1, 1)


def _twitch(day: int, rate: float) -> dict:
    return {"id": day, "kind": "twitch", "day": D0 + dt.timedelta(days=day),
            "metrics": {"twitches_per_min": rate, "twitch_side": "left"}}


def _exam(day: int, hb: int, sb: float) -> dict:
    return {"day": D0 + dt.timedelta(days=day), "hb": hb, "sunnybrook": sb, "central": False}


def test_toxin_wearing_off_shows_as_a_rising_rate_after_the_full_effect_weeks():
    rates = {-20: 12, -5: 11, 20: 2, 35: 1.5, 50: 2, 70: 3, 95: 7, 110: 10}
    series = twitch_series([_twitch(d, r) for d, r in rates.items()])
    shot = [{"day": D0, "kind": "botulinum_toxin"}]
    (c,) = toxin_course(series, shot, D0 + dt.timedelta(days=120))
    assert c["rate_before"] == 11.5 and abs(c["rate_full_effect"] - 11 / 6) < 1e-9
    assert "week 13" in c["note"] and "wearing off" in c["note"]
    steady = twitch_series([_twitch(d, r) for d, r in {-5: 11, 20: 2, 50: 2, 95: 2.5}.items()])
    (c2,) = toxin_course(steady, shot, D0 + dt.timedelta(days=120))
    assert "wearing off" not in c2["note"] and "lower than" in c2["note"]


def test_palsy_recovery_is_compared_with_the_expected_course():
    today = lambda d: D0 + dt.timedelta(days=d)  # noqa: E731
    on_track = palsy_course([_exam(3, 4, 40), _exam(10, 4, 42)], D0, today(12))
    assert on_track["status"] == "on_track"
    behind = palsy_course([_exam(3, 4, 40), _exam(25, 4, 44)], D0, today(26))
    assert behind["status"] == "behind" and "3 weeks" in behind["notes"][0]
    improving = palsy_course([_exam(3, 4, 40), _exam(25, 3, 60)], D0, today(26))
    assert improving["status"] == "on_track"
    refer = palsy_course([_exam(3, 4, 40), _exam(60, 2, 75), _exam(95, 2, 80)], D0, today(95))
    assert refer["status"] == "refer" and "3 months" in refer["notes"][0]
    assert palsy_course([_exam(3, 4, 40), _exam(40, 1, 95)], D0, today(40))["status"] == "recovered"
    assert palsy_course([_exam(3, 3, 60), _exam(30, 4, 40)], D0, today(30))["status"] == "worsening"
    assert palsy_course([_exam(3, 4, 40)], None, today(30))["status"] == "no_onset"


def test_trigger_associations_find_a_real_link_and_say_when_data_are_too_few():
    rng = np.random.default_rng(0)
    diary, recs = [], []
    for d in range(20):
        sleep = float(rng.uniform(4, 9))
        diary.append({"day": D0 + dt.timedelta(days=d), "sleep_hours": sleep, "caffeine_drinks": float(rng.integers(0, 5)),
                      "alcohol_units": None, "stress": None, "twitching": None})
        recs.append(_twitch(d, 20 - 2 * sleep + float(rng.normal(0, 0.5))))
    out = {(a["trigger"], a["outcome"]): a for a in trigger_associations(diary, twitch_series(recs))}
    sleep = out[("sleep_hours", "measured")]
    assert sleep["rho"] < -0.8 and sleep["n_days"] == 20 and "less" in sleep["text"]
    assert abs(out[("caffeine_drinks", "measured")]["rho"]) < 0.5
    assert "not enough days" in out[("stress", "measured")]["text"]


def test_synkinesis_is_not_assessed_where_no_expression_could_show_it():
    """An exam whose mouth tasks were all ungraded says "not assessed" for synkinesis, on every
    page and report (the words come from ``describe``); a summary written before ``assessed``
    existed still reads yes or no."""
    from facenerve.web.trends import describe, metrics_from_summary

    def word(synk: dict) -> str:
        summary = {"exam": {"grades": {"house_brackmann": {"grade": 2, "roman": "II"}}, "synkinesis": synk}}
        return describe("exam", metrics_from_summary("exam", summary))["synkinesis"]

    assert word({"detected": False, "assessed": False}) == "not assessed"
    assert word({"detected": False, "assessed": True}) == "no"
    assert word({"detected": True, "assessed": True}) == "yes"
    assert word({"detected": False}) == "no"
    from facenerve.exam.grading import synkinesis_word

    assert synkinesis_word({}) == "not assessed"  # an exam with nothing graded


def test_an_exam_whose_grade_was_declined_says_why_and_is_not_called_no_exam():
    """Every movement found, but House-Brackmann declined (no smile or snarl could be graded):
    "not graded" with the grader's reason and what to redo, not "not an exam"."""
    from facenerve.web.trends import describe, metrics_from_summary

    declined = "not graded: ... a smile or snarl must be graded to call the mouth normal; redo the smile"
    note = "Provisional grades: tasks not graded: smile, snarl. Redo those tasks for a full grade."
    summary = {"exam": {"grades": {"house_brackmann": {"grade": None, "reason": declined}},
                        "exam_status": {"status": "complete", "reason": "every task of the exam was found",
                                        "tasks_found": ["brow_raise", "smile"], "tasks_missing": []},
                        "provisional": True, "notes": [note]}}
    d = describe("exam", metrics_from_summary("exam", summary))
    assert d["headline"].startswith("Not graded") and d["quality_label"] == "not graded"
    assert d["reason"] == "House-Brackmann " + declined and d["redo"] == note and not d["judged"]
    summary["exam"]["exam_status"]["status"] = "not_an_exam"
    assert describe("exam", metrics_from_summary("exam", summary))["quality_label"] == "not an exam"
