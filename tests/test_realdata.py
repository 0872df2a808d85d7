"""Integration on ../shared/data (skipped with a reason when it is absent)."""

import numpy as np
import pytest

from .conftest import FACE_MEDIA, NATURAL, ZJU, need

pytestmark = pytest.mark.realdata


def test_wolfgang_rows_face_and_millimetres(wolfgang_result):
    sig = wolfgang_result.signals
    assert len(sig) == 472
    assert sig["frame"].tolist() == list(range(472))
    assert sig["face_detected"].mean() >= 0.95
    ipd = wolfgang_result.info.calibration["ipd_mm_median"]
    assert 55 <= ipd <= 72
    ap = sig.loc[sig["quality_ok"], "eye_aperture_left_mm"]
    assert 3 <= float(np.nanmedian(ap)) <= 15  # a plausible open eye


@pytest.mark.parametrize("name,where", [("face_noface.mov", "leaves"), ("noface_face.mov", "enters")])
def test_face_leaving_or_entering_gives_nan_rows(name, where):
    from facenerve.media.video import probe
    from facenerve.twitch.analyze import analyze_video

    path = need(FACE_MEDIA / name)
    res = analyze_video(path, detect=False)
    sig = res.signals
    n = len(sig)
    assert sig["frame"].tolist() == list(range(n))
    assert probe(path).n_frames_header in (0, n)
    face = sig["face_detected"].to_numpy()
    assert face.any() and not face.all()
    assert sig.loc[~face, "eye_aperture_left_mm"].isna().all()
    half = n // 2
    if where == "leaves":
        assert face[:half].mean() > face[half:].mean()
    else:
        assert face[:half].mean() < face[half:].mean()


def test_blink_f1_on_zju_set():
    from facenerve.evaluation.blinks import evaluate_blinks

    report = evaluate_blinks(need(ZJU))
    assert report["annotated_blinks"] == 149
    assert report["facenerve"]["f1"] >= 0.97
    assert report["blinks_misreported_as_twitches"] == 0
    assert report["twitches_reported"] == 0  # no twitch at all in these blink-only clips
    assert report["facenerve"]["f1"] > report["baseline_ear_threshold"]["T=0.20"]["f1"]


def test_a_roll_of_the_head_as_the_eyes_reopen_is_no_one_sided_lift(monkeypatch):
    """ZJU 31_000008M: as a healthy man's eyes reopen (frames 40-52) his head rolls a degree.
    With the head's motion taken from the nose's narrow line only, his right cheek and mouth
    corner seemed to rise 3.0 and 1.8 mm more than the left: a twitch, unless a blink's frames
    got a margin. Fitted over a base as wide as the face, no one-sided lift is left at all,
    blink margin or not."""
    from facenerve.twitch import events
    from facenerve.twitch.analyze import analyze_video

    monkeypatch.setattr(events, "BLINK_MARGIN", 1.0)
    res = analyze_video(need(ZJU / "31_000008M_UNN.mp4"))
    ev = res.events
    assert ((ev["kind"] == "blink") & (ev["onset_frame"] <= 47) & (ev["offset_frame"] >= 40)).any()
    lower = ev[ev["kind"].isin(["twitch", "movement"]) & ev["region"].isin(["cheek", "mouth"])]
    assert lower.empty, lower


def test_healthy_talking_faces_get_no_spasm_finding(natural_report):
    """Healthy people talking, laughing, winking and turning: no finding, few false twitches,
    no clip refused while it shows a face (two of these once were: a header promising more
    frames than the file holds, and a face never within the pose limits)."""
    r = natural_report
    assert r["refused"] == []
    assert r["clips_with_spasm_finding"] == [] and r["clips_with_blepharospasm_like_finding"] == []
    # the whole set gives 0.68 per 10 minutes (README); this 2-minute subset none, where the 2 per
    # 10 minutes aimed at would allow 0.4
    assert r["false_twitches"] <= 1, r["what_fooled_it"]
    assert r["event_counts"].get("movement", 0) > 0  # one-sided movements were seen, and set apart
    # LivePortrait d19 squints one eye, then the other 0.6 s later: voluntary, not a twitch
    d19 = next(c for c in r["per_clip"] if c["clip"] == "LivePortrait__driving_d19.mp4")
    assert d19["twitches"] == 0 and d19["movements"] >= 2, d19


def test_wolfgang_clip_gives_no_spasm_finding(wolfgang_result):
    f = wolfgang_result.findings
    assert f["finding"]["status"] != "spasm", f["finding"]
    assert not f["finding"]["blepharospasm_like"]  # she looks down and smiles: not blepharospasm
    assert f["affected_sides"] == []
    assert all(g["smc_grade"] is None for g in f["grades"].values())
    # the footage the finding rests on is given with it
    assert 0 <= f["footage"]["assessable_s"] <= f["footage"]["recorded_s"]


def test_twitches_injected_into_real_faces_are_found_on_their_side(tmp_path):
    """Sensitivity on real faces: one side's cheek, mouth corner or eyelid warped in real
    blink videos (ZJU, small faces at 320x240). The whole-set figures (README) come from
    ``facenerve evaluate injected``; this fixed subset checks the same behaviour."""
    from facenerve.evaluation.realfaces import evaluate_injected

    from .conftest import subset_folder

    names = sorted(p.name for p in need(ZJU).glob("*_F[NT]N.mp4"))  # frontal, without black frames
    (tmp_path / "clips").mkdir()
    folder = subset_folder(tmp_path / "clips", ZJU, names)
    r = evaluate_injected(folder, tmp_path / "work", seeds=(0,), twitch_rate_per_min=40)
    rest = r["rest"]
    assert rest["tp"] + rest["fn"] >= 10  # enough twitches fell in resting footage to judge
    assert rest["side_correct"] == 1.0 and rest["region_correct"] >= 0.9
    assert rest["recall"] >= 0.6 and rest["precision"] >= 0.8, rest


def test_injections_with_several_seeds_are_scored_as_a_whole_and_per_seed(tmp_path):
    """Two seeds inject into copies of their own, and the whole is the sum of the seeds."""
    from facenerve.evaluation.realfaces import evaluate_injected

    from .conftest import subset_folder

    names = sorted(p.name for p in need(ZJU).glob("*_FNN.mp4"))[:3]
    (tmp_path / "clips").mkdir()
    r = evaluate_injected(subset_folder(tmp_path / "clips", ZJU, names), tmp_path / "work", seeds=(0, 1),
                          twitch_rate_per_min=40)
    assert [s["seed"] for s in r["per_seed"]] == [0, 1] and r["seeds"] == [0, 1]
    for k in ("tp", "fp", "fn"):
        assert r["rest"][k] == sum(s[k] for s in r["per_seed"])
    assert sorted({c["seed"] for c in r["per_clip"]}) == [0, 1] and len(r["per_clip"]) == 2 * len(names)
    copies = sorted(p.name for p in (tmp_path / "work" / "injected").glob("*.mp4"))
    assert len(copies) == 2 * len(names) and all(f"-seed{s}.mp4" in " ".join(copies) for s in (0, 1))


def test_a_kept_injected_copy_of_another_clip_of_the_same_name_is_not_reused(tmp_path):
    """``--work`` keeps injected copies by clip name and seed; a clip of the same name from
    another folder (the same people re-encoded, another camera) gets copies of its own."""
    import json

    from facenerve.evaluation.inject import sha256_of
    from facenerve.evaluation.realfaces import evaluate_injected

    first, other = sorted(need(ZJU).glob("*_FNN.mp4"))[:2]
    for folder, clip in (("a", first), ("b", other)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").symlink_to(clip)
        evaluate_injected(tmp_path / folder, tmp_path / "work")
        truth = json.loads((tmp_path / "work" / "injected" / "clip-seed0.truth.json").read_text())
        assert truth["source_sha256"] == sha256_of(clip)


def test_a_video_that_is_not_an_exam_gets_no_grades(tmp_path):
    """A woman talking and smiling is not a facial exam: nothing is graded."""
    import json
    import subprocess
    import sys

    out = tmp_path / "exam"
    r = subprocess.run([sys.executable, "-m", "facenerve.cli", "exam",
                        str(need(FACE_MEDIA / "WolfgangLanger_Pexels.mp4")), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    exam = json.loads((out / "summary.json").read_text())["exam"]
    assert exam["exam_status"]["status"] == "not_an_exam"
    assert "grades" not in exam and exam["weaker_side"] is None and not exam["central_pattern"]


def test_parallel_run_equals_the_sequential_one(wolfgang_result):
    """Decoding, landmarks and skin motion on three threads give exactly what one thread gives."""
    import pandas as pd

    from facenerve.measure.run import measure_video

    sequential = measure_video(FACE_MEDIA / "WolfgangLanger_Pexels.mp4", parallel=False)
    assert wolfgang_result.signals["cheek_lift_left_mm"].notna().sum() > 50  # skin motion was measured
    pd.testing.assert_frame_equal(wolfgang_result.signals, sequential.signals, check_exact=True)


def test_a_span_measured_in_a_process_of_its_own_equals_the_same_span_in_a_thread():
    """Where spans are measured (another process, or a thread here) changes nothing."""
    import pandas as pd

    from facenerve.measure import run

    path = need(NATURAL / "LivePortrait__driving_d6.mp4")
    processes = run.measure_video(path, spans=2, span_processes=True)
    threads = run.measure_video(path, spans=2, span_processes=False)
    assert processes.info.spans["in_processes"] == 1 and threads.info.spans["in_processes"] == 0
    assert processes.signals["cheek_lift_left_mm"].notna().sum() > 100
    pd.testing.assert_frame_equal(processes.signals, threads.signals, check_exact=True)


def test_a_video_measured_in_two_spans_at_once_agrees_with_one_pass():
    """Stated tolerance of ``measure_video(spans=2)`` against one sequential pass, on a real
    34 s clip: the same frames, times and trusted frames; each measure's median difference
    under 0.01 mm (the second span's landmark tracker starts afresh, a few frames differ by
    up to about 1 mm, and a borderline blink can read as a closure); events of each kind within
    3 or 10 % of each other, and the same finding."""
    from facenerve.twitch.analyze import analyze_video

    path = need(NATURAL / "LivePortrait__driving_d6.mp4")
    two, one = analyze_video(path, spans=2), analyze_video(path, parallel=False)
    assert two.info.spans["count"] == 2 and one.info.spans["count"] == 1
    assert two.info.n_frames == one.info.n_frames
    a, b = two.signals, one.signals
    for col in ("frame", "time_s", "face_detected", "quality_ok"):
        assert (a[col].to_numpy() == b[col].to_numpy()).all(), col
    for col in (c for c in a.columns if c.endswith("_mm")):
        assert (a[col] - b[col]).abs().median() < 0.01, col
    kinds_a, kinds_b = two.events["kind"].value_counts(), one.events["kind"].value_counts()
    for kind in set(kinds_a.index) | set(kinds_b.index):
        n_a, n_b = kinds_a.get(kind, 0), kinds_b.get(kind, 0)
        assert abs(n_a - n_b) <= max(3, 0.1 * max(n_a, n_b)), kind
    assert two.findings["affected_sides"] == one.findings["affected_sides"]
    assert two.findings["finding"] == one.findings["finding"]


def test_blinks_on_real_faces_recorded_at_25_frames_per_second(tmp_path, monkeypatch):
    """ZJU clips (30 fps) re-encoded at 25 fps, their annotations re-timed with them
    (``evaluate blinks --fps 25``): every annotated blink survives the re-timing, blinks are
    still found and none becomes a twitch. The whole set's figures, also at 15 fps and heavily
    compressed, are in the README. The clips' measures are kept in ``work`` and read again."""
    from facenerve.evaluation.annotations import read_tag
    from facenerve.evaluation.blinks import evaluate_blinks
    from facenerve.evaluation.recode import recode_folder

    from .conftest import subset_folder

    names = [p.stem for p in sorted(need(ZJU).glob("*_F[NT]N.mp4"))[:8]]
    (tmp_path / "clips").mkdir()
    src = subset_folder(tmp_path / "clips", ZJU, [f"{n}{ext}" for n in names for ext in (".mp4", ".tag")])
    at25, work = recode_folder(src, tmp_path / "at25", fps=25), tmp_path / "work"
    report = evaluate_blinks(at25, work=work)
    assert report["clips"] == 8
    assert report["annotated_blinks"] == sum(len(read_tag(src / f"{n}.tag").blinks()) for n in names)
    assert report["facenerve"]["f1"] >= 0.95 and report["twitches_reported"] == 0, report["facenerve"]
    assert len(list((work / "measures").glob("*.parquet"))) == 8

    def not_again(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr("facenerve.measure.run.measure_video", not_again)
    assert evaluate_blinks(at25, work=work) == report


def test_blinks_on_real_faces_filmed_from_across_a_room(tmp_path):
    """ZJU clips each in a picture 6 times as wide and high (``evaluate blinks --far 6``: the
    face about a twentieth of the width, which FaceMesh's own detector never finds): every frame
    is measured in a crop around the face, blinks are found as close up and none becomes a
    twitch. The whole set's figures are in the README."""
    from facenerve.evaluation.blinks import evaluate_blinks
    from facenerve.evaluation.recode import recode_folder
    from facenerve.measure.run import measure_video

    from .conftest import subset_folder

    names = [p.stem for p in sorted(need(ZJU).glob("*_F[NT]N.mp4"))[:4]]
    (tmp_path / "clips").mkdir()
    src = subset_folder(tmp_path / "clips", ZJU, [f"{n}{ext}" for n in names for ext in (".mp4", ".tag")])
    far = recode_folder(src, tmp_path / "far", far=6)
    report, close = evaluate_blinks(far), evaluate_blinks(src)
    assert report["clips"] == 4 and report["annotated_blinks"] == close["annotated_blinks"]
    assert report["facenerve"]["f1"] >= close["facenerve"]["f1"] - 0.05, (report["facenerve"], close["facenerve"])
    assert report["twitches_reported"] == 0
    measured = measure_video(far / f"{names[0]}.mp4", motion=False, parallel=False)
    assert measured.info.face_fraction == 1.0
    assert measured.info.landmarks["frames_in_crop"] == measured.info.n_frames


def test_weaker_twitches_are_injected_at_the_same_moments_with_smaller_amplitudes(tmp_path):
    """``--strength`` scales the injected twitches: the same schedule, each amplitude scaled,
    and the frames moved less from the real recording."""
    from facenerve.evaluation.inject import inject_twitches
    from facenerve.evaluation.realfaces import measured
    from facenerve.media.video import iter_frames
    from facenerve.settings import AnalysisSettings

    clip = sorted(need(ZJU).glob("*_FNN.mp4"))[0]
    signals, lm = measured(clip, tmp_path, AnalysisSettings(), landmarks=True)
    truths, moved = {}, {}
    for strength in (1.0, 0.5):
        out = tmp_path / f"copy-{strength}.mp4"
        truths[strength] = inject_twitches(clip, out, signals, lm, "left", np.random.default_rng(7),
                                           twitch_rate_per_min=40, strength=strength)
        diffs = [np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean()
                 for a, b in zip(iter_frames(clip), iter_frames(out), strict=False)]
        frames = [i for e in truths[strength]["events"] for i in range(e["onset_frame"], e["offset_frame"] + 1)]
        moved[strength] = float(np.mean([diffs[i] for i in frames]))
    full, half = truths[1.0]["events"], truths[0.5]["events"]
    assert full and [e["onset_frame"] for e in full] == [e["onset_frame"] for e in half]
    assert [e["amplitude"] for e in half] == pytest.approx([e["amplitude"] / 2 for e in full], abs=1e-3)
    assert truths[0.5]["strength"] == 0.5 and moved[0.5] < moved[1.0]


def test_the_second_injection_style_closes_one_eye_from_both_lids_and_leaves_the_other(tmp_path):
    """``--style contraction``: both lids of one eye drawn together (the band between them
    covered), the other eye's pixels untouched, and events listing every region that moved, the
    eye first, with clonic bursts as one event."""
    from facenerve.evaluation.inject import inject_twitches
    from facenerve.evaluation.realfaces import measured
    from facenerve.measure.geometry import SIDES
    from facenerve.media.video import iter_frames
    from facenerve.settings import AnalysisSettings

    clip = sorted(need(ZJU).glob("*_FNN.mp4"))[0]
    signals, lm = measured(clip, tmp_path, AnalysisSettings(), landmarks=True)
    out = tmp_path / "copy.mp4"
    truth = inject_twitches(clip, out, signals, lm, "left", np.random.default_rng(3), twitch_rate_per_min=60,
                            style="contraction")
    events = truth["events"]
    assert truth["style"] == "contraction" and events
    assert all(e["region"] == e["regions"][0] and ("eye" not in e["regions"] or e["region"] == "eye")
               for e in events)
    eye = [e for e in events if e["region"] == "eye"]
    assert eye, events
    peak = {e["onset_frame"] + (e["offset_frame"] - e["onset_frame"]) // 2: e for e in eye}
    orig = {f.index: f.rgb for f in iter_frames(clip) if f.index in peak}
    copy = {f.index: f.rgb for f in iter_frames(out) if f.index in peak}

    def change(i: int, side: str) -> float:  # mean change over the eye's opening, grey levels
        ix = SIDES[side]
        x0, x1 = sorted(lm[i, [ix.eye_outer, ix.eye_inner], 0])
        y0, y1 = sorted(lm[i, [ix.lid_upper, ix.lid_lower], 1])
        box = np.s_[int(y0):int(np.ceil(y1)) + 1, int(x0):int(np.ceil(x1)) + 1]
        return float(np.abs(copy[i][box].astype(int) - orig[i][box].astype(int)).mean())

    checked = 0
    for i, e in peak.items():
        if e["pattern"] == "clonic" and e["jerks"] > 1:
            continue  # the burst's middle may fall between two jerks
        checked += 1
        assert change(i, "left") > 10 and change(i, "left") > 5 * change(i, "right") + 1, (i, e)
    assert checked


def test_a_real_eye_squeezed_from_both_lids_is_found_where_facemesh_reads_little(tmp_path):
    """Into a real ZJU face (looking up at the camera, between its own blinks), one eye drawn
    0.8 shut from both lids for 0.3 s: FaceMesh reads about a third of it and the eye's centre
    does not move, so it was missed; the lids' flow towards each other finds it."""

    from facenerve.evaluation.inject import draw_contraction
    from facenerve.evaluation.realfaces import measured
    from facenerve.media.video import iter_frames
    from facenerve.settings import AnalysisSettings
    from facenerve.simulate.render import write_video
    from facenerve.twitch.analyze import analyze_video, events_and_findings

    clip = need(ZJU) / "35_000009M_UNN.mp4"
    signals, lm = measured(clip, tmp_path, AnalysisSettings(), landmarks=True)
    a = np.clip(np.minimum(np.arange(len(lm)) - 43, 51 - np.arange(len(lm))) / 3, 0, 1)  # frames 43-51

    def frames():
        for f in iter_frames(clip):
            if a[f.index] > 0:
                yield draw_contraction(f.rgb, lm[f.index].astype(float), "right", {"eye": 0.8 * float(a[f.index])})
            else:
                yield f.rgb

    out = tmp_path / "squeezed.mp4"
    write_video(frames(), out, 30.0, crf=16)
    sig = analyze_video(out, detect=False).signals
    landmark_closure = 1 - sig["eye_aperture_right_mm"].iloc[44:51].min() / sig["eye_aperture_right_mm"].iloc[30:42].median()
    assert landmark_closure < 0.5  # what FaceMesh sees of it
    events, _ = events_and_findings(sig, AnalysisSettings())
    found = events[(events["kind"] == "twitch") & (events["onset_frame"] <= 51) & (events["offset_frame"] >= 43)]
    assert len(found) == 1 and found.iloc[0]["side"] == "right" and found.iloc[0]["region"] == "eye", events
    assert (events["kind"] == "twitch").sum() == 1  # nothing else in the clip
