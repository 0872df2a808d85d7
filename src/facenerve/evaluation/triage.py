"""Evaluate triage on a set of vignettes: top-1, top-3, urgency accuracy, under-triage,
emergency sensitivity.

Shape contract
    in:  a folder of case files (*.yaml, *.yml, *.json: one case or a list of cases; *.jsonl:
         one case a line). A case: ``answers`` (the triage vocabulary), optional ``findings``,
         and the expected ``condition`` and ``urgency``, either under ``expected`` or at the top
         level (``expected_condition`` / ``expected_urgency`` are accepted too).
    out: dict of figures, per-condition top-1, and every miss with what was expected.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ..errors import FacenerveError, InputError
from ..triage.engine import RANK, triage

PACKAGED = Path(__file__).resolve().parents[1] / "data" / "vignettes"


def _cases_in(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".jsonl":
            docs: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif path.suffix == ".json":
            docs = json.loads(text)
        else:
            docs = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise InputError(f"{path} is not valid {path.suffix[1:].upper()}: {err}".splitlines()[0]) from None
    docs = docs if isinstance(docs, list) else [docs]
    out = []
    for i, d in enumerate(docs):
        if not isinstance(d, dict) or "answers" not in d:
            raise InputError(f"{path}: case {i + 1} has no 'answers'")
        exp = d.get("expected") or {}
        cond = exp.get("condition") or d.get("expected_condition") or d.get("condition")
        urg = exp.get("urgency") or d.get("expected_urgency") or d.get("urgency")
        if cond is None or urg not in RANK:
            raise InputError(f"{path}: case {d.get('id', i + 1)} needs an expected condition and urgency "
                             f"({', '.join(RANK)})")
        out.append({"id": str(d.get("id", f"{path.stem}#{i + 1}")), "answers": d["answers"],
                    "findings": d.get("findings"), "condition": cond, "urgency": urg})
    return out


def load_cases(folder: str | Path) -> list[dict[str, Any]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of vignettes")
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json", ".jsonl"))
    cases = [c for p in files for c in _cases_in(p)]
    if not cases:
        raise InputError(f"no vignettes (*.yaml, *.json, *.jsonl) in {folder}")
    return cases


def evaluate_triage(folder: str | Path = PACKAGED) -> dict[str, Any]:
    cases = load_cases(folder)
    n = len(cases)
    top1 = top3 = urg_ok = under = over = 0
    emerg = emerg_hit = 0
    per_cond: Counter[str] = Counter()
    per_cond_ok: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    for c in cases:
        try:
            r = triage(c["answers"], c["findings"], ask_next=False)
        except FacenerveError as err:
            misses.append({"id": c["id"], "error": str(err)})
            per_cond[c["condition"]] += 1
            emerg += c["urgency"] == "emergency"
            under += 1
            continue
        ranked = [d["condition"] for d in r["differential"]]
        hit1 = ranked[0] == c["condition"]
        hit3 = c["condition"] in ranked[:3]
        got, want = RANK[r["urgency"]], RANK[c["urgency"]]
        top1 += hit1
        top3 += hit3
        urg_ok += got == want
        under += got < want
        over += got > want
        per_cond[c["condition"]] += 1
        per_cond_ok[c["condition"]] += hit1
        if c["urgency"] == "emergency":
            emerg += 1
            emerg_hit += r["urgency"] == "emergency"
        if not hit1 or got != want:
            misses.append({"id": c["id"], "expected": [c["condition"], c["urgency"]],
                           "got": [ranked[0], r["urgency"]],
                           "top3": [f"{d['condition']} {d['score']:.2f}" for d in r["differential"][:3]]})

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 1) if b else None

    return {
        "cases": n,
        "top1_pct": pct(top1, n),
        "top3_pct": pct(top3, n),
        "triage_accuracy_pct": pct(urg_ok, n),
        "under_triage": under,
        "under_triage_pct": pct(under, n),
        "over_triage": over,
        "emergency_cases": emerg,
        "emergency_sensitivity_pct": pct(emerg_hit, emerg),
        "top1_by_condition": {k: f"{per_cond_ok[k]}/{v}" for k, v in sorted(per_cond.items())},
        "misses": misses,
    }
