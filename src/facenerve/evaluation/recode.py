"""Clips re-encoded as other cameras record them, for ``evaluate natural|injected|blinks
--fps N --crf Q --far K``: do the figures hold for a webcam at 15 frames per second, a 25 fps
source, a heavily compressed upload, a camera across the room?

``recode_folder(folder, dst, fps, crf)`` writes every video of ``folder`` into ``dst`` (kept:
a rerun reuses it), H.264 at quality ``crf``, and at ``fps`` frames per second when given:
output frame k (at k / fps seconds) is the source frame nearest in time, so frames are dropped
or repeated and nothing is blended. A ``.tag`` blink annotation beside a video (ZJU) is
re-timed the same way: output frame k takes the annotation line of the frame it came from.
Without ``fps`` every frame is kept, at the source's mean frame rate. With ``far`` each frame
is placed in a picture ``far`` times as wide and high (``placed_far``): the face as small in
the picture as when filmed from across a room, with as many pixels as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media.video import iter_frames, probe
from .realfaces import find_videos

DEFAULT_CRF = 18  # visually lossless: a frame rate alone changes, not the picture


def placed_far(rgb: np.ndarray, times: int) -> np.ndarray:
    """``rgb`` in a picture ``times`` as wide and high, off centre (its own height above it and
    its own width to its right), its edges continued outwards: no hard border by the face,
    where FaceMesh reads a face cut off by an edge otherwise."""
    import cv2

    h, w = rgb.shape[:2]
    return cv2.copyMakeBorder(rgb, h, (times - 2) * h, (times - 2) * w, w, cv2.BORDER_REPLICATE)


def picked_frames(times: np.ndarray, fps: float) -> np.ndarray:
    """For each output frame k (at k / fps seconds from the first frame), the index of the
    source frame nearest in time; ``times``: the source frames' times, ascending."""
    t = np.asarray(times, dtype=np.float64) - times[0]
    out_t = np.arange(int(np.floor(t[-1] * fps + 1e-9)) + 1) / fps
    right = np.clip(np.searchsorted(t, out_t), 1, len(t) - 1) if len(t) > 1 else np.zeros(len(out_t), int)
    left = np.maximum(right - 1, 0)
    return np.where(np.abs(t[left] - out_t) <= np.abs(t[right] - out_t), left, right)


def recode_video(src: Path, dst: Path, fps: float | None = None, crf: int = DEFAULT_CRF,
                 tag: Path | None = None, far: int | None = None) -> np.ndarray:
    """Write ``src`` re-encoded into ``dst`` (and ``tag``, ``src``'s annotation, re-timed beside
    it); returns the source frame index of each frame written."""
    from ..simulate.render import write_video

    info = probe(src)
    times = np.array([f.t_s for f in iter_frames(src, info)])  # decoded twice: one frame in memory
    if len(times) == 0:
        raise InputError(f"{src} has no frame to re-encode")
    picked = picked_frames(times, fps) if fps else np.arange(len(times))
    rate = fps or ((len(times) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else info.fps_nominal)
    if tag is not None:
        retime_tag(tag, dst.with_suffix(".tag"), picked)

    def frames() -> Iterator[np.ndarray]:
        wanted = iter(picked)
        k = next(wanted, None)
        for f in iter_frames(src, info):
            while k is not None and k == f.index:
                rgb = f.rgb[: f.rgb.shape[0] // 2 * 2, : f.rgb.shape[1] // 2 * 2]  # H.264 4:2:0: even sizes
                yield placed_far(rgb, far) if far else rgb
                k = next(wanted, None)

    part = dst.with_name(dst.name + ".part.mp4")
    write_video(frames(), part, rate, crf=crf)
    part.replace(dst)  # last: a clip that is there is whole, its annotation with it
    return picked


def retime_tag(tag: Path, dst: Path, picked: np.ndarray) -> None:
    """The ZJU ``.tag`` of a re-encoded clip: its header, then for output frame k the line of
    source frame ``picked[k]``, numbered k (a line's number is its frame's index, as
    ``annotations.read_tag`` reads it)."""
    lines = tag.read_text(errors="replace").splitlines()
    try:
        start = lines.index("#start")
    except ValueError:
        raise InputError(f"{tag} is not a .tag annotation file (no '#start' line)") from None
    body = [line for line in lines[start + 1 :] if line.strip() and not line.startswith("#")]
    tail = [line for line in lines[start + 1 :] if line.startswith("#")]
    by_frame = {int(line.split(":", 1)[0]): line.split(":", 1)[1] for line in body}
    if not by_frame:
        raise InputError(f"{tag} has no annotated frame")
    new = [f"{k}:{by_frame[i]}" for k, i in enumerate(picked) if i in by_frame]
    dst.write_text("\n".join(lines[: start + 1] + new + tail) + "\n")


def recode_folder(folder: str | Path, dst: str | Path, fps: float | None = None, crf: int = DEFAULT_CRF,
                  far: int | None = None, progress: bool = False) -> Path:
    """Every video of ``folder`` re-encoded into ``dst`` (with its ``.tag``, re-timed), once."""
    from tqdm import tqdm

    videos = find_videos(folder)
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for video in tqdm(videos, unit="video", desc="re-encoding", disable=not progress):
        out = dst / f"{video.stem}.mp4"
        if not out.exists():
            tag = video.with_suffix(".tag")
            recode_video(video, out, fps, crf, tag if tag.exists() else None, far)
    return dst


def recoded_name(fps: float | None, crf: int, far: int | None = None) -> str:
    """The work folder's name for clips recoded so (``recoded-15fps-crf18``, ``recoded-native-crf18-far6``)."""
    return f"recoded-{f'{fps:g}fps' if fps else 'native'}-crf{crf}" + (f"-far{far}" if far else "")
