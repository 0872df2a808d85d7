"""Load and check the triage knowledge (YAML in ``facenerve/knowledge``).

Shape contract
    in:  the packaged YAML files questions.yaml, conditions.yaml, rules.yaml, sources.yaml,
         advice.yaml
    out: ``Knowledge`` (frozen): questions and findings by id, conditions, facts, rules,
         sources and policy. Loading checks every reference (sources, conditions, fields,
         values, facts, operators) so that a typo in the data fails loudly, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

LEVELS = ("self_care", "routine", "urgent", "emergency")
LIST_OPS = {"has", "has_any", "has_all", "has_none", "only"}
SCALAR_OPS = {"is", "in"}
NUM_OPS = {"gt", "ge", "lt", "le"}
OPS = LIST_OPS | SCALAR_OPS | NUM_OPS | {"known"}
YESNO = ("yes", "no", "unknown")


class KnowledgeError(ValueError):
    """The knowledge files are inconsistent (a bug in the data, not a user error)."""


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # number | choice | multi | yesno
    text: str
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    ask_if: dict[str, Any] | None = None
    probe: tuple[float, ...] = ()
    help: str = ""
    finding: bool = False
    label: str = ""

    @property
    def allowed(self) -> tuple[str, ...]:
        return YESNO if self.type == "yesno" else self.values


@dataclass(frozen=True)
class Rule:
    id: str
    when: dict[str, Any]
    scores: dict[str, float]
    text: str
    source: str
    urgency: str | None = None
    red_flag: bool = False


@dataclass(frozen=True)
class Knowledge:
    questions: dict[str, Question]
    findings: dict[str, Question]
    conditions: dict[str, dict[str, Any]]
    facts: dict[str, dict[str, Any]]
    rules: tuple[Rule, ...]
    sources: dict[str, str]
    advice: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, float] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, Question]:
        return {**self.questions, **self.findings}

    def cite(self, source_id: str) -> str:
        return self.sources[source_id]


def _read(name: str) -> dict[str, Any]:
    text = resources.files("facenerve").joinpath("knowledge", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _question(d: dict[str, Any], finding: bool) -> Question:
    return Question(
        id=d["id"], type=d["type"], text=d["text"], values=tuple(d.get("values", ())),
        min=d.get("min"), max=d.get("max"), ask_if=d.get("ask_if"),
        probe=tuple(d.get("probe", ())), help=d.get("help", ""), finding=finding,
        label=d.get("label", d["text"]),
    )


def _check_clause(clause: Any, k: Knowledge, where: str) -> None:
    if not isinstance(clause, dict):
        raise KnowledgeError(f"{where}: a clause must be a mapping, got {clause!r}")
    fields = k.fields
    for key, val in clause.items():
        if key in ("all", "any"):
            if not isinstance(val, list):
                raise KnowledgeError(f"{where}: {key} takes a list")
            for c in val:
                _check_clause(c, k, where)
        elif key == "not":
            _check_clause(val, k, where)
        elif key == "fact":
            if val not in k.facts:
                raise KnowledgeError(f"{where}: unknown fact {val!r}")
        elif key in fields:
            q = fields[key]
            tests = val if isinstance(val, dict) else {"is": val}
            for op, arg in tests.items():
                if op not in OPS:
                    raise KnowledgeError(f"{where}: unknown operator {op!r} on {key}")
                if op in NUM_OPS and q.type != "number":
                    raise KnowledgeError(f"{where}: {op} on non-numeric {key}")
                if op in LIST_OPS and q.type != "multi":
                    raise KnowledgeError(f"{where}: {op} on {key}, which is not a list")
                if op == "known":
                    continue
                args = arg if isinstance(arg, list) else [arg]
                if q.type != "number":
                    bad = [a for a in args if a not in q.allowed]
                    if bad:
                        raise KnowledgeError(f"{where}: {key} has no value {bad}")
        else:
            raise KnowledgeError(f"{where}: unknown field {key!r}")


def _validate(k: Knowledge) -> None:
    for cid, c in k.conditions.items():
        for key in ("name", "description", "course", "source", "urgency"):
            if key not in c:
                raise KnowledgeError(f"condition {cid}: missing {key}")
        if c["urgency"] not in LEVELS:
            raise KnowledgeError(f"condition {cid}: bad urgency {c['urgency']}")
        for t in c.get("treatments", []):
            if t["source"] not in k.sources:
                raise KnowledgeError(f"condition {cid}: unknown source {t['source']}")
        for u in c.get("urgency_when", []):
            _check_clause(u["when"], k, f"condition {cid}")
            if u["level"] not in LEVELS or u["source"] not in k.sources:
                raise KnowledgeError(f"condition {cid}: bad urgency_when")
        if c["source"] not in k.sources:
            raise KnowledgeError(f"condition {cid}: unknown source {c['source']}")
    for name, clause in k.facts.items():
        _check_clause(clause, k, f"fact {name}")
    seen = set()
    for r in k.rules:
        if r.id in seen:
            raise KnowledgeError(f"rule {r.id} is defined twice")
        seen.add(r.id)
        _check_clause(r.when, k, f"rule {r.id}")
        if r.source not in k.sources:
            raise KnowledgeError(f"rule {r.id}: unknown source {r.source}")
        for cid in r.scores:
            if cid not in k.conditions:
                raise KnowledgeError(f"rule {r.id}: unknown condition {cid}")
        if r.urgency is not None and r.urgency not in LEVELS:
            raise KnowledgeError(f"rule {r.id}: bad urgency {r.urgency}")
        if not r.scores and r.urgency is None:
            raise KnowledgeError(f"rule {r.id} has no effect")
    for level in LEVELS:
        if k.advice["urgency"][level]["source"] not in k.sources:
            raise KnowledgeError(f"advice for {level}: unknown source")
    for part in ("eye_care", "lifestyle"):
        if k.advice[part]["source"] not in k.sources:
            raise KnowledgeError(f"advice {part}: unknown source")
    for q in k.questions.values():
        if q.ask_if:
            _check_clause(q.ask_if, k, f"question {q.id}")


@lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    qs = _read("questions.yaml")
    conds = _read("conditions.yaml")["conditions"]
    rules_doc = _read("rules.yaml")
    k = Knowledge(
        questions={d["id"]: _question(d, False) for d in qs["questions"]},
        findings={d["id"]: _question(d, True) for d in qs.get("findings", [])},
        conditions=conds,
        facts=rules_doc.get("facts", {}),
        rules=tuple(
            Rule(id=r["id"], when=r["when"], scores={c: float(w) for c, w in r.get("scores", {}).items()},
                 text=r["text"], source=r["source"], urgency=r.get("urgency"),
                 red_flag=bool(r.get("red_flag", False)))
            for r in rules_doc["rules"]
        ),
        sources=_read("sources.yaml")["sources"],
        advice=_read("advice.yaml"),
        policy={k: float(v) for k, v in rules_doc.get("policy", {}).items()},
    )
    _validate(k)
    return k
