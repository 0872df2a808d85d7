"""Fuzzing: any input gives a result or one clean user error, never an internal error.

Property-based (Hypothesis) over the parsers of answers, findings, task times and settings;
a seeded mutation corpus of a real video (bit flips, cuts, zeroed chunks, box damage) through
the whole command line. CI runs a fixed sample; FACENERVE_FUZZ=N runs N mutations and more
Hypothesis examples.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facenerve.errors import FacenerveError

from .conftest import FACE_MEDIA, ZJU, need

N = int(os.environ.get("FACENERVE_FUZZ", "0"))
EXAMPLES = 300 if N else 60

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
VOCAB = ["complaints", "side", "onset", "hours_since_onset", "weak_regions", "other_symptoms",
         "twitch_in_sleep", "twitch_regions", "triggers", "age", "twitching", "weakness",
         "left", "right", "hours", "days", "unknown", "forehead", "eye_closure", "mouth", "yes", "no"]
answer_like = st.dictionaries(st.sampled_from(VOCAB), json_values | st.sampled_from(VOCAB)
                              | st.lists(st.sampled_from(VOCAB), max_size=3), max_size=6)

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_user_errors(fn, *args):
    try:
        fn(*args)
    except FacenerveError:
        pass


@FUZZ
@given(json_values | answer_like)
def test_any_answers_give_a_result_or_a_user_error(doc):
    from facenerve.triage import triage

    _only_user_errors(triage, doc)


@FUZZ
@given(answer_like, json_values | st.fixed_dictionaries({"twitch": json_values, "exam": json_values}))
def test_any_findings_give_a_result_or_a_user_error(answers, findings):
    from facenerve.triage import triage
    from facenerve.triage.findings import findings_from_summary

    _only_user_errors(findings_from_summary, findings)
    _only_user_errors(triage, answers, findings)


task_items = st.fixed_dictionaries({
    "task": st.sampled_from(["rest", "brow_raise", "smile", "snarl", "lip_pucker", "nope"]) | json_values,
    "start_s": st.floats(allow_nan=True) | st.integers() | st.text(max_size=5) | st.none(),
    "end_s": st.floats(allow_nan=True) | st.integers(min_value=-10, max_value=10**400) | st.none(),
})


@FUZZ
@given(json_values | st.lists(task_items, max_size=6) | st.fixed_dictionaries({"tasks": st.lists(task_items, max_size=6)}))
def test_any_task_times_give_segments_or_a_user_error(doc):
    from facenerve.exam.protocol import load_protocol, parse_tasks

    try:
        segs = parse_tasks(doc, load_protocol())
    except FacenerveError:
        return
    ends = [(s.start_s, s.end_s) for s in segs]
    assert all(a < b for a, b in ends) and ends == sorted(ends)
    assert all(b0 >= a1 for (_, a1), (b0, _) in zip(ends, ends[1:], strict=False))  # no overlap


@FUZZ
@given(st.dictionaries(st.sampled_from(["blink_min_drop", "iris_diameter_mm", "max_faces", "tonic_min_s",
                                        "finding_min_twitches", "nope"]),
                       json_values | st.text(max_size=400), max_size=3))
def test_any_settings_give_settings_in_range_or_a_user_error(values):
    from dataclasses import fields

    from facenerve.settings import AnalysisSettings

    try:
        s = AnalysisSettings.from_dict(values)
    except FacenerveError as err:
        long_values = [v for v in [*values, *values.values()] if isinstance(v, str) and len(v) > 60]
        assert not any(v in str(err) for v in long_values)  # a long value is cut, never echoed whole
        return
    for f in fields(s):
        lo, hi = f.metadata["range"]
        assert lo <= getattr(s, f.name) <= hi


# --- a mutation corpus of a real video, through the command line ---------------------------

def _mutations(data: bytes, n: int, seed: int = 7):
    """(name, bytes): bit flips, cuts, zeroed chunks and container-box damage."""
    rng = np.random.default_rng(seed)
    kinds = ["flip", "cut", "zero", "box"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        b = bytearray(data)
        if kind == "flip":
            for pos in rng.integers(64, len(b), 10):
                b[int(pos)] ^= 1 << int(rng.integers(8))
        elif kind == "cut":
            b = b[: int(len(b) * rng.uniform(0.3, 0.995))]
        elif kind == "zero":
            start, size = int(rng.integers(64, len(b) - 4096)), int(rng.integers(256, 4096))
            b[start : start + size] = bytes(size)
        else:  # overwrite a box header (size + type) somewhere in the file
            for tag in (b"moov", b"mdat", b"trak", b"stsz", b"stco", b"avcC"):
                at = data.find(tag)
                if at > 4 and rng.random() < 0.5:
                    b[at - 4 : at + 4] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        yield f"{i:03d}-{kind}", bytes(b)


@pytest.mark.realdata
@pytest.mark.parametrize("source", [ZJU / "14_000004M_FNN.mp4", FACE_MEDIA / "WolfgangLanger_Pexels.mp4"],
                         ids=["zju", "wolfgang"])
def test_mutated_real_videos_never_crash_and_never_make_events_from_damage(tmp_path, source):
    src = need(source).read_bytes()
    n = N or 4
    outcomes = {"ok": 0, "refused": 0}
    for name, data in _mutations(src, n):
        video = tmp_path / f"{name}.mp4"
        video.write_bytes(data)
        out = tmp_path / f"out-{name}"
        r = subprocess.run([sys.executable, "-m", "facenerve.cli", "analyze", str(video), "--out", str(out),
                            "--quiet"], capture_output=True, text=True, timeout=300)
        lines = [x for x in r.stderr.splitlines() if x.startswith("facenerve:")]
        assert r.returncode in (0, 2), (name, r.stderr[-800:])
        if r.returncode == 2:
            outcomes["refused"] += 1
            assert len(lines) == 1 and lines[0].startswith("facenerve: error: "), (name, r.stderr[-800:])
            assert not out.exists()
            continue
        outcomes["ok"] += 1
        import pandas as pd

        sig = pd.read_parquet(out / "signals.parquet")
        ev = pd.read_csv(out / "events.csv")
        damaged = set(np.flatnonzero(sig["damaged"].to_numpy()))
        for _, e in ev.iterrows():  # no event rests on a damaged frame
            assert not damaged & set(range(int(e["onset_frame"]), int(e["offset_frame"]) + 1)), (name, e)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["decode"]["damaged_frames"] == len(damaged)
    assert outcomes["ok"] + outcomes["refused"] == n
    print(f"mutations: {n}, outcomes: {outcomes}")


@pytest.mark.realdata
def test_twelve_bit_flipped_copies_and_a_cut_copy_never_make_events_from_damage(tmp_path):
    """The cases of the bad-input issue: ten flipped bits in each of 12 copies of the Wolfgang
    clip, and the clip cut at 99 %. Each is refused, or measured with its damage marked and
    reported; no event rests on a damaged frame; the cut is reported, not passed over."""
    import pandas as pd

    src = need(FACE_MEDIA / "WolfgangLanger_Pexels.mp4").read_bytes()
    cases = []
    for k in range(12):
        rng = np.random.default_rng(1000 + k)
        b = bytearray(src)
        for pos in rng.integers(2048, len(b), 10):
            b[int(pos)] ^= 1 << int(rng.integers(8))
        cases.append((f"flip{k:02d}", bytes(b)))
    cases.append(("cut99", src[: int(len(src) * 0.99)]))
    outcomes = {"refused": 0, "measured with damage marked": 0, "measured intact": 0}
    for name, data in cases:
        video, out = tmp_path / f"{name}.mp4", tmp_path / f"out-{name}"
        video.write_bytes(data)
        r = subprocess.run([sys.executable, "-m", "facenerve.cli", "analyze", str(video), "--out", str(out),
                            "--quiet"], capture_output=True, text=True, timeout=600)
        assert r.returncode in (0, 2), (name, r.stderr[-800:])
        if r.returncode == 2:
            outcomes["refused"] += 1
            continue
        summary = json.loads((out / "summary.json").read_text())
        sig, ev = pd.read_parquet(out / "signals.parquet"), pd.read_csv(out / "events.csv")
        damaged = set(np.flatnonzero(sig["damaged"].to_numpy()))
        assert not any(damaged & set(range(a, b + 1)) for a, b in zip(ev["onset_frame"], ev["offset_frame"], strict=True))
        if name == "cut99":
            assert summary["decode"]["missing_frames"] > 0 and summary["decode"]["note"]
        outcomes["measured with damage marked" if damaged else "measured intact"] += 1
    print(f"bit flips and cut: {outcomes}")
    assert outcomes["measured intact"] <= 1  # only the cut copy may be intact
