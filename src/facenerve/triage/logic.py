"""Evaluate the when-clauses of the triage rules (syntax in knowledge/rules.yaml).

Shape contract
    in:  a clause (mapping), the cleaned answers and video findings (one dict), named facts
    out: bool. A test on an unanswered field is False, so rules fire only on what is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _test(value: Any, op: str, arg: Any) -> bool:
    if op == "known":
        return (value is not None) == bool(arg)
    if value is None:
        return False
    if op == "is":
        return value == arg
    if op == "in":
        return value in arg
    if op == "has":
        return arg in value
    if op == "has_any":
        return any(a in value for a in arg)
    if op == "has_all":
        return all(a in value for a in arg)
    if op == "has_none":
        return not any(a in value for a in arg)
    if op == "only":
        return bool(value) and all(v in arg for v in value)
    if op == "gt":
        return value > arg
    if op == "ge":
        return value >= arg
    if op == "lt":
        return value < arg
    if op == "le":
        return value <= arg
    raise ValueError(f"unknown operator {op!r}")


def holds(clause: Mapping[str, Any], facts: Mapping[str, Any],
          named: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when every part of ``clause`` holds for ``facts`` (answers plus findings)."""
    for key, val in clause.items():
        if key == "all":
            ok = all(holds(c, facts, named) for c in val)
        elif key == "any":
            ok = any(holds(c, facts, named) for c in val)
        elif key == "not":
            ok = not holds(val, facts, named)
        elif key == "fact":
            ok = holds(named[val], facts, named)
        else:
            tests = val if isinstance(val, Mapping) else {"is": val}
            ok = all(_test(facts.get(key), op, arg) for op, arg in tests.items())
        if not ok:
            return False
    return True
