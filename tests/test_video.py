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


def test_a_face_filmed_from_across_a_room_is_measured_in_every_frame(tmp_path):
    """A face too small in the picture for FaceMesh's own detector (under a tenth of its width)
    is found by the full-range detector and followed in a crop: measured in every frame, as the
    same face close up, also while it moves across the picture by twice its width. It was "no
    face was found in any of the frames"."""
    from facenerve.evaluation.recode import placed_far
    from facenerve.measure.run import measure_video
    from facenerve.simulate.render import example_video, write_video

    close = [f.rgb for f, _ in zip(iter_frames(example_video()), range(75), strict=False)]
    videos = {"close": close, "far": [placed_far(rgb, 7) for rgb in close],
              "moving": [np.ascontiguousarray(np.roll(placed_far(rgb, 7), (2 * k, -4 * k), axis=(0, 1)))
                         for k, rgb in enumerate(close)]}  # 4 pixels a frame, 300 in all
    measured = {}
    for name, frames in videos.items():
        write_video(iter(frames), tmp_path / f"{name}.mp4", 30, crf=12)
        measured[name] = measure_video(tmp_path / f"{name}.mp4", motion=False, parallel=False)
    assert measured["close"].info.landmarks["frames_in_crop"] == 0
    near = measured["close"].signals
    # still, the same numbers; moving, FaceMesh itself differs by up to 0.6 mm on a face it finds
    for name, most in (("far", 0.3), ("moving", 1.0)):
        room = measured[name]
        assert room.info.face_fraction >= 0.95, name
        assert room.info.landmarks["frames_in_crop"] >= 0.95 * len(close), name
        for col in ("eye_aperture_left_mm", "eye_aperture_right_mm", "mouth_open_mm", "brow_height_left_mm"):
            diff = np.nanmedian(np.abs(near[col].to_numpy() - room.signals[col].to_numpy()))
            assert diff < most, (name, col, diff)


class _Mesh:
    """A stand-in FaceMesh: a square 'face' of ``size`` pixels at the centre of whatever
    picture it is given, when that picture is at most ``finds_below`` pixels wide."""

    def __init__(self, size: float, finds_below: int, made: list):
        self.size, self.finds_below = size, finds_below
        made.append(self)

    def process(self, rgb):
        h, w = rgb.shape[:2]
        if w > self.finds_below:
            return []
        pts = np.zeros((478, 3), np.float32)
        pts[:, 0] = w / 2 + np.linspace(-self.size / 2, self.size / 2, 478)
        pts[:, 1] = h / 2 + np.linspace(-self.size / 2, self.size / 2, 478)
        return [pts]

    def close(self):
        pass


class _Detector:
    def __init__(self, boxes):
        self._boxes = boxes

    def boxes(self, rgb):
        return list(self._boxes)

    def boxes_in_windows(self, rgb):
        return []

    def close(self):
        pass


@pytest.mark.parametrize("score, mesh_size, found", [
    (0.9, 40, True),  # a small face, where the detector saw it
    (0.7, 40, False),  # the detector unsure (the letters of a title scored 0.60-0.69)
    (0.9, 130, False),  # FaceMesh's face in the crop is not the one the detector saw
])
def test_a_small_face_is_taken_only_where_both_models_see_it(score, mesh_size, found):
    from facenerve.measure.landmarks import Box, track_faces
    from facenerve.media.video import Frame
    from facenerve.settings import AnalysisSettings

    made: list = []
    frames = [Frame(index=i, t_s=i / 30, rgb=np.zeros((1000, 1000, 3), np.uint8)) for i in range(3)]
    obs, info = track_faces(frames, AnalysisSettings(), backend_factory=lambda n: _Mesh(mesh_size, 500, made),
                            detector_factory=lambda: _Detector([Box(300.0, 700.0, 40.0, score)]))
    points = [o.points for o in obs]
    if found:
        assert all(p is not None for p in points)
        assert np.allclose([p[:, 0].mean() for p in points], 300, atol=1)  # in the frame's pixels
        assert np.allclose([p[:, 1].mean() for p in points], 700, atol=1)
        assert info.frames_in_crop == 3
        assert len(made) == 2  # the whole frame's mesh and one in the crop, kept while the face stays
    else:
        assert all(p is None for p in points)
        assert info.frames_in_crop == 0


def test_a_small_face_away_from_the_person_followed_is_not_taken_for_them():
    """While the person followed is turned away (FaceMesh finds no face), someone small behind
    them is not measured in their place; a small face where they were is."""
    from facenerve.measure.landmarks import Box, track_faces
    from facenerve.media.video import Frame
    from facenerve.settings import AnalysisSettings

    class Turning(_Mesh):  # the whole frame's mesh finds the person (400 pixels) in frame 0 only
        calls = 0

        def process(self, rgb):
            Turning.calls += 1
            if rgb.shape[1] == 1000:
                return super().process(rgb) if Turning.calls == 1 else []
            return super().process(rgb)

    frames = [Frame(index=i, t_s=i / 30, rgb=np.zeros((1000, 1000, 3), np.uint8)) for i in range(3)]

    def points(where):
        Turning.calls = 0
        made: list = []
        # the person (400 pixels across), then the small face (40) in its crop
        obs, _ = track_faces(frames, AnalysisSettings(),
                             backend_factory=lambda n: Turning(40 if made else 400, 10_000, made),
                             detector_factory=lambda: _Detector([Box(*where, 40.0, 0.9)]))
        return [o.points for o in obs]

    behind, where_they_were = points((150.0, 150.0)), points((480.0, 520.0))
    assert behind[0] is not None and all(p is None for p in behind[1:])
    assert all(p is not None for p in where_they_were)
