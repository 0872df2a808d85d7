"""The facial exam: protocol, segmentation, task measures and palsy grades."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from facenerve.errors import InputError
from facenerve.exam.grading import grade_exam
from facenerve.exam.measures import task_measures
from facenerve.exam.protocol import load_protocol, read_sidecar, segments_from_protocol
from facenerve.exam.segment import segment_auto
from facenerve.reporting import shown_against
from facenerve.simulate.signals import implied_hb, simulate_exam_signals

P = load_protocol()


def grade(factor, central=False, synk=0.0, side="right", seed=1, auto=True):
    sig, _ = simulate_exam_signals(factor, side, central, synk, random_state=seed)
    segs = segment_auto(sig, P) if auto else segments_from_protocol(P)
    return grade_exam(task_measures(sig, segs, P))


def test_protocol_is_data_with_sunnybrook_movements():
    ids = [t.id for t in P.tasks]
    assert ids[0] == "rest"
    assert {"brow_raise", "gentle_eye_closure", "tight_eye_closure", "smile", "snarl", "lip_pucker"} <= set(ids)
    assert sum(t.sunnybrook for t in P.tasks) == 5
    assert P.total_s > sum(t.duration_s for t in P.tasks)


def test_auto_segmentation_finds_the_tasks():
    sig, truth = simulate_exam_signals(0.5, "left", random_state=3)
    segs = {s.task: s for s in segment_auto(sig, P)}
    assert set(segs) == {t.id for t in P.tasks}
    for tr in truth:
        if tr["task"] == "rest":
            continue
        s = segs[tr["task"]]
        mid = (s.start_s + s.end_s) / 2
        assert tr["start_s"] <= mid <= tr["end_s"], (tr, s)
        assert 0 < s.confidence <= 1


@pytest.mark.parametrize("content,fragment", [
    ("{nope", "not valid JSON"),
    ('{"tasks": [{"task": "smile", "start_s": 1, "end_s": 2}]}', "no 'rest'"),
    ('{"tasks": [{"task": "wink", "start_s": 1, "end_s": 2}]}', "unknown task"),
    ('{"tasks": [{"task": "rest", "start_s": 3, "end_s": 2}]}', "must end after"),
    ('{"tasks": [{"task": "rest"}]}', "needs task, start_s and end_s"),
])
def test_bad_task_file_is_a_clear_error(tmp_path, content, fragment):
    f = tmp_path / "tasks.json"
    f.write_text(content)
    with pytest.raises(InputError, match=fragment):
        read_sidecar(f, P)


def test_normal_face_scores_normal():
    g = grade(1.0)
    assert g["weaker_side"] == "none"
    assert g["grades"]["house_brackmann"]["grade"] == 1
    assert g["grades"]["sunnybrook"]["composite"] >= 95
    assert g["grades"]["eface"]["total"] >= 95
    assert not g["central_pattern"] and not g["synkinesis"]["detected"]


def test_grades_monotonic_and_house_brackmann_within_one_grade():
    factors = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    gs = [grade(f, seed=i) for i, f in enumerate(factors)]
    hb = [g["grades"]["house_brackmann"]["grade"] for g in gs]
    sb = [g["grades"]["sunnybrook"]["composite"] for g in gs]
    ef = [g["grades"]["eface"]["total"] for g in gs]
    assert hb == sorted(hb, reverse=True), hb
    assert sb == sorted(sb) and ef == sorted(ef), (sb, ef)
    assert all(abs(h - implied_hb(f)) <= 1 for h, f in zip(hb, factors, strict=True)), hb
    # at 80 % of the other side the median movement is within what healthy faces show
    # (grading.NORMAL_RATIO), but an eye closing 80 % of the other's is not (healthy eyes differ
    # by a log spread of 0.1: grading.HEALTHY_LOG_SPREAD): slight weakness, named, II
    assert all(g["weaker_side"] == "right" for g in gs[:-1]) and gs[-1]["weaker_side"] == "none"
    assert gs[-2]["grades"]["house_brackmann"]["grade"] == 2


def test_forehead_sparing_flags_central_pattern_only():
    for f in (0.0, 0.3):  # a mouth moving 60 % of the other side is within reach of healthy faces
        g = grade(f, central=True, side="left")
        assert g["forehead_sparing"]["detected"] and g["central_pattern"], g["ratios"]
        assert "urgent" in g["notes"][0]
    for f in (0.0, 0.3, 0.6, 1.0):
        assert not grade(f, central=False)["central_pattern"]


def test_the_report_gives_the_figures_behind_the_central_flag():
    """The report's forehead-sparing row says yes or no with the brow's movement by each of its
    measures and the two regions' evidence, not a bare word."""
    from facenerve.exam.report import _sparing_text

    central, peripheral = grade(0.0, central=True, side="left"), grade(0.0, central=False)
    text = _sparing_text(central)
    z = central["forehead_sparing"]["weakness_z"]
    assert text.startswith("YES: the brow moves ") and f"z {z['lower']:.1f}" in text and "Rule:" in text
    assert _sparing_text(peripheral).startswith("no: ")


def test_weak_side_from_the_clearer_region_and_healthy_spread():
    """An eye that stays open outweighs a lopsided smile the other way: each task's difference is
    judged against how much healthy faces differ in that task."""
    from facenerve.exam.grading import HEALTHY_LOG_SPREAD, side_evidence

    def task(left, right):
        return {"graded": True, "excursion": {"left": left, "right": right}}

    tasks = {"tight_eye_closure": task(0.6, 1.0), "brow_raise": task(4.0, 4.2),
             "smile": task(8.0, 5.0), "snarl": task(3.0, 3.0)}
    z = side_evidence(tasks)
    assert z["upper"] < 0 < z["lower"]  # the left eye closes less; the left smile is bigger
    g = grade_exam({"tasks": tasks, "rest": _rest()})
    assert g["affected_side"] == "left" and g["weaker_side"] == "left"
    # the same differences, all within healthy faces' spread: no side is named
    mild = {k: task(v["excursion"]["left"], v["excursion"]["left"] * np.exp(0.5 * HEALTHY_LOG_SPREAD[k]))
            for k, v in tasks.items()}
    assert grade_exam({"tasks": mild, "rest": _rest()})["weaker_side"] == "none"


def test_a_mouth_read_lopsided_in_its_three_tasks_does_not_outvote_forehead_and_eye():
    """A healthy face whose photos read every mouth task lopsided (as FaceMesh read SkyReels'
    in a retaken set: smile 0.52, snarl 0.6, pucker 0.33 of the other side) with a forehead and
    eyes that move alike: House-Brackmann over its three regions is at most II, no central
    flag; a real peripheral palsy, weak in all three regions, still grades III or worse."""
    def task(left, right):
        return {"graded": True, "excursion": {"left": left, "right": right},
                "co_movement": {"brow_up_by": {m: {"left": left, "right": right} for m in ("landmarks", "texture")},
                                "eye_narrowing": {"left": 0.0, "right": 0.0}}}

    lopsided = {"brow_raise": task(5.0, 5.0), "tight_eye_closure": task(1.0, 1.0),
                "smile": task(4.2, 8.0), "snarl": task(2.4, 4.0), "lip_pucker": task(1.0, 3.0)}
    g = grade_exam({"tasks": lopsided, "rest": _rest()})
    assert g["grades"]["house_brackmann"]["grade"] <= 2, g["grades"]["house_brackmann"]
    assert not g["central_pattern"], g["forehead_sparing"]
    assert "forehead, eye, mouth" in g["grades"]["house_brackmann"]["reasons"][0]
    palsy = {**lopsided, "brow_raise": task(2.5, 5.0), "tight_eye_closure": task(0.6, 1.0)}
    assert grade_exam({"tasks": palsy, "rest": _rest()})["grades"]["house_brackmann"]["grade"] >= 3


def test_a_pucker_alone_does_not_grade_the_mouth():
    """A face whose smile and snarl could not be graded (a laugh, lips 11 mm apart) leaves the
    mouth to its pucker, which cannot show it: a healthy pucker read a fifth of the other side
    (StyleTalk Obama's photo, 0.22), and a mouth fully weakened on one side still puckering 0.60
    of the other (the median of ``evaluate real-exams`` at factor 1.0), are neither made
    "slightly weak" nor graded I. House-Brackmann is not given, and says what it needs; the
    same evidence from a smile is III, and an eye that stays open is IV with a pucker alone."""
    from facenerve.exam.grading import HEALTHY_LOG_SPREAD, Z_MOUTH_WEAK

    def task(left, right):
        return {"graded": True, "excursion": {"left": left, "right": right}}

    def exam(mouth_task, weak):
        tasks = {"brow_raise": task(5.0, 5.0), "gentle_eye_closure": task(1.0, 1.0),
                 "tight_eye_closure": task(1.0, 1.0), mouth_task: task(weak, 4.0)}
        return grade_exam({"tasks": tasks, "rest": _rest()})

    lopsided = 4.0 * np.exp(-1.1 * Z_MOUTH_WEAK * HEALTHY_LOG_SPREAD["lip_pucker"])  # z 1.1 times the cut
    for weak in (lopsided, 0.60 * 4.0):
        hb = exam("lip_pucker", weak)["grades"]["house_brackmann"]
        assert hb["grade"] is None, hb
        assert "a smile or snarl" in hb["reason"]
    smile = 4.0 * np.exp(-1.1 * Z_MOUTH_WEAK * HEALTHY_LOG_SPREAD["smile"])
    assert exam("smile", smile)["grades"]["house_brackmann"]["grade"] >= 3
    open_eye = {"brow_raise": task(1.5, 5.0), "tight_eye_closure": task(0.1, 1.0), "lip_pucker": task(1.0, 3.0)}
    assert grade_exam({"tasks": open_eye, "rest": _rest()})["grades"]["house_brackmann"]["grade"] >= 4


def test_an_eye_seen_closing_fully_is_not_an_incomplete_closure():
    """A mild palsy whose left eye closes fully in the gentle closure but reads 0.41 closed in
    the squeeze (as a rendered one at factor 0.8 did): the eye can close, so no "incomplete
    closure" and no IV; with the gentle closure as open as the squeeze, it is IV."""
    def task(left, right):
        return {"graded": True, "excursion": {"left": left, "right": right}}

    def hb(gentle_left):
        tasks = {"brow_raise": task(5.0, 6.7), "gentle_eye_closure": task(gentle_left, 1.0),
                 "tight_eye_closure": task(0.41, 1.0), "smile": task(6.4, 7.0), "snarl": task(4.3, 4.5)}
        return grade_exam({"tasks": tasks, "rest": _rest()})["grades"]["house_brackmann"]

    assert hb(1.0)["grade"] < 4 and not any("incomplete" in r for r in hb(1.0)["reasons"]), hb(1.0)
    assert hb(0.41)["grade"] >= 4 and any("incomplete" in r for r in hb(0.41)["reasons"]), hb(0.41)


def test_central_pattern_from_a_mouth_clearly_weaker_than_a_normal_forehead():
    """A weak mouth under a brow that moves normally is a central pattern even when one corner
    task is only mildly weak and eye closure is mildly weak too (as a central palsy may show);
    the same mouth under a weak brow, or a mouth within healthy faces' differences, is not."""
    def task(left, right, brow_by=None):
        t = {"graded": True, "excursion": {"left": left, "right": right}}
        if brow_by:
            t["co_movement"] = {"brow_up_by": brow_by, "eye_narrowing": {"left": 0.0, "right": 0.0}}
        return t

    def central(brow_left, smile_left, snarl_left, closure_left=0.8, landmarks=None):
        by = {"landmarks": landmarks or {"left": brow_left, "right": 5.0}, "texture": {"left": brow_left, "right": 5.0}}
        tasks = {"brow_raise": task(brow_left, 5.0, by),
                 "tight_eye_closure": task(closure_left, 1.0), "gentle_eye_closure": task(0.9, 0.9),
                 "smile": task(smile_left, 8.0), "snarl": task(snarl_left, 4.0)}
        return grade_exam({"tasks": tasks, "rest": _rest()})

    # the smile at a fifth, the snarl at 60 % of the other side's, the eye closing 80 %
    g = central(5.0, 1.6, 2.4)
    assert g["affected_side"] == "left" and g["central_pattern"], g["forehead_sparing"]
    assert g["forehead_sparing"]["weakness_z"]["lower"] > g["forehead_sparing"]["weakness_z"]["upper"] > 0
    assert not central(2.5, 1.6, 2.4)["central_pattern"]  # the brow half as strong: peripheral
    assert not central(5.0, 6.4, 3.4, closure_left=1.0)["central_pattern"]  # a mouth as healthy faces differ
    # the corners at a quarter and 40 % under a normal brow, the eye closing 60 % of the other
    # (a rendered central palsy's pattern): the mouth's evidence 1.36 times the upper face's
    g = central(5.0, 2.0, 1.6, closure_left=0.6)
    assert g["central_pattern"], g["forehead_sparing"]
    # landmarks that hardly follow the brow on either side (as FaceMesh on some real faces)
    # cannot compare its sides: the texture judges alone
    barely = {"left": -0.4, "right": 1.0}
    assert central(5.0, 1.6, 2.4, landmarks=barely)["central_pattern"]
    assert not central(2.5, 1.6, 2.4, landmarks=barely)["central_pattern"]


def test_a_mouth_moving_under_half_of_the_other_is_at_least_iv_though_the_forehead_moves():
    """A central palsy: brow and eyes move as the other side, the mouth's corners far weaker.
    The face's mean movement stays near normal, so the scale's points alone say I or II; the
    mouth on the same points is "asymmetric mouth with maximum effort", IV, when it moves half
    of normal or less (as a fully weakened mouth injected into real faces did, graded III before),
    and "slightly weak", III, above that (points 5-6 of 8)."""
    def task(left, right):
        return {"graded": True, "excursion": {"left": left, "right": right}}

    def hb(smile_left, snarl_left):
        tasks = {"brow_raise": task(5.0, 5.0), "tight_eye_closure": task(1.0, 1.0),
                 "gentle_eye_closure": task(0.95, 0.95), "smile": task(smile_left, 8.0),
                 "snarl": task(snarl_left, 4.0)}
        g = grade_exam({"tasks": tasks, "rest": _rest()})
        assert g["weakness_z"]["lower"] >= 3.5, g["weakness_z"]
        return g["grades"]["house_brackmann"]

    still = hb(1.2, 0.4)  # a sixth and a tenth of the other side
    assert still["grade"] == 4 and "asymmetric mouth with maximum effort" in still["reasons"][-1], still
    slight = hb(6.4, 0.6)  # a normal smile, a snarl at 15 %: normal-scaled 1.0 and 0.19, 5 points of 8
    assert slight["grade"] == 3 and "slightly weak" in slight["reasons"][-1], slight


def _rest():
    sig, _ = simulate_exam_signals(1.0, random_state=3)
    return task_measures(sig, segments_from_protocol(P), P)["rest"]


def test_a_task_made_with_too_little_effort_says_how_much_each_measure_needs():
    sig, _ = simulate_exam_signals(1.0, random_state=2)
    segs = segments_from_protocol(P)
    t = sig["time_s"].to_numpy()
    for task, cols, scale in (("smile", ("mouth_corner_drop", "commissure_lateral"), 0.05),
                              ("tight_eye_closure", ("eye_aperture",), 0.05)):
        seg = next(s for s in segs if s.task == task)
        rest = next(s for s in segs if s.task == "rest")
        m = (t >= seg.start_s) & (t < seg.end_s)
        r = (t >= rest.start_s) & (t < rest.end_s)
        for c in cols:  # the movement cut to a twentieth of the exam's
            for side in ("left", "right"):
                col = f"{c}_{side}_mm"
                base = sig.loc[r, col].median()
                sig.loc[m, col] = base + scale * (sig.loc[m, col] - base)
    tasks = task_measures(sig, segs, P)["tasks"]
    smile, eyes = tasks["smile"], tasks["tight_eye_closure"]
    assert not smile["graded"] and not eyes["graded"]
    assert re.search(r"moved \d+\.\d mm, at least 3\.5 mm is needed", smile["reason"]), smile["reason"]
    assert re.search(r"moved \d+% of the eye's opening, at least \d+% of the eye's opening", eyes["reason"]), eyes["reason"]


def test_smile_with_the_mouth_open_as_in_speech_is_not_graded():
    sig, _ = simulate_exam_signals(0.3, "right", random_state=2)
    segs = segments_from_protocol(P)
    smile = next(s for s in segs if s.task == "smile")
    t = sig["time_s"].to_numpy()
    sig.loc[(t >= smile.start_s) & (t < smile.end_s), "mouth_open_mm"] = 15.0
    m = task_measures(sig, segs, P)["tasks"]["smile"]
    assert not m["graded"] and "open 15 mm" in m["reason"] and "speech" in m["reason"]
    assert task_measures(simulate_exam_signals(0.3, "right", random_state=2)[0], segs, P)["tasks"]["smile"]["graded"]


def test_a_smile_on_a_mouth_that_rests_open_is_graded():
    """Lips 11 mm apart at rest and 11.5 mm at the smile's peak (the rendered astronaut rests
    with them so): the mouth did not open for the smile, which is graded; from lips 2 mm apart at
    rest the same 11.5 mm is a mouth opened as in speech, and is not."""
    segs = segments_from_protocol(P)
    smile = next(s for s in segs if s.task == "smile")

    def graded(rest_mm):
        sig, _ = simulate_exam_signals(0.3, "right", random_state=2)
        t = sig["time_s"].to_numpy()
        sig["mouth_open_mm"] = rest_mm
        sig.loc[(t >= smile.start_s) & (t < smile.end_s), "mouth_open_mm"] = 11.5
        return task_measures(sig, segs, P)["tasks"]["smile"]

    assert graded(11.0)["graded"]
    opened = graded(2.0)
    assert not opened["graded"] and "open 12 mm" in opened["reason"], opened["reason"]


def test_a_measure_just_past_its_limit_is_not_shown_equal_to_it():
    """A smile with the lips 10.04 mm apart, where at most 10 are graded, used to read "the mouth
    was open 10 mm ... (at most 10 mm ...)": it now reads 10.04. A figure clearly past its limit
    keeps its usual decimals."""
    segs = segments_from_protocol(P)
    smile = next(s for s in segs if s.task == "smile")
    sig, _ = simulate_exam_signals(0.3, "right", random_state=2)
    t = sig["time_s"].to_numpy()
    sig["mouth_open_mm"] = 2.0
    sig.loc[(t >= smile.start_s) & (t < smile.end_s), "mouth_open_mm"] = 10.04
    reason = task_measures(sig, segs, P)["tasks"]["smile"]["reason"]
    assert "open 10.04 mm" in reason and "at most 10 mm" in reason, reason
    assert [shown_against(12.0, 10.0), shown_against(9.98, 10.0), shown_against(2.46, 2.5, 1),
            shown_against(1.2, 2.5, 1)] == ["12", "9.98", "2.46", "1.2"]


def test_a_snarl_with_the_mouth_open_as_in_a_laugh_is_not_graded():
    """A snarl caught with the lips 12 mm apart is a laugh or speech (a healthy man laughing with
    his eyes shut read as a snarl with one side not moving at all): not graded, and the redo
    says to keep the teeth together."""
    sig, _ = simulate_exam_signals(0.3, "right", random_state=2)
    segs = segments_from_protocol(P)
    assert task_measures(sig, segs, P)["tasks"]["snarl"]["graded"]
    snarl = next(s for s in segs if s.task == "snarl")
    t = sig["time_s"].to_numpy()
    sig.loc[(t >= snarl.start_s) & (t < snarl.end_s), "mouth_open_mm"] = 12.0
    m = task_measures(sig, segs, P)["tasks"]["snarl"]
    assert not m["graded"] and "open 12 mm at the snarl's peak" in m["reason"] and "teeth together" in m["reason"]


def test_a_corner_difference_healthy_faces_show_in_eye_closure_is_no_synkinesis():
    """Healthy real faces' corners move up to 2.6 mm more on one side than the other while the
    eyes close gently with the mouth at rest: not oral synkinesis. A clearly larger pull is."""
    m = task_measures(simulate_exam_signals(0.7, "right", random_state=2)[0], segments_from_protocol(P), P)
    co = m["tasks"]["gentle_eye_closure"]["co_movement"]
    co["lips_moved_mm"] = 0.3
    for extra, found in ((2.6, False), (3.5, True)):
        co["corner_move_mm"] = {"right": 3.0 + extra, "left": 3.0}
        synk = grade_exam(m)["synkinesis"]
        assert synk["side"] == "right"
        assert synk["oral"] is found, (extra, synk["per_expression"]["gentle_eye_closure"])


def test_synkinesis_detected_when_injected():
    g = grade(0.7, synk=1.0)
    assert g["synkinesis"]["detected"] and g["synkinesis"]["ocular"] and g["synkinesis"]["oral"]
    assert g["grades"]["house_brackmann"]["grade"] >= 3
    assert g["grades"]["sunnybrook"]["synkinesis"] > 0
    assert not grade(0.7, synk=0.0)["synkinesis"]["detected"]


def test_ocular_synkinesis_only_in_graded_tasks():
    """An eye narrowing in a smile caught with the mouth open (a laugh, speech: the smile is not
    graded) is not judged as synkinesis; the tasks made as asked still are, and where none of
    them was, ocular synkinesis is "not assessed", with the reason in the report."""
    from facenerve.exam.report import _synkinesis_text

    sig, _ = simulate_exam_signals(0.7, "right", synkinesis=1.0, random_state=2)
    segs = segments_from_protocol(P)
    t = sig["time_s"].to_numpy()
    smile = next(s for s in segs if s.task == "smile")
    sig.loc[(t >= smile.start_s) & (t < smile.end_s), "mouth_open_mm"] = 15.0
    m = task_measures(sig, segs, P)
    synk = grade_exam(m)["synkinesis"]
    assert "not graded" in synk["per_expression"]["smile"]["not_assessed"]
    assert synk["per_expression"]["smile"]["level"] == 0 and synk["per_expression"]["snarl"]["level"] > 0
    assert synk["ocular"]
    for task in ("snarl", "lip_pucker"):
        m["tasks"][task]["graded"] = False
    none_graded = grade_exam(m)["synkinesis"]
    assert not none_graded["ocular"]
    assert "ocular not assessed: the smile itself was not graded" in _synkinesis_text(none_graded)


def test_ocular_synkinesis_not_judged_with_both_eyes_shut():
    """A smile laughed with both eyes shut (real faces do: LivePortrait d9) leaves no room for
    one eye to narrow more than the other: not assessed there, not "none found"."""
    sig, _ = simulate_exam_signals(0.7, "right", synkinesis=1.0, random_state=2)
    m = task_measures(sig, segments_from_protocol(P), P)
    assert grade_exam(m)["synkinesis"]["per_expression"]["smile"]["level"] > 0
    m["tasks"]["smile"]["co_movement"]["eye_narrowing"] = {"left": 1.0, "right": 0.95}
    smile = grade_exam(m)["synkinesis"]["per_expression"]["smile"]
    assert smile["level"] == 0 and "both eyes were shut" in smile["not_assessed"]


def test_oral_synkinesis_only_with_the_mouth_at_rest():
    """A corner pulled on one side during gentle eye closure is oral synkinesis; the same pull
    while the lips part and close as in speech (a healthy real face talking through a blink) is
    not assessed, and says why."""
    sig, _ = simulate_exam_signals(0.7, "right", synkinesis=1.0, random_state=2)
    segs = segments_from_protocol(P)
    g = grade_exam(task_measures(sig, segs, P))
    assert g["synkinesis"]["oral"] and g["synkinesis"]["detected"]
    closure = next(s for s in segs if s.task == "gentle_eye_closure")
    t = sig["time_s"].to_numpy()
    inside = (t >= closure.start_s) & (t < closure.end_s)
    sig.loc[inside, "mouth_open_mm"] += 5.0 + 5.0 * np.sin(2 * np.pi * 4 * t[inside])  # talking
    m = task_measures(sig, segs, P)
    assert m["tasks"]["gentle_eye_closure"]["co_movement"]["lips_moved_mm"] > 8
    talking = grade_exam(m)["synkinesis"]
    assert not talking["oral"]
    assert "speech" in talking["per_expression"]["gentle_eye_closure"]["not_assessed"]
    from facenerve.exam.report import _synkinesis_text

    assert "oral not assessed: the lips parted" in _synkinesis_text(talking)
    # a flag comes with the figures behind it
    assert "oral found (gentle eye closure: " in _synkinesis_text(g["synkinesis"])
    assert "mm more than the other side" in _synkinesis_text(g["synkinesis"])


@pytest.mark.slow
def test_exam_command_on_a_rendered_palsy(tmp_path):
    """Render a right-sided palsy, grade it with the CLI, feed the summary to triage."""
    from facenerve.simulate.render import render_exam_video

    from .test_cli import run

    video = tmp_path / "palsy.mp4"
    render_exam_video(video, factor=0.2, side="right", fps=15, random_state=5)
    out = tmp_path / "out"
    r = run("exam", str(video), "--out", str(out), "--tasks", str(video.with_suffix(".tasks.json")), "--quiet")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())["exam"]
    assert s["weaker_side"] == "right"
    assert s["grades"]["house_brackmann"]["grade"] >= 4
    assert s["grades"]["sunnybrook"]["composite"] < 70
    html = (out / "report.html").read_text()
    assert html.count("data:image/png") >= 8  # left/right chart + keyframes
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"complaints": ["weakness"], "onset": "hours"}))
    t = run("triage", str(answers), "--findings", str(out / "summary.json"))
    assert t.returncode == 0, t.stderr
    res = json.loads(t.stdout)
    assert res["findings"]["video_weak_side"] == "right"
    # the exam without task times finds them itself
    r = run("exam", str(video), "--out", str(tmp_path / "auto"), "--quiet")
    assert r.returncode == 0, r.stderr
    segs = json.loads((tmp_path / "auto" / "tasks.json").read_text())["tasks"]
    assert [s["task"] for s in segs] == [t.id for t in P.tasks]


def test_an_exam_video_of_a_face_too_small_to_measure_is_refused_as_a_photo_is(tmp_path):
    """A face with under 40 pixels between the pupils (a pixel over 1.5 mm) is not graded from
    video either: one line, exit 2, nothing written. Found at any size since small faces are
    followed in a crop, it was graded like any other (and so is a photo of one)."""
    from facenerve.simulate.render import render_exam_video

    from .test_cli import run

    video = tmp_path / "small.mp4"
    render_exam_video(video, factor=1.0, fps=5, size=220, head_motion=False, random_state=1)
    out = tmp_path / "out"
    r = run("exam", str(video), "--out", str(out), "--tasks", str(video.with_suffix(".tasks.json")), "--quiet")
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "small.mp4 is too small to measure" in line and "at least 40 are needed; film it closer" in line
    assert not out.exists()


def test_exam_bad_inputs_one_line(tmp_path, tiny_videos):
    from .test_cli import run

    r = run("exam", str(tiny_videos / "notes.txt"), "--out", str(tmp_path / "o"), "--quiet")
    assert r.returncode == 2 and r.stderr.startswith("facenerve: error:") and r.stderr.count("\n") == 1
    bad = tmp_path / "t.json"
    bad.write_text("[]")
    r = run("exam", str(tiny_videos / "noface.mp4"), "--out", str(tmp_path / "o"), "--tasks", str(bad))
    assert r.returncode == 2 and "task file" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_normal_face_scores_from_real_blinks(wolfgang_result):
    from facenerve.evaluation.normals import normal_face_scores

    s = normal_face_scores(wolfgang_result)
    assert s is not None and 0 <= s["score"] <= 100
    assert set(s["static_items"]) == {"brow", "palpebral_fissure", "oral_commissure"}
    assert np.isfinite(s["score"])


def test_the_rendered_set_summary_counts_an_ungraded_exam_and_still_reports():
    """An exam the grader declines (no grade: "not enough to judge") is listed as not graded,
    counts against agreement, and is left out of the orderings and the correlation."""
    from facenerve.evaluation.exams import summarize_exams

    def row(i, f, hb, sb, **kw):
        return {"video": f"e{i}.mp4", "factor": f, "side": "left", "central": False, "synkinesis": False,
                "implied_hb": hb or 4, "hb": hb, "sunnybrook": sb, "eface": None, "weaker_side": "left",
                "central_flag": False, "synkinesis_found": False, **kw}

    rows = [row(0, 0.0, 5, 30.0), row(1, 0.4, 4, 60.0), row(2, 0.5, None, None), row(3, 0.8, 3, 80.0),
            row(4, 1.0, 1, 100.0, weaker_side="none")]
    s = summarize_exams(rows)
    assert s["not_graded"] == ["e2.mp4"]
    assert s["house_brackmann_within_one_pct"] == 80.0 and s["house_brackmann_monotonic"]
    assert s["sunnybrook_spearman_vs_factor"] == 1.0 and s["sunnybrook_monotonic"]


def test_a_task_whose_head_was_tilted_too_far_says_so():
    """A task the face was found in, but tilted beyond the measuring limits, is not graded with
    the head's angles and what to do, not "turned away, hidden or out of the picture"."""
    sig, _ = simulate_exam_signals(0.0, "left", random_state=3)
    segs = segments_from_protocol(P)
    t = sig["time_s"].to_numpy()
    smile = next(s for s in segs if s.task == "smile")
    inside = (t >= smile.start_s) & (t < smile.end_s)
    sig.loc[inside, "head_pitch_deg"] = 31.0
    sig.loc[inside, "quality_ok"] = False
    reason = task_measures(sig, segs, P)["tasks"]["smile"]["reason"]
    assert "tilted up or down 31 " in reason and "face the camera squarely" in reason, reason
    sig.loc[inside, "face_detected"] = False
    assert "turned away, hidden" in task_measures(sig, segs, P)["tasks"]["smile"]["reason"]
