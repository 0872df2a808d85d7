"""Shared fixtures. Real-data tests skip with a reason when ../shared/data is absent;
MediaPipe runs once per real video per session and the result is shared."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__import__("os").environ.get("FACENERVE_SHARED", ROOT.parent / "shared")) / "data"
FACE_MEDIA = SHARED / "face-media"
ZJU = SHARED / "zju-eyeblink"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data is not beside this checkout)")
    return path


@pytest.fixture(scope="session")
def wolfgang_result():
    from facenerve.twitch.analyze import analyze_video

    return analyze_video(need(FACE_MEDIA / "WolfgangLanger_Pexels.mp4"))


@pytest.fixture(scope="session")
def example_result():
    from facenerve.simulate.render import example_video
    from facenerve.twitch.analyze import analyze_video

    return analyze_video(example_video())


@pytest.fixture(scope="session")
def tiny_videos(tmp_path_factory):
    """Small synthetic files for the bad-input tests (made with PyAV, no real data)."""
    import numpy as np

    from facenerve.simulate.render import write_video

    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(30)]
    write_video(iter(noise), d / "noface.mp4", fps=15)
    data = (d / "noface.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    mid = len(corrupt) // 3
    corrupt[mid : mid + 4000] = rng.integers(0, 255, 4000, dtype=np.uint8).tobytes()
    (d / "corrupt.mp4").write_bytes(bytes(corrupt))
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.txt").write_text("not a video at all\n" * 50)
    (d / "fake.mp4").write_text("not a video at all\n" * 50)
    import av

    with av.open(str(d / "audio.m4a"), "w") as out:
        s = out.add_stream("aac", rate=16000)
        t = np.arange(16000) / 16000
        frame = av.AudioFrame.from_ndarray((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :],
                                           format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            out.mux(p)
        for p in s.encode():
            out.mux(p)
    from PIL import Image

    Image.fromarray(noise[0]).save(d / "still.png")
    Image.fromarray(noise[0]).save(d / "still.jpg")
    return d


NATURAL = SHARED / "natural"
# a fixed subset of the natural clips for the suite (the full set runs from its command):
# talking, laughing, posed expressions, winks and head turns, with small and large faces
NATURAL_SUBSET = (
    "LivePortrait__driving_d3.mp4", "LivePortrait__driving_d5.mp4", "LivePortrait__driving_d19.mp4",
    "EAMM__video_happy.mp4", "EAMM__video_surprised.mp4", "HelloMeme__drive_videos_xzy2.mp4",
    "SadTalker__ref_video_WDA_KatieHill_000.mp4", "DPE__data_d.mp4", "IP_LAP__template_video_129.mp4",
    "StyleTalk__src_Obama_clip1.mp4", "video-retalking__face_1.mp4", "TPSMM__assets_driving.mp4",
    "EAMM__video_sad.mp4", "HelloMeme__drive_videos_amns.mp4",
)


def subset_folder(tmp: Path, source: Path, names) -> Path:
    """A folder of links to some of a data folder's videos."""
    need(source)
    for name in names:
        (tmp / name).symlink_to(need(source / name))
    return tmp


@pytest.fixture(scope="session")
def natural_report(tmp_path_factory):
    from facenerve.evaluation.realfaces import evaluate_natural

    folder = subset_folder(tmp_path_factory.mktemp("natural"), NATURAL, NATURAL_SUBSET)
    return evaluate_natural(folder)
