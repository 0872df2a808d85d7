"""Symptom triage: questionnaire answers (+ video findings) -> urgency, differential, reasons.

The knowledge (conditions, rules, questions, sources, advice) is YAML in
``facenerve/knowledge``; this package only evaluates it.
"""

from .engine import triage

__all__ = ["triage"]
