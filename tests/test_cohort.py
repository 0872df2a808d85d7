"""Cohorts on a real Dask cluster: a scheduler and two workers on 127.0.0.1, started as the
``dask`` command starts them on any machine."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from facenerve.cohort.manifest import load_manifest, video_id
from facenerve.errors import InputError

pytestmark = pytest.mark.slow
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny, so a killed worker stays
    dead), each single-threaded."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed (pip install -e '.[dev]')")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "3"}
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=open(log / "scheduler.log", "w"),
                              stderr=subprocess.STDOUT, env=env)]
    for i in range(2):
        procs.append(subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
                                       "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}"],
                                      stdout=open(log / f"worker{i}.log", "w"), stderr=subprocess.STDOUT, env=env))
    from distributed import Client

    client = Client(address, timeout="60s")
    client.wait_for_workers(2, timeout=120)
    yield address, client, procs
    client.close()
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.fixture()
def cohort(tmp_path, tiny_videos):
    from facenerve.simulate.render import example_video

    d = tmp_path / "cohort"
    (d / "site_a").mkdir(parents=True)
    shutil.copy(example_video(), d / "site_a" / "patient1_visit1.mp4")
    shutil.copy(tiny_videos / "corrupt.mp4", d / "broken.mp4")
    return d


def test_manifest_ids_are_stable_and_columns_carried(tmp_path, cohort):
    m = load_manifest(cohort)
    assert sorted(m["video"].map(lambda v: Path(v).name)) == ["broken.mp4", "patient1_visit1.mp4"]
    assert load_manifest(cohort)["id"].tolist() == m["id"].tolist()
    assert video_id("site_a/patient1_visit1.mp4") in m["id"].tolist()
    csv = tmp_path / "m.csv"
    csv.write_text("video,subject,visit,group\ncohort/site_a/patient1_visit1.mp4,p1,1,toxin\n")
    m2 = load_manifest(csv)
    assert m2.loc[0, "subject"] == "p1" and m2.loc[0, "kind"] == "analyze" and Path(m2.loc[0, "video"]).exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("path\nx.mp4\n")
    with pytest.raises(InputError, match="'video' column"):
        load_manifest(bad)


def test_batch_on_a_dask_cluster_matches_single_analyses(cluster, cohort, tmp_path):
    from facenerve.cohort.batch import run_batch
    from facenerve.twitch.analyze import analyze_video
    from facenerve.twitch.outputs import build_summary

    address, _, _ = cluster
    out = tmp_path / "out"
    r = run_batch(cohort, out, scheduler=address)
    assert (r["videos"], r["ok"], r["failed"]) == (2, 1, 1)
    s = pd.read_parquet(out / "cohort_summary.parquet").set_index("video")
    ev = pd.read_parquet(out / "cohort_events.parquet")
    good = str((cohort / "site_a" / "patient1_visit1.mp4").resolve())
    broken = str((cohort / "broken.mp4").resolve())
    assert s.loc[broken, "status"] == "error" and "corrupt" in s.loc[broken, "error"]
    # the same numbers as one analysis of the same video
    single = build_summary(analyze_video(good))
    row = s.loc[good]
    assert row["finding"] == single["twitch"]["finding"]["status"]
    assert row["twitches_left"] == single["twitch"]["per_side"]["left"]["twitch_count"]
    assert row["assessable_s"] == single["twitch"]["footage"]["assessable_s"]
    assert len(ev[ev["video_id"] == row["id"]]) == len(pd.read_csv(out / "videos" / row["id"] / "events.csv"))
    assert (out / "videos" / row["id"] / "report.html").exists()
    assert "Failures and their reasons" in (out / "cohort_report.html").read_text()
    # a rerun skips what is finished and retries only the failure
    first = (out / "videos" / row["id"] / "summary.json").stat().st_mtime_ns
    cli = subprocess.run([sys.executable, "-m", "facenerve.cli", "batch", str(cohort), "--out", str(out),
                          "--scheduler", address, "--quiet"], capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr[-2000:]
    r2 = json.loads(cli.stdout)
    assert r2["skipped_as_finished"] == 1 and r2["analysed_now"] == 1
    assert (out / "videos" / row["id"] / "summary.json").stat().st_mtime_ns == first  # not redone
    again = pd.read_parquet(out / "cohort_summary.parquet").set_index("video")
    assert again.loc[good, "twitches_left"] == row["twitches_left"] and len(again) == 2


def test_a_killed_worker_does_not_lose_its_video(cluster, tmp_path):
    from facenerve.cohort.batch import run_batch
    from facenerve.simulate.render import example_video

    address, client, procs = cluster
    d = tmp_path / "two"
    d.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(example_video(), d / name)
    victim = procs[1]

    def kill_when_busy():
        deadline = time.time() + 60
        while time.time() < deadline:
            busy = client.processing()
            if sum(len(v) for v in busy.values()) >= 2:
                time.sleep(1.0)
                victim.send_signal(signal.SIGKILL)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    r = run_batch(d, tmp_path / "out", scheduler=address)
    killer.join()
    assert victim.poll() is not None  # the worker really died mid-batch
    assert r["ok"] == 2, pd.read_parquet(tmp_path / "out" / "cohort_summary.parquet")[["id", "error"]]
