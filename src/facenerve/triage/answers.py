"""Check questionnaire answers against the vocabulary in questions.yaml.

Shape contract
    in:  a mapping of answers (parsed JSON), keys and values from questions.yaml
    out: a clean dict: only answered keys (``unknown`` and null are dropped, since a missing
         answer means unknown; an empty list is kept and means "none of these"); yes/no as "yes"/"no"; lists de-duplicated in order;
         numbers as float. Anything outside the vocabulary raises ``InputError`` with one line
         naming the key and what it accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from .knowledge import Knowledge, Question, load_knowledge


def _bad(key: str, value: Any, q: Question) -> InputError:
    if q.type == "number":
        want = f"a number from {q.min:g} to {q.max:g}"
    elif q.type == "multi":
        want = "a list of: " + ", ".join(q.allowed)
    else:
        want = "one of: " + ", ".join(q.allowed)
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return InputError(f"answer {str(key)[:60]!r} = {shown} is not allowed; {key} takes {want}")


def _clean_value(key: str, value: Any, q: Question) -> Any:
    if q.type == "number":
        if isinstance(value, bool):
            raise _bad(key, value, q)
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise _bad(key, value, q) from None
        if not math.isfinite(x) or (q.min is not None and x < q.min) or (q.max is not None and x > q.max):
            raise _bad(key, value, q)
        return x
    if q.type == "yesno" and isinstance(value, bool):
        return "yes" if value else "no"
    if q.type == "multi":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise _bad(key, value, q)
        out: list[str] = []
        for it in items:
            if not isinstance(it, str) or it.strip().lower() not in q.allowed:
                raise _bad(key, it, q)
            v = it.strip().lower()
            if v not in out:
                out.append(v)
        return out
    if not isinstance(value, str) or value.strip().lower() not in q.allowed:
        raise _bad(key, value, q)
    return value.strip().lower()


def clean_answers(answers: Mapping[str, Any], knowledge: Knowledge | None = None,
                  allow_findings: bool = False) -> dict[str, Any]:
    """Validate and normalise answers; see the module's shape contract."""
    k = knowledge or load_knowledge()
    if not isinstance(answers, Mapping):
        raise InputError("the answers must be a JSON object of question ids and answers")
    fields = k.fields if allow_findings else k.questions
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if key not in fields:
            hint = "" if allow_findings else " (video findings go in --findings)"
            raise InputError(f"unknown answer key {str(key)[:60]!r}{hint}; known keys: {', '.join(fields)}")
        if value is None or (isinstance(value, str) and value.strip().lower() == "unknown"):
            continue
        out[key] = _clean_value(key, value, fields[key])
    return out
