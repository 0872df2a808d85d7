"""Event matching, scores and their uncertainty, shared by the evaluations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

# Each evaluation's figures come from a few dozen clips or people. Their 95 % intervals are
# percentile bootstraps over those units (the clip, or the person), not over events: the copies
# of one clip share its face, its blinks and its noise, and one person's exams share their face.
CI_LEVEL = 0.95
CI_RESAMPLES = 2000


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

    @classmethod
    def of(cls, counts: np.ndarray) -> EventScore:
        """The score of summed (tp, fp, fn) counts."""
        tp, fp, fn = (int(x) for x in counts)
        return cls(tp=tp, fp=fp, fn=fn)


def clustered_ci(counts: np.ndarray, statistic: Callable[[np.ndarray], float], seed: int = 0
                 ) -> list[float] | None:
    """The ``CI_LEVEL`` percentile bootstrap interval of ``statistic`` over clusters: ``counts``
    [n, k] holds one row of counts per cluster (a clip with all its copies, or a person with all
    their exams); each resample draws n rows with replacement, and ``statistic`` takes their
    column sums [k]. None with fewer than two clusters. ``seed`` makes it repeatable."""
    from scipy.stats import bootstrap

    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or len(counts) < 2:
        return None
    res = bootstrap((np.arange(len(counts)),), lambda i: statistic(counts[i].sum(axis=0)),
                    vectorized=False, n_resamples=CI_RESAMPLES, confidence_level=CI_LEVEL,
                    method="percentile", rng=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return [round(float(lo), 4), round(float(hi), 4)]


def score_ci(counts: np.ndarray, seed: int = 0) -> dict[str, list[float] | None]:
    """Intervals (``clustered_ci``) of precision, recall and F1 from (tp, fp, fn) per cluster."""
    return {name: clustered_ci(counts, lambda c, name=name: getattr(EventScore.of(c), name), seed)
            for name in ("precision", "recall", "f1")}


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
