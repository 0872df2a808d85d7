"""Plain-language rendering of a triage result, for people.

Shape contract
    in:  the dict returned by ``triage.engine.triage``
    out: str (wrapped text), with sources cited by id and listed at the end
"""

from __future__ import annotations

import textwrap
from typing import Any


def _wrap(text: str, indent: str = "  ", width: int = 88) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ")


def format_text(result: dict[str, Any], max_conditions: int = 4) -> str:
    cited: dict[str, str] = {}

    def cite(item: dict[str, Any]) -> str:
        cited.setdefault(item["source"], item["citation"])
        return f" [{item['source']}]"

    lines = [f"URGENCY: {result['urgency_label']}"]
    for r in result["urgency_reasons"][:3]:
        lines.append(_wrap("because " + r["text"] + cite(r)))
    lines += ["", "What to do now:", _wrap(result["advice"]["now"] + cite(result["advice"]))]
    shown = {r.get("rule") for r in result["urgency_reasons"][:3]}
    flags = [f for f in result["red_flags"] if f["rule"] not in shown]
    if flags:
        lines += ["", "Other warning signs found:"]
        lines += [_wrap("! " + f["text"] + cite(f)) for f in flags]
    lines += ["", "What your answers fit best (not a diagnosis):"]
    ranked = [d for i, d in enumerate(result["differential"][:max_conditions]) if i == 0 or d["score"] >= 0.01]
    for i, d in enumerate(ranked, 1):
        lines.append(f"  {i}. {d['name']}  {d['score']:.0%}")
        for r in [r for r in d["reasons"] if r["weight"] > 0][:3]:
            lines.append(_wrap("+ " + r["text"] + cite(r), indent="       "))
        for r in [r for r in d["reasons"] if r["weight"] < 0][:1]:
            lines.append(_wrap("- " + r["text"] + cite(r), indent="       "))
    adv = result["advice"]
    if adv.get("eye_care"):
        lines += ["", "Protect your eye:", _wrap(adv["eye_care"]["text"] + cite(adv["eye_care"]))]
    if adv.get("lifestyle"):
        lines += ["", "Things that often help" + cite(adv["lifestyle"]) + ":"]
        lines += [_wrap("- " + t) for t in adv["lifestyle"]["items"]]
    if adv["treatments"]:
        lines += ["", "Treatments a doctor may discuss (for your information):"]
        lines += [_wrap("- " + t["text"] + cite(t)) for t in adv["treatments"][:6]]
    lines += ["", "Tell the doctor:"]
    lines += [_wrap("- " + t) for t in adv["tell_doctor"]]
    nq = result.get("next_question")
    if nq:
        lines += ["", "The question that would most change this answer:", _wrap(nq["text"])]
    lines += ["", _wrap(result["disclaimer"], indent=""), "", "Sources:"]
    lines += [_wrap(f"[{k}] {v}") for k, v in cited.items()]
    return "\n".join(lines)
