"""Video stage: every frame, exact timestamps, rotation, variable frame rate."""

from fractions import Fraction

import av
import numpy as np
import pytest

from facenerve.errors import InputError
from facenerve.media.video import iter_frames, probe


def _write(path, frames, rate=30, rotation=None, pts=None):
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "yuv420p"
        if pts is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            if pts is not None:
                vf.pts = pts[i]
                vf.time_base = Fraction(1, 1000)
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
        if rotation is not None:
            s.set_display_rotation(rotation)


def test_every_frame_with_time(tmp_path):
    frames = [np.full((48, 64, 3), i * 8, np.uint8) for i in range(25)]
    _write(tmp_path / "a.mp4", frames, rate=25)
    info = probe(tmp_path / "a.mp4")
    got = list(iter_frames(tmp_path / "a.mp4", info))
    assert [f.index for f in got] == list(range(25))
    assert got[1].t_s == pytest.approx(0.04, abs=1e-6)
    assert got[0].rgb.shape == (48, 64, 3)
    assert info.width == 64 and info.height == 48


def test_variable_frame_rate_uses_timestamps(tmp_path):
    frames = [np.full((48, 64, 3), 100, np.uint8) for _ in range(6)]
    pts = [0, 33, 66, 166, 200, 400]  # ms: irregular gaps
    _write(tmp_path / "vfr.mp4", frames, rate=30, pts=pts)
    got = [f.t_s for f in iter_frames(tmp_path / "vfr.mp4")]
    assert len(got) == 6
    assert got[3] - got[2] == pytest.approx(0.1, abs=0.002)
    assert got[5] - got[4] == pytest.approx(0.2, abs=0.002)


def test_rotation_metadata_is_honoured(tmp_path):
    img = np.zeros((48, 64, 3), np.uint8)
    img[:8, :16] = 255  # a white block in the top-left corner
    with av.open(str(tmp_path / "r.mp4"), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        if not hasattr(s, "set_display_rotation"):
            pytest.skip("this PyAV cannot write rotation metadata")
        s.set_display_rotation(-90)  # display turned 90 degrees clockwise
        for _ in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    info = probe(tmp_path / "r.mp4")
    f = next(iter(iter_frames(tmp_path / "r.mp4", info)))
    assert f.rgb.shape[:2] == (64, 48)
    assert (info.width, info.height) == (48, 64)
    assert info.rotation_deg in (90, 270)


@pytest.mark.parametrize("name,message", [
    ("missing.mp4", "does not exist"),
    ("empty.mp4", "empty"),
    ("notes.txt", "not a video"),
    ("fake.mp4", "not a video"),
    ("audio.m4a", "audio-only"),
    ("still.png", "still image"),
    ("still.jpg", "still image"),
])
def test_bad_files_are_named(tiny_videos, name, message):
    with pytest.raises(InputError, match=message):
        info = probe(tiny_videos / name)
        list(iter_frames(tiny_videos / name, info))


def test_truncated_video_is_an_error(tiny_videos):
    with pytest.raises(InputError, match="truncated|corrupt|not a video|no decodable"):
        info = probe(tiny_videos / "truncated.mp4")
        list(iter_frames(tiny_videos / "truncated.mp4", info))


def test_lean_facemesh_call_gives_the_public_calls_landmarks():
    """``MediaPipeFaceMesh`` skips FaceMesh.process's per-call overheads; the points are the same."""
    from facenerve.measure.landmarks import MediaPipeFaceMesh
    from facenerve.media.video import iter_frames
    from facenerve.settings import AnalysisSettings
    from facenerve.simulate.render import example_video

    frames = [f.rgb for f, _ in zip(iter_frames(example_video()), range(20), strict=False)]
    probe = MediaPipeFaceMesh(AnalysisSettings())
    assert probe._process_lean(frames[0]) is not None  # these internals are MediaPipe 0.10's
    probe.close()
    # two fresh meshes, each tracking through the same frames
    lean, public = MediaPipeFaceMesh(AnalysisSettings()), MediaPipeFaceMesh(AnalysisSettings(), lean=False)
    try:
        for rgb in frames:
            a, b = lean.process(rgb), public.process(rgb)
            assert len(a) == len(b) == 1
            np.testing.assert_array_equal(a[0], b[0])
    finally:
        lean.close()
        public.close()
