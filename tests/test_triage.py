"""Triage: knowledge integrity, answer checking, red flags, video findings, vignettes, commands."""

from __future__ import annotations

import json
import random

import pytest

from facenerve.errors import InputError
from facenerve.evaluation.triage import PACKAGED, evaluate_triage, load_cases
from facenerve.triage import triage
from facenerve.triage.engine import RANK
from facenerve.triage.findings import findings_from_summary
from facenerve.triage.knowledge import KnowledgeError, _check_clause, load_knowledge

from .test_cli import run

CONDITIONS = {"hemifacial_spasm", "blepharospasm", "eyelid_myokymia", "bells_palsy", "ramsay_hunt",
              "lyme_palsy", "stroke", "guillain_barre", "synkinesis", "tumour", "other"}
BEFAST = ["arm_or_leg_weakness", "slurred_speech", "vision_change", "double_vision", "dizziness",
          "imbalance", "severe_headache"]


def test_knowledge_complete_and_cited():
    k = load_knowledge()
    assert set(k.conditions) == CONDITIONS
    for c in k.conditions.values():
        assert c["treatments"] and c["course"] and c["description"]
    for r in k.rules:
        assert r.source in k.sources and r.text
    # every condition can be argued for by at least one rule
    supported = {c for r in k.rules for c, w in r.scores.items() if w > 0}
    assert supported == CONDITIONS


@pytest.mark.parametrize("clause", [
    {"complaint": {"has": "twitching"}},           # unknown field
    {"complaints": {"has": "twitch"}},             # unknown value
    {"age": {"has": 3}},                           # list operator on a number
    {"fact": "no_such_fact"},
    {"side": {"between": ["left", "right"]}},      # unknown operator
])
def test_knowledge_typos_fail_loudly(clause):
    with pytest.raises(KnowledgeError):
        _check_clause(clause, load_knowledge(), "test")


@pytest.mark.parametrize("answers,fragment", [
    ({"complaint": ["twitching"]}, "unknown answer key 'complaint'"),
    ({"complaints": ["twitch"]}, "complaints takes a list of"),
    ({"side": "top"}, "side takes one of"),
    ({"age": "old"}, "age takes a number"),
    ({"age": 300}, "age takes a number"),
    ({"twitch_in_sleep": "maybe"}, "twitch_in_sleep takes one of: yes, no, unknown"),
    ([1, 2], "JSON object"),
])
def test_bad_answers_are_one_clear_error(answers, fragment):
    with pytest.raises(InputError) as e:
        triage(answers)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_unknowns_still_answer_and_ask_the_most_useful_question():
    r = triage({})
    assert r["urgency"] in RANK and len(r["differential"]) == len(CONDITIONS)
    assert r["next_question"]["id"] == "complaints"
    # a sudden droop with nothing else known: the forehead question decides central vs peripheral
    r = triage({"complaints": ["weakness"], "side": "left", "onset": "hours",
                "other_symptoms": [], "eye_closes_fully": "no"})
    assert r["next_question"]["id"] in ("forehead_moves_on_weak_side", "weak_regions")
    # booleans and "unknown" are understood
    r2 = triage({"complaints": ["twitching"], "twitch_in_sleep": True, "side": "unknown"})
    assert r2["answers"] == {"complaints": ["twitching"], "twitch_in_sleep": "yes"}


@pytest.mark.parametrize("sign", BEFAST)
def test_befast_sign_with_facial_weakness_is_always_emergency(sign):
    base = {"complaints": ["weakness"], "side": "right", "onset": "hours",
            "weak_regions": ["forehead", "eye_closure", "mouth"], "forehead_moves_on_weak_side": "no",
            "eye_closes_fully": "no", "other_symptoms": ["taste_change"]}
    assert triage(base)["urgency"] == "urgent"
    r = triage({**base, "other_symptoms": ["taste_change", sign]})
    assert r["urgency"] == "emergency"
    assert r["red_flags"] and all(f["source"] for f in r["red_flags"])


def test_benign_flicker_is_self_care_with_lifestyle_advice():
    r = triage({"complaints": ["twitching"], "side": "left", "onset": "days",
                "twitch_regions": ["lower_eyelid"], "triggers": ["caffeine", "fatigue"]})
    assert r["urgency"] == "self_care"
    assert r["differential"][0]["condition"] == "eyelid_myokymia"
    assert any("caffeine" in t for t in r["advice"]["lifestyle"]["items"])
    assert r["red_flags"] == []


def test_adding_a_red_flag_never_lowers_urgency():
    """Property over random answer sets: a red-flag symptom can only raise the urgency."""
    k = load_knowledge()
    rng = random.Random(0)
    qs = [q for q in k.questions.values() if q.type != "number"]
    for _ in range(150):
        answers = {}
        for q in rng.sample(qs, 6):
            if q.type == "multi":
                answers[q.id] = rng.sample(list(q.allowed), rng.randint(0, 2))
            else:
                answers[q.id] = rng.choice([v for v in q.allowed if v != "unknown"])
        answers["complaints"] = rng.sample(["twitching", "weakness", "numbness"], rng.randint(1, 2))
        before = RANK[triage(answers, ask_next=False)["urgency"]]
        sym = sorted(set(answers.get("other_symptoms", [])) | {rng.choice(BEFAST)})
        after = triage({**answers, "other_symptoms": sym}, ask_next=False)["urgency"]
        assert RANK[after] >= before
        if set(answers["complaints"]) & {"weakness", "numbness"} and answers.get("side") != "both":
            assert after == "emergency", answers


def test_video_findings_from_an_analysis_summary(example_result):
    from facenerve.twitch.outputs import build_summary

    f = findings_from_summary(build_summary(example_result))
    assert f["video_twitch_side"] == "left"  # the bundled example is a left-sided spasm
    assert f["video_twitch_regions"] and f["video_twitches_per_min"] > 0
    r = triage({"complaints": ["twitching"]}, build_summary(example_result))
    assert r["differential"][0]["condition"] == "hemifacial_spasm"
    assert any(x["rule"].startswith("hfs_video") for x in r["differential"][0]["reasons"])
    with pytest.raises(InputError):
        findings_from_summary({"video": {}})


def test_the_other_babinski_sign_is_not_taken_from_video(example_result):
    """FaceMesh's brow points rise with a closing lid alone, so no summary's brow, not even one
    saved when the sign was read from them, speaks for the other Babinski sign; given as a
    finding of its own (a clinician's observation), it still counts."""
    from facenerve.twitch.outputs import build_summary

    summary = build_summary(example_result)
    assert "brow_raise" not in example_result.events.columns
    assert all("other_babinski_sign" not in v for v in summary["twitch"]["per_side"].values())
    for side in summary["twitch"]["per_side"].values():
        side["other_babinski_sign"] = True  # as summaries written before this said
    assert "video_other_babinski" not in findings_from_summary(summary)
    told = triage({"complaints": ["twitching"]}, {"video_other_babinski": "yes"}, ask_next=False)
    assert any(x["rule"] == "hfs_video_babinski" for d in told["differential"] for x in d["reasons"])


def test_spared_forehead_from_exam_raises_central_cause():
    exam = {"exam": {"weaker_side": "left", "forehead_sparing": {"detected": True},
                     "synkinesis": {"detected": False}, "grades": {"house_brackmann": {"grade": 3}}}}
    r = triage({"complaints": ["weakness"], "side": "left", "onset": "hours"}, exam)
    assert r["urgency"] == "emergency"
    assert r["differential"][0]["condition"] == "stroke"


def test_vignettes_cover_every_condition_and_meet_targets():
    cases = load_cases(PACKAGED)
    assert len(cases) >= 40
    assert {c["condition"] for c in cases} == CONDITIONS
    r = evaluate_triage(PACKAGED)
    assert r["emergency_sensitivity_pct"] == 100.0
    assert r["under_triage"] == 0
    assert r["triage_accuracy_pct"] >= 90
    assert r["top1_pct"] >= 85
    assert r["top3_pct"] >= 95


def test_cli_triage_json_text_fhir(tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"complaints": ["weakness"], "side": "right", "onset": "minutes",
                                   "other_symptoms": ["slurred_speech"]}))
    r = run("triage", str(answers))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["urgency"] == "emergency" and out["differential"][0]["condition"] == "stroke"
    r = run("triage", str(answers), "--format", "text")
    assert r.returncode == 0 and "URGENCY: Emergency" in r.stdout and "not a diagnosis" in r.stdout
    fhir = tmp_path / "bundle.json"
    r = run("triage", str(answers), "--fhir", str(fhir))
    assert r.returncode == 0, r.stderr
    bundle = json.loads(fhir.read_text())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["QuestionnaireResponse", "RiskAssessment"]
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)  # valid FHIR, checked by the library
    ra = bundle["entry"][1]["resource"]
    assert ra["prediction"][0]["outcome"]["coding"][0]["code"] == "stroke"


@pytest.mark.parametrize("content,fragment", [
    ("{bad json", "not valid JSON"),
    ('{"complaints": ["hiccups"]}', "complaints takes a list of"),
])
def test_cli_triage_bad_file_one_line(tmp_path, content, fragment):
    f = tmp_path / "a.json"
    f.write_text(content)
    r = run("triage", str(f))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and fragment in r.stderr and "Traceback" not in r.stderr
    r = run("triage", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_interactive_skips_questions_that_do_not_apply(tmp_path):
    from facenerve.triage.interactive import run_questionnaire

    replies = iter(["2", "70", "", "1", "1", "", "", "3", "3", "yes", "yes", "2, slurred speech"])
    prompts: list[str] = []

    def ask(prompt):
        prompts.append(prompt)
        try:
            return next(replies)
        except StopIteration:
            raise EOFError from None

    answers = run_questionnaire(ask=ask, say=lambda s: None)
    assert answers["complaints"] == ["weakness"] and answers["onset"] == "minutes"
    assert answers["other_symptoms"] == ["slurred_speech"]
    asked = "\n".join(prompts)
    assert "Where does it twitch" not in asked  # twitching questions skipped for weakness
    assert "wrinkle your forehead" in asked
    assert triage(answers)["urgency"] == "emergency"
    # the command reads stdin and prints the text result
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "facenerve.cli", "triage", "--interactive",
                        "--save-answers", str(tmp_path / "saved.json")],
                       input="1\n30\n\n1\n3\n", capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "URGENCY:" in p.stdout
    assert json.loads((tmp_path / "saved.json").read_text())["complaints"] == ["twitching"]


def test_cli_evaluate_triage_on_bundled_vignettes():
    r = run("evaluate", "triage")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cases"] >= 40 and out["emergency_sensitivity_pct"] == 100.0
