"""Output folders: wholly old or wholly new, never a mix; the user's files are kept; one run
at a time; a killed run is finished or undone by the next."""

import json
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest

from facenerve.errors import FacenerveError, InputError
from facenerve.media import outputs
from facenerve.media.outputs import OutputDir, write_atomically

NAMES = ("summary.json", "report.html", "events.csv")


def _write_run(tag: str):
    def write(tmp: Path) -> None:
        for name in NAMES:
            (tmp / name).write_text(json.dumps({"run": tag, "file": name}))
    return write


def _runs_seen(out: Path) -> set[str]:
    return {json.loads((out / n).read_text())["run"] for n in NAMES if (out / n).exists()}


@pytest.fixture()
def out(tmp_path):
    d = tmp_path / "out"
    write_atomically(d, _write_run("old"))
    (d / "mine.txt").write_text("keep me")
    (d / "notes").mkdir()
    (d / "notes" / "a.txt").write_text("mine too")
    (d / "signals.csv").write_text("an earlier run's csv, not written by the next run")
    return d


def _user_files_intact(out: Path) -> None:
    assert (out / "mine.txt").read_text() == "keep me"
    assert (out / "notes" / "a.txt").read_text() == "mine too"
    assert (out / "signals.csv").exists()


def test_a_successful_run_replaces_its_files_and_keeps_the_rest(out):
    write_atomically(out, _write_run("new"))
    assert _runs_seen(out) == {"new"}
    _user_files_intact(out)
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name]


def test_a_failed_run_leaves_the_folder_as_it_was(out):
    def fail(tmp: Path) -> None:
        _write_run("new")(tmp)
        raise InputError("the video is corrupt")

    with pytest.raises(InputError):
        write_atomically(out, fail)
    assert _runs_seen(out) == {"old"}
    _user_files_intact(out)
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("exchange", [True, False])
@pytest.mark.parametrize("fail_at", range(7))
def test_a_run_killed_while_moving_in_is_never_a_mix(out, monkeypatch, fail_at, exchange):
    """Break the n-th rename of the commit (as a kill there would): the folder is wholly old
    or wholly new, and the next run finishes or clears what was left."""
    real = {"rename": os.rename, "link": os.link}
    calls = {"n": 0}

    def flaky(name):
        def f(*a, **k):
            calls["n"] += 1
            if calls["n"] == fail_at + 1:
                raise OSError(5, "killed here")
            return real[name](*a, **k)
        return f

    if not exchange:  # where the system has no atomic exchange: three renames
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", flaky("rename"))
    monkeypatch.setattr(os, "link", flaky("link"))
    try:
        write_atomically(out, _write_run("new"))
    except FacenerveError:
        pass
    monkeypatch.undo()
    if out.exists():
        assert len(_runs_seen(out)) == 1
    write_atomically(out, _write_run("next"))  # recovers, then writes
    assert _runs_seen(out) == {"next"}
    _user_files_intact(out)


def _concurrent(args):
    out, tag = args
    try:
        write_atomically(out, _write_run(tag))
        return "ok"
    except FacenerveError as err:
        return str(err)


def test_concurrent_runs_never_mix(out):
    ctx = mp.get_context("fork")
    with ctx.Pool(4) as pool:
        results = pool.map(_concurrent, [(out, f"run{i}") for i in range(16)])
    assert any(r == "ok" for r in results)
    assert all(r == "ok" or "another facenerve run" in r for r in results), results
    assert len(_runs_seen(out)) == 1
    _user_files_intact(out)


def test_the_lock_refuses_a_second_writer_before_any_work(out):
    with OutputDir(out):
        with pytest.raises(InputError, match="another facenerve run is writing"):
            OutputDir(out).__enter__()


def test_only_the_out_folder_writable(tmp_path):
    """A folder the user may write, inside a parent they may not (as with some mounts):
    written in place, under a journal."""
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere, so the parent cannot be made unwritable")
    parent = tmp_path / "locked"
    (parent / "out").mkdir(parents=True)
    parent.chmod(0o555)
    try:
        write_atomically(parent / "out", _write_run("new"))
        assert _runs_seen(parent / "out") == {"new"}
    finally:
        parent.chmod(0o755)


def test_in_place_mode_and_its_journal(out, monkeypatch):
    """The in-place path (a mount point, or an unwritable parent): a run killed half way
    through its moves is finished by the next run."""
    d = OutputDir(out)
    d.swap = False
    tmp = d.__enter__()
    _write_run("new")(tmp)
    real = os.replace
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:  # the journal, then one file, then killed
            raise OSError(5, "killed here")
        return real(*a, **k)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(FacenerveError):
        d.__exit__(None, None, None)
    monkeypatch.undo()
    d2 = OutputDir(out)
    d2.swap = False
    d2.__enter__()  # recovery finishes the killed run's moves
    d2.__exit__(RuntimeError, RuntimeError(), None)
    assert _runs_seen(out) == {"new"}
    _user_files_intact(out)
    assert not (out / outputs.JOURNAL).exists()


def test_unwritable_destination_fails_before_the_work(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        OutputDir(tmp_path / "missing" / "out")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        OutputDir(f)


def test_a_link_to_a_folder_stays_a_link(tmp_path):
    """An --out that is a symbolic link to a folder elsewhere: written into, not replaced."""
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "mine.txt").write_text("keep me")
    link = tmp_path / "out"
    link.symlink_to(real)
    write_atomically(link, _write_run("new"))
    write_atomically(link, _write_run("newer"))
    assert link.is_symlink() and _runs_seen(real) == {"newer"}
    assert (real / "mine.txt").read_text() == "keep me"


def test_a_long_signal_is_drawn_as_its_envelope_keeping_every_peak_and_gap():
    import numpy as np

    from facenerve.twitch.report import envelope

    t = np.arange(100_000) / 30.0
    y = np.zeros_like(t)
    y[12_345] = 7.0  # one frame's twitch
    y[50_000:50_100] = np.nan  # a gap longer than a bin
    tb, yb = envelope(t, y, bins=1000)
    assert len(tb) == len(yb) == 2000
    assert np.nanmax(yb) == 7.0 and np.nanmin(yb) == 0.0
    assert np.isnan(yb).any()
    short_t, short_y = envelope(t[:1500], y[:1500], bins=1000)
    assert np.array_equal(short_t, t[:1500]) and np.array_equal(short_y, y[:1500])


def test_reports_fit_a_phone_screen():
    from facenerve.reporting import page

    assert "name='viewport' content='width=device-width" in page("Report", "<p>body</p>")


def test_parquet_written_in_row_groups_reads_back_as_pandas_writes_it(tmp_path):
    """The signals table goes to Parquet a row group at a time (an hour is not copied whole into
    Arrow) and reads back exactly as ``DataFrame.to_parquet`` would have written it."""
    import pandas as pd
    import pyarrow.parquet as pq

    from facenerve.media.outputs import PARQUET_ROWS, write_parquet

    n = 2 * PARQUET_ROWS + 5
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"frame": np.arange(n), "time_s": np.arange(n) / 30.0,
                       "ear_left": rng.random(n).astype(np.float32), "quality_ok": rng.random(n) > 0.2})
    df.loc[3, "ear_left"] = np.nan
    write_parquet(df, tmp_path / "a.parquet")
    df.to_parquet(tmp_path / "b.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet"))
    assert pq.ParquetFile(tmp_path / "a.parquet").num_row_groups == 3
    write_parquet(df.iloc[:0], tmp_path / "empty.parquet")
    assert pd.read_parquet(tmp_path / "empty.parquet").columns.tolist() == df.columns.tolist()


@pytest.mark.parametrize("existing", [False, True])
def test_a_run_leaves_no_lock_file_behind(tmp_path, existing):
    out = tmp_path / "out"
    if existing:
        write_atomically(out, _write_run("old"))
    write_atomically(out, _write_run("new"))
    assert _runs_seen(out) == {"new"}
    left = [p.name for p in [*tmp_path.iterdir(), *out.iterdir()] if p.name.endswith(".facenerve.lock")]
    assert left == []
    with OutputDir(out):  # and the next run still locks out a second writer
        with pytest.raises(InputError, match="another facenerve run is writing"):
            OutputDir(out).__enter__()


def test_the_report_says_how_large_the_face_was_and_whether_it_was_followed_in_a_crop(example_result):
    """The recording's table gives the pixels between the pupils (what the millimetres rest on)
    and the frames of a face too small for FaceMesh's own detector, followed in a crop."""
    import dataclasses

    from facenerve.twitch.report import analysis_report

    px = example_result.findings["footage"]["pupils_px"]
    html = analysis_report(example_result)
    assert f"{example_result.info.calibration['ipd_mm_median']:.1f} mm, {px:.0f} pixels" in html
    assert "followed in a crop" not in html
    far = dataclasses.replace(example_result, info=dataclasses.replace(
        example_result.info, landmarks={**example_result.info.landmarks, "frames_in_crop": 37}))
    assert "followed in a crop around it in 37 frames" in analysis_report(far)
