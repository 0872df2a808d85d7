"""Twitch detection on rendered videos: the real pipeline (decoding, FaceMesh, skin motion,
events) recovers what the renderer moved, by side and region."""

import numpy as np
import pytest

from facenerve.evaluation.twitches import evaluate_twitches, make_twitch_set
from facenerve.simulate.render import face_warper, render_frames, write_video
from facenerve.simulate.signals import TruthEvent, activations
from facenerve.twitch.analyze import analyze_video


def _render(path, events, duration_s=6.0, fps=30.0, seed=0):
    warper = face_warper(360)
    t = np.arange(int(duration_s * fps)) / fps
    frames = render_frames(warper, activations(events, t), t, np.random.default_rng(seed),
                           noise=2.0, motion=(3.0, 2.0, 1.5))
    write_video(frames, path, fps)
    return t


@pytest.mark.parametrize("side", ["left", "right"])
def test_skin_motion_follows_one_cheek(tmp_path, side):
    other = "right" if side == "left" else "left"
    held = TruthEvent("twitch", side, "cheek", "tonic", 2.0, 4.0, 4.0)
    video = tmp_path / "cheek.mp4"
    t = _render(video, [held])
    sig = analyze_video(video, detect=False).signals
    during = (t > 2.4) & (t < 3.6)
    rest = (t > 0.3) & (t < 1.7)
    lift = sig[f"cheek_lift_{side}_mm"].to_numpy()
    assert np.nanmedian(lift[during]) - np.nanmedian(lift[rest]) > 2.0
    other_lift = sig[f"cheek_lift_{other}_mm"].to_numpy()
    assert abs(np.nanmedian(other_lift[during]) - np.nanmedian(other_lift[rest])) < 1.0
    # neither eye closes (the rising cheek may push the lower lid up: negative)
    for s in ("left", "right"):
        assert np.nanmax(sig[f"lid_drop_{s}_mm"].to_numpy()[during]) < 1.0


def test_one_eye_closing_is_seen_by_skin_motion(tmp_path):
    video = tmp_path / "eye.mp4"
    t = _render(video, [TruthEvent("twitch", "right", "eye", "tonic", 2.0, 4.0, 0.9)])
    sig = analyze_video(video, detect=False).signals
    during = (t > 2.4) & (t < 3.6)
    assert np.nanmedian(sig["lid_drop_right_mm"].to_numpy()[during]) > 2.0
    assert abs(np.nanmedian(sig["lid_drop_left_mm"].to_numpy()[during])) < 0.5
    # the lower face stays still on both sides while the eye closes
    for col in ("cheek_lift", "mouth_lift"):
        diff = (sig[f"{col}_left_mm"] - sig[f"{col}_right_mm"]).to_numpy()
        assert np.nanmax(np.abs(diff[during])) < 1.0


def test_recovers_rendered_twitches_by_side_and_region(tmp_path):
    make_twitch_set(tmp_path, n_videos=2, duration_s=30.0, twitch_free=1, first_seed=7)
    report = evaluate_twitches(tmp_path)
    assert report["twitch"]["tp"] >= 10  # enough twitches to mean something
    assert report["twitch"]["f1"] >= 0.9, report["twitch"]
    assert report["side_correct"] == 1.0
    assert report["region_correct"] >= 0.85
    assert report["pattern_correct"] >= 0.85
    assert report["blink"]["f1"] >= 0.9, report["blink"]
    assert report["false_twitches_per_10_min"] == 0


def test_skin_motion_at_the_regions_pixels_only_equals_the_whole_field():
    """Computed at the measured pixels only, skin motion is exactly what the whole flow field
    gives with the head's own motion removed everywhere."""
    import cv2

    from facenerve.measure.skin_motion import CROP, Steadier, _discs, typical_face

    steady = Steadier(typical_face())
    masks = _discs(typical_face())
    yy, xx = np.mgrid[0:CROP, 0:CROP].astype(np.float64)
    x, y = xx[masks["rigid"]], yy[masks["rigid"]]
    design = np.empty((2 * len(x), 4))
    design[0::2] = np.c_[x, -y, np.ones_like(x), np.zeros_like(x)]
    design[1::2] = np.c_[y, x, np.zeros_like(x), np.ones_like(x)]
    rng = np.random.default_rng(1)
    ref = cv2.GaussianBlur(rng.integers(0, 255, (CROP, CROP), dtype=np.uint8), (7, 7), 2)
    for k in range(1, 5):
        m = np.float32([[1, 0.01 * k, 0.4 * k], [-0.01 * k, 1, 0.3 * k]])
        crop = cv2.warpAffine(ref, m, (CROP, CROP), borderMode=cv2.BORDER_REPLICATE)
        flow = steady.dis.calc(ref, crop, None)
        obs = np.empty(len(design))
        obs[0::2], obs[1::2] = flow[..., 0][masks["rigid"]], flow[..., 1][masks["rigid"]]
        a, b, tx, ty = np.linalg.pinv(design) @ obs
        full = flow.astype(np.float64)
        full[..., 0] -= a * xx - b * yy + tx
        full[..., 1] -= b * xx + a * yy + ty
        expected = []
        for s, outward in (("left", 1.0), ("right", -1.0)):
            lid, upper, lower, cheek, mouth = (full[masks[f"{r}_{s}"]]
                                               for r in ("lid", "upper_lid", "lower_lid", "cheek", "mouth"))
            expected += [np.median(lid[:, 1]), np.median(upper[:, 1]) - np.median(lower[:, 1]),
                         -np.median(cheek[:, 1]), -np.median(mouth[:, 1]), outward * np.median(mouth[:, 0])]
        got = steady.motion(ref, crop)
        assert np.abs(got).max() > 0.01  # the regions moved
        assert np.array_equal(got, np.asarray(expected, np.float32))


def test_one_eye_closed_from_both_lids_is_seen_and_is_a_twitch(tmp_path):
    """An eye squeezed shut from both lids at once (``evaluate injected --style contraction``)
    leaves its centre where it was and FaceMesh's shape model reads little of it; the lids'
    flow towards each other (``lid_close``) sees it, and it is found as that eye's twitch."""

    from facenerve.evaluation.inject import draw_contraction
    from facenerve.settings import AnalysisSettings
    from facenerve.twitch.analyze import events_and_findings

    warper = face_warper(360)
    fps, t = 30.0, np.arange(180) / 30.0
    squeeze = np.clip(np.minimum(t - 2.0, 2.6 - t) / 0.1, 0, 1)  # 2.0-2.6 s, held shut 0.4 s
    rng = np.random.default_rng(0)

    def frames():
        for a in squeeze:
            img = warper.image
            if a > 0:
                img = draw_contraction(img, warper.p, "right", {"eye": 0.9 * float(a)})
            yield np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)

    video = tmp_path / "squeeze.mp4"
    write_video(frames(), video, fps)
    sig = analyze_video(video, detect=False).signals
    during, rest = (t > 2.15) & (t < 2.45), t < 1.8
    close = {s: sig[f"lid_close_{s}_mm"].to_numpy() for s in ("left", "right")}
    assert np.nanmedian(close["right"][during]) - np.nanmedian(close["right"][rest]) > 1.0
    assert abs(np.nanmedian(close["left"][during]) - np.nanmedian(close["left"][rest])) < 0.3
    events, _ = events_and_findings(sig, AnalysisSettings())
    twitches = events[events["kind"] == "twitch"]
    assert len(twitches) == 1 and twitches.iloc[0]["side"] == "right" and twitches.iloc[0]["region"] == "eye", events
