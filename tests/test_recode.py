"""Clips re-encoded as other cameras record them (``evaluate ... --fps N --crf Q --far K``)."""

import numpy as np
import pytest

from facenerve.cli import main
from facenerve.evaluation.annotations import read_tag
from facenerve.evaluation.recode import picked_frames, recode_folder
from facenerve.media.video import iter_frames, probe
from facenerve.simulate.render import write_video


def _numbered_clip(path, n=30, fps=30):
    """Frame i's brightness is 8 * i: which source frame a recoded frame came from shows."""
    write_video((np.full((48, 64, 3), 8 * i, np.uint8) for i in range(n)), path, fps, crf=0)


def _tag(path, n, blinks):
    lines = ["#eye-blink annotation file version 1.1", "#start"]
    for f in range(1, n + 1):
        bid = next((k for k, (a, b) in enumerate(blinks) if a <= f <= b), -1)
        lines.append(f"{f}:{bid}:X:X:X:X:X:1:2:3:4:5:6:7:8:9:10:11:12")
    path.write_text("\n".join([*lines, "#end"]) + "\n")


def test_the_nearest_source_frame_in_time_is_taken():
    times = np.arange(10) / 30  # 30 fps, 0.3 s
    assert picked_frames(times, 15).tolist() == [0, 2, 4, 6, 8]
    assert picked_frames(times, 25).tolist() == [0, 1, 2, 4, 5, 6, 7, 8]
    assert picked_frames(np.arange(5) / 10, 30).tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4]


def test_a_folder_is_recoded_at_another_frame_rate_with_its_annotation_retimed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _numbered_clip(src / "a.mp4")
    _tag(src / "a.tag", 30, [(8, 12)])  # frames numbered from 1, as ZJU's
    out = recode_folder(src, tmp_path / "out", fps=15, crf=0)
    assert probe(out / "a.mp4").fps_nominal == pytest.approx(15)
    frames = list(iter_frames(out / "a.mp4"))
    assert len(frames) == 15
    assert [round(f.rgb.mean() / 8) for f in frames] == list(range(0, 30, 2))  # every other frame
    assert [f.t_s for f in frames][1] == pytest.approx(1 / 15, abs=1e-3)
    ann = read_tag(out / "a.tag")
    # a line's number is its frame's index: output frame k is source frame 2k, so the blink of
    # source frames 8-12 is on output frames 4-6
    assert ann.blinks() == [(4, 6)]
    assert not ann.annotated[0]  # source frame 0 had no line
    assert read_tag(src / "a.tag").blinks() == [(8, 12)]  # the source untouched


def test_recoding_only_the_quality_keeps_every_frame(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _numbered_clip(src / "a.mp4", n=12, fps=25)
    out = recode_folder(src, tmp_path / "out", crf=30)
    frames = list(iter_frames(out / "a.mp4"))
    assert len(frames) == 12 and probe(out / "a.mp4").fps_nominal == pytest.approx(25)
    assert not (out / "a.tag").exists()


def test_a_clip_from_across_a_room_keeps_its_frames_and_pixels_in_a_larger_picture(tmp_path):
    """``--far 4``: each frame in a picture 4 times as wide and high, its own height above it and
    its own width to its right, the edges continued (no border by the face)."""
    src = tmp_path / "src"
    src.mkdir()
    write_video((np.tile(np.linspace(0, 240, 64, dtype=np.uint8)[None, :, None], (48, 1, 3)) + i
                 for i in range(6)), src / "a.mp4", 25, crf=0)
    out = recode_folder(src, tmp_path / "out", crf=0, far=4)
    frames = [f.rgb.astype(int) for f in iter_frames(out / "a.mp4")]
    close = [f.rgb.astype(int) for f in iter_frames(src / "a.mp4")]
    assert len(frames) == 6 and frames[0].shape == (4 * 48, 4 * 64, 3)
    for big, small in zip(frames, close, strict=True):
        assert np.abs(big[48:96, 128:192] - small).max() <= 2  # the clip itself, where it was put
        assert np.abs(big[:48, 128:192] - small[:1]).max() <= 2  # above it: its top row continued
        assert np.abs(big[48:96, 192:] - small[:, -1:]).max() <= 2  # right: its last column
        assert np.abs(big[48:96, :128] - small[:, :1]).max() <= 2  # left: its first column


def test_recoding_needs_a_work_folder(capsys, tmp_path):
    assert main(["evaluate", "blinks", str(tmp_path), "--fps", "15"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--work" in err and "Traceback" not in err
