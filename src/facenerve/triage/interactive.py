"""A branching terminal questionnaire over questions.yaml: questions whose ``ask_if`` does
not hold for the answers so far are skipped.

Shape contract
    in:  ``ask`` (prompt -> reply; ``input`` by default), ``say`` (str -> None)
    out: the answers dict (only what was answered; Enter skips a question = unknown)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InputError
from .answers import clean_answers
from .engine import applicable
from .knowledge import Question, load_knowledge

HELP = "Enter skips (unknown); numbers or names; several separated by commas; 'none' for none; q finishes."


def _parse(reply: str, q: Question) -> Any:
    reply = reply.strip()
    if q.type == "number":
        return reply
    options = q.allowed
    parts = [p.strip() for p in reply.split(",") if p.strip()]
    if q.type == "multi" and [p.lower() for p in parts] == ["none"]:
        return []
    vals = []
    for p in parts:
        if p.isdigit() and 1 <= int(p) <= len(options):
            vals.append(options[int(p) - 1])
        else:
            low = p.lower().replace(" ", "_")
            if q.type == "yesno" and low in ("y", "n"):
                low = {"y": "yes", "n": "no"}[low]
            vals.append(low)
    return vals if q.type == "multi" else (vals[0] if len(vals) == 1 else reply)


def run_questionnaire(ask: Callable[[str], str] = input, say: Callable[[str], None] = print) -> dict[str, Any]:
    k = load_knowledge()
    answers: dict[str, Any] = {}
    say(HELP)
    for q in k.questions.values():
        if not applicable(q, answers, k):
            continue
        menu = "" if q.type == "number" else "  " + "  ".join(f"{i}) {v.replace('_', ' ')}" for i, v in enumerate(q.allowed, 1))
        while True:
            try:
                reply = ask(f"\n{q.text}\n{menu}\n> " if menu else f"\n{q.text}\n> ")
            except EOFError:
                return answers
            if reply.strip().lower() in ("q", "quit"):
                return answers
            if reply.strip() == "?":
                say(q.help or HELP)
                continue
            if not reply.strip():
                break
            try:
                answers.update(clean_answers({q.id: _parse(reply, q)}, k))
                break
            except InputError as err:
                say(f"  {err}")
    return answers
