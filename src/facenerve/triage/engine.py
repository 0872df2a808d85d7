"""The triage engine: answers (+ video findings) -> urgency, ranked differential, reasons.

Shape contract
    in:  answers (mapping, vocabulary of knowledge/questions.yaml), optional findings (a video
         summary or ``video_*`` mapping)
    out: dict, JSON-ready: ``urgency`` (self_care|routine|urgent|emergency) with its reasons,
         ``differential`` [{condition, name, score 0-1, reasons [{rule, text, source, weight}]}]
         ranked, ``red_flags``, ``advice`` {now, tell_doctor, eye_care, lifestyle, treatments},
         ``next_question`` (the unanswered question that would most change the result),
         ``answers`` and ``findings`` as used, ``disclaimer``.

Method: every rule whose when-clause holds adds its weights to the log-odds of the
conditions it names; scores are the softmax over conditions. Urgency is the highest of the
floors set by fired rules (red flags) and the contextual level of the top-ranked condition and
of any condition at least ``policy.consider_score`` probable. All knowledge is data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .answers import clean_answers
from .findings import findings_from_summary
from .knowledge import LEVELS, Knowledge, Question, Rule, load_knowledge
from .logic import holds

RANK = {level: i for i, level in enumerate(LEVELS)}


@dataclass
class _Eval:
    fired: list[Rule]
    scores: dict[str, float]  # condition -> probability, ranked
    urgency: str
    urgency_reasons: list[dict[str, Any]]


def _condition_level(cid: str, facts: Mapping[str, Any], k: Knowledge) -> tuple[str, str, str]:
    c = k.conditions[cid]
    for u in c.get("urgency_when", []):
        if holds(u["when"], facts, k.facts):
            return u["level"], u["why"], u["source"]
    level = {"self_care": "self-care", "routine": "a routine appointment", "urgent": "an urgent review",
             "emergency": "emergency care"}.get(c["urgency"], c["urgency"])
    return c["urgency"], f"it usually calls for {level}", c["source"]


def _evaluate(facts: Mapping[str, Any], k: Knowledge) -> _Eval:
    ids = list(k.conditions)
    logit = dict.fromkeys(ids, 0.0)
    fired = [r for r in k.rules if holds(r.when, facts, k.facts)]
    for r in fired:
        for cid, w in r.scores.items():
            logit[cid] += w
    x = np.array([logit[c] for c in ids]) / k.policy.get("temperature", 1.0)
    p = np.exp(x - x.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    scores = {ids[i]: float(p[i]) for i in order}

    reasons: list[dict[str, Any]] = []
    for r in fired:
        if r.urgency:
            reasons.append({"level": r.urgency, "rule": r.id, "text": r.text, "source": r.source})
    informative = any(r.scores for r in fired)
    if informative:
        consider = k.policy.get("consider_score", 0.25)
        ranked = list(scores)
        for i, cid in enumerate(ranked):
            if i == 0 or scores[cid] >= consider:
                level, why, src = _condition_level(cid, facts, k)
                reasons.append({"level": level, "condition": cid,
                                "text": f"{k.conditions[cid]['name']} ({scores[cid]:.0%}): {why}",
                                "source": src})
    if not reasons:
        reasons.append({"level": "routine", "text": "not enough answers to judge; a doctor can",
                        "source": "clinical_reference"})
    urgency = max((r["level"] for r in reasons), key=RANK.__getitem__)
    top_reasons = [r for r in reasons if r["level"] == urgency]
    return _Eval(fired, scores, urgency, top_reasons)


def _probe_values(q: Question) -> list[Any]:
    if q.type == "number":
        return list(q.probe)
    if q.type == "multi":
        return [[v] for v in q.allowed]
    if q.type == "yesno":
        return ["yes", "no"]
    return [v for v in q.allowed if v != "unknown"]


def _change(a: _Eval, b: _Eval) -> float:
    tv = 0.5 * sum(abs(a.scores[c] - b.scores[c]) for c in a.scores)
    top_changed = next(iter(a.scores)) != next(iter(b.scores))
    return 3 * abs(RANK[a.urgency] - RANK[b.urgency]) + 2 * top_changed + tv


def applicable(q: Question, answers: Mapping[str, Any], k: Knowledge) -> bool:
    """True when the question applies given the answers so far (its ask_if holds)."""
    return q.ask_if is None or holds(q.ask_if, answers, k.facts)


def next_question(facts: Mapping[str, Any], answers: Mapping[str, Any], base: _Eval,
                  k: Knowledge) -> dict[str, Any] | None:
    """The unanswered, applicable question whose possible answers would change the result most."""
    best: tuple[float, Question, Any] | None = None
    for q in k.questions.values():
        if q.id in answers or not applicable(q, answers, k):
            continue
        for v in _probe_values(q):
            alt = _evaluate({**facts, q.id: v}, k)
            c = _change(base, alt)
            if best is None or c > best[0] + 1e-9:
                best = (c, q, v)
    if best is None or best[0] < 0.02:
        return None
    c, q, v = best
    return {"id": q.id, "text": q.text, "help": q.help or None,
            "why": f"answering {v!r} would change the result most (change {c:.2f})"}


def _describe(value: Any, q: Question) -> str:
    if isinstance(value, list):
        value = ", ".join(v.replace("_", " ") for v in value) or "none"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        value = value.replace("_", " ")
    return f"{q.label}: {value}"


def _advice(ev: _Eval, facts: Mapping[str, Any], k: Knowledge) -> dict[str, Any]:
    adv = k.advice
    top = next(iter(ev.scores))
    shown = [c for c, s in ev.scores.items() if c == top or s >= 0.15][:3]
    tell = [_describe(facts[key], k.fields[key]) for key in k.fields if key in facts]
    if ev.urgency == "emergency":
        tell.insert(0, "The exact time the symptoms started, or when you were last seen well.")
    if any(r.red_flag for r in ev.fired):
        tell.append("The warning signs listed here.")
    out: dict[str, Any] = {
        "now": adv["urgency"][ev.urgency]["now"],
        "source": adv["urgency"][ev.urgency]["source"],
        "citation": k.cite(adv["urgency"][ev.urgency]["source"]),
        "tell_doctor": tell,
        "treatments": [
            {"condition": c, **t, "citation": k.cite(t["source"])}
            for c in shown for t in k.conditions[c].get("treatments", [])
        ],
    }
    palsy = {"bells_palsy", "ramsay_hunt", "lyme_palsy", "guillain_barre"}
    if facts.get("eye_closes_fully") == "no" or (top in palsy and "weakness" in facts.get("complaints", [])):
        out["eye_care"] = {**adv["eye_care"], "citation": k.cite(adv["eye_care"]["source"])}
    if k.conditions[top].get("lifestyle") and ev.urgency in ("self_care", "routine"):
        out["lifestyle"] = {**adv["lifestyle"], "citation": k.cite(adv["lifestyle"]["source"])}
    return out


def triage(answers: Mapping[str, Any], findings: Mapping[str, Any] | None = None, *,
           knowledge: Knowledge | None = None, ask_next: bool = True) -> dict[str, Any]:
    """Rank conditions and judge urgency from answers and optional video findings."""
    k = knowledge or load_knowledge()
    clean = clean_answers(answers, k)
    video = clean_answers(findings_from_summary(findings), k, allow_findings=True) if findings else {}
    facts = {**clean, **video}
    ev = _evaluate(facts, k)
    by_cond: dict[str, list[dict[str, Any]]] = {c: [] for c in ev.scores}
    for r in ev.fired:
        for cid, w in r.scores.items():
            by_cond[cid].append({"rule": r.id, "weight": w, "text": r.text, "source": r.source,
                                 "citation": k.cite(r.source)})
    differential = [
        {"condition": c, "name": k.conditions[c]["name"], "score": round(s, 3),
         "reasons": sorted(by_cond[c], key=lambda x: -x["weight"])}
        for c, s in ev.scores.items()
    ]
    return {
        "disclaimer": k.advice["disclaimer"],
        "urgency": ev.urgency,
        "urgency_label": k.advice["urgency"][ev.urgency]["label"],
        "urgency_reasons": [{**r, "citation": k.cite(r["source"])} for r in ev.urgency_reasons],
        "differential": differential,
        "red_flags": [{"rule": r.id, "text": r.text, "source": r.source, "citation": k.cite(r.source)}
                      for r in ev.fired if r.red_flag],
        "advice": _advice(ev, facts, k),
        "next_question": next_question(facts, clean, ev, k) if ask_next else None,
        "answers": clean,
        "findings": video,
        "rules_fired": [r.id for r in ev.fired],
    }
