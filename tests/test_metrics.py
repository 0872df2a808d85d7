"""Uncertainty of the evaluations' figures: intervals over clips or people, not over events."""

import numpy as np
import pandas as pd

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


def _det(*spans):
    return pd.DataFrame([{"kind": "twitch", "side": "left", "region": "eye", "pattern": "clonic",
                          "onset_frame": a, "offset_frame": b} for a, b in spans])


def test_a_burst_found_as_several_twitches_is_one_found_and_none_false():
    """A clonic burst of 3 jerks is one injected event: reported as 3 twitches it is found once,
    and the other two are not false. Two twitches on one single injected twitch still count one
    false, and a twitch of another region of a several-region twitch is its region."""
    from facenerve.evaluation.realfaces import _Tally

    burst = {"onset_frame": 10, "offset_frame": 30, "side": "left", "region": "eye", "regions": ["eye", "cheek"],
             "pattern": "clonic", "jerks": 3, "context": "rest", "own_blink": False}
    tally = _Tally()
    score = tally.score_copy([burst], _det((10, 14), (18, 22), (26, 30)))
    assert (score.tp, score.fp, score.fn) == (1, 0, 0)
    single = {**burst, "jerks": 1}
    del single["regions"]
    score = _Tally().score_copy([single], _det((10, 14), (18, 22)))
    assert (score.tp, score.fp, score.fn) == (1, 1, 0)
    cheek = _det((10, 14)).assign(region="cheek")
    tally = _Tally()
    tally.score_copy([burst], cheek)
    tally.score_copy([single], cheek)
    assert tally.to_dict()["rest"]["region_correct"] == 0.5
