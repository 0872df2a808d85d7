"""Uncertainty of the evaluations' figures: intervals over clips or people, not over events."""

import numpy as np

from facenerve.evaluation.metrics import EventScore, clustered_ci, score_ci
from facenerve.evaluation.realexams import _pct_ci

# (found, false, missed) per clip: most clips perfect, a few with misses or a false twitch
CLIPS = np.array([[4, 0, 0], [3, 0, 1], [5, 0, 0], [2, 1, 2], [4, 0, 0],
                  [3, 0, 0], [4, 0, 1], [5, 0, 0], [3, 0, 0], [4, 1, 0]])


def test_an_interval_over_clips_holds_the_score_and_narrows_with_more_clips():
    f1 = EventScore.of(CLIPS.sum(axis=0)).f1
    lo, hi = score_ci(CLIPS)["f1"]
    assert lo < f1 < hi <= 1.0
    lo4, hi4 = score_ci(np.tile(CLIPS, (4, 1)))["f1"]  # the same mix over four times the clips
    assert lo4 < f1 < hi4
    assert hi4 - lo4 < 0.7 * (hi - lo)


def test_the_interval_is_over_clips_so_one_bad_clip_widens_it():
    perfect = np.tile([[4, 0, 0]], (19, 1))
    assert score_ci(perfect)["f1"] == [1.0, 1.0]  # identical clips: no spread
    lo, hi = score_ci(np.vstack([perfect, [[0, 0, 4]]]))["recall"]
    assert hi == 1.0 and lo < 0.95  # a resample without the bad clip scores 1; some have it twice


def test_an_interval_is_repeatable_and_needs_two_clips():
    stat = lambda c: c[0] / c[1]  # noqa: E731
    counts = np.array([[1, 3], [2, 2], [0, 4], [3, 3]])
    assert clustered_ci(counts, stat, seed=3) == clustered_ci(counts, stat, seed=3)
    assert clustered_ci(counts[:1], stat) is None


def test_a_share_of_exams_is_judged_over_people():
    # two people, ten exams each: one always right, one always wrong. Over exams the share would
    # look sure of 50 %; over people a new pair could be both right or both wrong
    rows = [{"case": p, "ok": p == "a"} for p in ("a", "b") for _ in range(10)]
    lo, hi = _pct_ci(rows, lambda r: r["ok"])
    assert lo == 0.0 and hi == 100.0
