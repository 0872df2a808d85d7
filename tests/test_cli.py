"""The command line: outputs, one-line errors with non-zero exits, nothing lost on failure."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from .conftest import FACE_MEDIA, need


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("FACENERVE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "facenerve.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


@pytest.mark.parametrize("name", ["missing.mp4", "empty.mp4", "notes.txt", "fake.mp4", "audio.m4a",
                                  "still.png", "still.jpg", "truncated.mp4", "noface.mp4"])
def test_bad_input_one_line_nonzero(tiny_videos, tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    (out / "summary.json").write_text('{"earlier": true}')
    r = run("analyze", str(tiny_videos / name), "--out", str(out), "--quiet")
    assert r.returncode != 0
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("facenerve: error: ")
    assert "Traceback" not in r.stderr
    # nothing of the user's was deleted or overwritten, and no half-written outputs appeared
    assert (out / "mine.txt").read_text() == "keep me"
    assert json.loads((out / "summary.json").read_text()) == {"earlier": True}
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "summary.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_bad_setting_is_one_line(tmp_path):
    r = run("analyze", "x.mp4", "--out", str(tmp_path / "o"), "--set", "nope=1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown setting" in r.stderr


def test_analyze_example_writes_everything(tmp_path):
    from facenerve.simulate.render import example_video

    out = tmp_path / "demo"
    r = run("analyze", str(example_video()), "--out", str(out), "--csv", "--quiet")
    assert r.returncode == 0, r.stderr
    for name in ("signals.parquet", "signals.csv", "summary.json", "report.html", "events.csv"):
        assert (out / name).exists(), name
    sig = pd.read_parquet(out / "signals.parquet")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_frames"] == len(sig) == 600
    assert summary["versions"]["mediapipe"] == "0.10.21"
    assert "twitch" in summary and "grades" in summary["twitch"]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64" in html and "Twitch finding" in html
    assert summary["twitch"]["finding"]["reason"] in html  # the finding, in words, with its footage


def test_real_video_no_face_is_one_line(tmp_path):
    video = need(FACE_MEDIA / "no_face.mp4")
    r = run("analyze", str(video), "--out", str(tmp_path / "o"), "--quiet")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("facenerve: error: no face was found")
    assert r.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_bench_reports_every_stage_side_by_side():
    from facenerve.simulate.render import example_video

    r = run("bench", str(example_video()))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("decode_fps", "landmarks_fps", "skin_motion_fps", "plain_loop_fps", "two_plain_loops_at_once_fps",
                "end_to_end_fps",
                "end_to_end_over_plain_loop", "end_to_end_cpu_s_per_video_s", "end_to_end_peak_rss_mb",
                "startup_first_frame_s"):
        assert out[key] > 0, key
    assert out["startup_first_frame_s"] >= out["startup_imports_and_model_s"]
    # the processes' total at one moment never exceeds their peaks added
    assert 0 < out["end_to_end_peak_rss_together_mb"] <= out["end_to_end_peak_rss_mb"]


def test_the_bench_counts_the_memory_of_child_processes_at_once():
    import subprocess
    import sys

    import psutil

    from facenerve.bench import _PeakTogether

    own = psutil.Process().memory_info().rss
    code = "import time; b = b'x' * (150 * 2**20); time.sleep(1.0)"  # 150 MB, every page written
    with _PeakTogether() as together:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert together.bytes >= own + 150 * 2**20


def test_bench_ends_with_one_line_when_its_child_fails(tiny_videos):
    r = run("bench", str(tiny_videos / "noface.mp4"))
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.startswith("facenerve")]
    assert lines == [lines[0]] and "end-to-end benchmark failed" in lines[0]
