"""Event matching and scores shared by the evaluations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass
class EventScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: EventScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def match_intervals(
    detected: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]]
) -> tuple[EventScore, list[tuple[int, int]]]:
    """Match detections to true events when their frame intervals overlap.

    Each true event is matched at most once, and each detection at most once; pairs are
    taken greedily by largest overlap. Returns the score and (detected, truth) index pairs.
    """
    pairs = []
    for i, (d0, d1) in enumerate(detected):
        for j, (t0, t1) in enumerate(truth):
            ov = min(d1, t1) - max(d0, t0) + 1
            if ov > 0:
                pairs.append((ov, i, j))
    used_d, used_t, matched = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            matched.append((i, j))
    score = EventScore(tp=len(matched), fp=len(detected) - len(matched), fn=len(truth) - len(matched))
    return score, matched
