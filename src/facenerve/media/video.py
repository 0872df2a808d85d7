"""Video stage: decode every frame with its exact timestamp.

Shape contract
    in:  path to a video file
    out: ``VideoInfo`` (metadata) and an iterator of ``Frame`` in decode order:
         ``index`` (0-based, counts every decoded frame), ``t_s`` (presentation time in s,
         from the stream's timestamps, so variable frame rate is honoured), ``rgb``
         (uint8 [H, W, 3], already turned upright by the rotation metadata).

Nothing is dropped: the index of a frame equals its position among decoded frames, which
is what annotation files such as the ZJU ``.tag`` files count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

STILL_IMAGE_FORMATS = {
    "image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "gif", "tiff_pipe",
    "gif_pipe", "jpegls_pipe", "pgm_pipe", "ppm_pipe", "svg_pipe", "image2pipe",
}
# FFmpeg reads any text file as "ANSI art" video; none of these is a camera recording.
TEXT_FORMATS = {"tty", "bin", "idf", "xbin", "adf"}
TEXT_CODECS = {"ansi", "bintext", "xbin", "idf", "text"}
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")  # what a folder of videos holds
MIN_SIDE_PX = 32  # smaller pictures cannot show a face's features
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".heic"}


@dataclass(frozen=True)
class VideoInfo:
    path: str
    container: str
    codec: str
    width: int  # upright (after rotation)
    height: int
    rotation_deg: int  # clockwise turn applied to make frames upright
    fps_nominal: float
    n_frames_header: int  # 0 when the container does not say
    duration_s: float
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DecodeReport:
    """What decoding found, filled in by ``iter_frames`` as it goes: frames decoded, frames
    the container promised, and whether the file ended before them."""

    frames: int = 0
    header_frames: int = 0
    damaged: list[int] = field(default_factory=list)  # indices of frames decoded from damaged data

    @property
    def missing_frames(self) -> int:
        """Frames the header promised beyond those decoded (a header may be a frame or two off)."""
        short = self.header_frames - self.frames
        return short if self.header_frames and short > max(2, int(0.005 * self.header_frames)) else 0

    def to_dict(self) -> dict[str, Any]:
        notes = []
        if self.missing_frames:
            notes.append(f"the file ends early: its header promises {self.header_frames} frames, "
                         f"{self.frames} were decoded and measured")
        if self.damaged:
            notes.append(f"{len(self.damaged)} frames were decoded from damaged data and not measured")
        return {"frames": self.frames, "header_frames": self.header_frames,
                "missing_frames": self.missing_frames, "damaged_frames": len(self.damaged),
                "note": "; ".join(notes) or None}


@dataclass(frozen=True)
class Frame:
    index: int
    t_s: float
    rgb: np.ndarray
    damaged: bool = False  # decoded from damaged data (FFmpeg concealed an error), or from a
    # frame predicted from one, until the next key frame
    gray: np.ndarray | None = None  # uint8 [H, W] brightness (the luma plane), when asked for


def _open(path: Path):
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise InputError(
            f"{path} is not a video file or is damaged beyond reading; record or export it "
            "again as MP4, MOV, MKV or WebM"
        ) from None
    except (av.error.FFmpegError, OSError) as err:
        raise InputError(f"cannot open {path}: {err}; check that it is a complete video file") from None


def video_stream(container):
    """The face video: the longest video stream that is not an attached picture (cover art)."""
    streams = [s for s in container.streams.video
               if not (s.disposition and "attached_pic" in str(s.disposition).lower())]
    if not streams:
        return None

    def length(s) -> float:
        if s.duration is not None and s.time_base is not None:
            return float(s.duration * s.time_base)
        return float(s.frames or 0)

    return max(streams, key=length)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path} does not exist; check the file name")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes); the recording did not save, record it again")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path} cannot be read; check its permissions")


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's metadata and check that it is a readable, moving video."""
    path = Path(path)
    _check_path(path)
    container = _open(path)
    try:
        fmt = container.format.name
        stream = video_stream(container)
        if stream is None:
            kind = ("only a picture" if container.streams.video else
                    "an audio-only file" if container.streams.audio else "not a video")
            raise InputError(f"{path} is {kind}: it has no video stream; give a video of the face")
        if stream.codec_context is None:
            tag = getattr(stream, "codec_tag", "") or "unknown"
            raise InputError(f"{path} uses a video codec facenerve cannot decode (tag {tag!r}); "
                             "export it again as H.264 MP4")
        if fmt in TEXT_FORMATS or stream.codec_context.name in TEXT_CODECS:
            raise InputError(f"{path} is not a video file (it looks like text); give a video of the face")
        n_header = int(stream.frames or 0)
        if fmt in STILL_IMAGE_FORMATS or path.suffix.lower() in IMAGE_SUFFIXES or (
            n_header == 1 and fmt.split(",")[0] in STILL_IMAGE_FORMATS
        ):
            raise InputError(
                f"{path} is a still image, not a video; record a video of the face instead"
            )
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = n_header / fps if fps else 0.0
        ctx = stream.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width == 0 or height == 0:
            raise InputError(f"{path} has a video stream with no picture size; it is damaged")
        if min(width, height) < MIN_SIDE_PX:
            raise InputError(f"{path} is {width}x{height} pixels, too small to measure a face; record "
                             f"at least {MIN_SIDE_PX} pixels on each side")
        codec = ctx.name
    finally:
        container.close()
    rotation = _first_frame_rotation(path)
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(
        path=str(path), container=fmt, codec=codec, width=width, height=height,
        rotation_deg=rotation, fps_nominal=round(fps, 4), n_frames_header=n_header,
        duration_s=round(duration, 4), size_bytes=path.stat().st_size,
    )


def _upright_turns(rotation_meta: float) -> int:
    """np.rot90 turns (counter-clockwise) that undo a display-matrix rotation."""
    return int(round(rotation_meta / 90.0)) % 4


def _first_frame_rotation(path: Path) -> int:
    """Clockwise degrees applied to make frames upright, read from the first frame."""
    import av

    container = _open(path)
    try:
        stream = video_stream(container)
        for frame in container.decode(stream) if stream is not None else ():
            turns = _upright_turns(getattr(frame, "rotation", 0) or 0)
            return (-turns * 90) % 360
    except av.error.FFmpegError:
        pass  # decoding problems are reported by iter_frames with their count
    finally:
        container.close()
    return 0


# pixel formats whose first plane is the brightness, 8 bits per pixel
LUMA_FIRST = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}


def _gray(frame, rgb: np.ndarray) -> np.ndarray:
    """The frame's brightness: its luma plane as decoded (no conversion), or from the RGB."""
    if frame.format.name in LUMA_FIRST:
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return luma[:, : plane.width].copy()
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


SPAN_WARMUP_S = 0.5  # decoded before a span's start, for a landmark tracker to settle


@dataclass(frozen=True)
class Span:
    """A part of a video to decode on its own: frames with ``start_s <= t < end_s``, decoding
    from ``warmup_s`` earlier (those frames are yielded too, for a tracker to settle). Times
    and indices are the whole video's: ``pts`` holds every frame's presentation timestamp in
    order, so a frame's index is its timestamp's rank."""

    start_s: float
    end_s: float
    pts: np.ndarray  # int64 [n_frames], sorted
    warmup_s: float = 0.0


def plan_spans(path: str | os.PathLike[str], info: VideoInfo, parts: int, min_s: float,
               block_s: float) -> list[Span] | None:
    """Cut a video into up to ``parts`` spans of about equal time, each at least ``min_s``
    long, at multiples of ``block_s``, from its packets' timestamps (no decoding). None when
    it cannot be cut: too short, or timestamps missing or repeated (then it is decoded in one
    pass)."""
    if parts < 2 or info.duration_s < 2 * min_s:
        return None
    container = _open(Path(path))
    try:
        stream = video_stream(container)
        time_base = stream.time_base
        if not time_base:
            return None
        pts = [p.pts for p in container.demux(stream) if p.size]
    except Exception:  # noqa: BLE001 - any doubt: one pass, which reports errors itself
        return None
    finally:
        container.close()
    if not pts or any(p is None for p in pts):
        return None
    order = np.sort(np.asarray(pts, dtype=np.int64))
    if len(order) < 2 or (np.diff(order) <= 0).any():
        return None
    t_end = float((order[-1] - order[0]) * time_base)
    parts = min(parts, int(t_end // min_s))
    if parts < 2:
        return None
    cuts = sorted({block_s * round(i * t_end / parts / block_s) for i in range(1, parts)} - {0.0})
    if not cuts:
        return None
    edges = [0.0, *cuts, float("inf")]
    return [Span(a, b, order, warmup_s=0.0 if a == 0 else SPAN_WARMUP_S) for a, b in pairwise(edges)]


def iter_frames(path: str | os.PathLike[str], info: VideoInfo | None = None,
                report: DecodeReport | None = None, gray: bool = False,
                span: Span | None = None) -> Iterator[Frame]:
    """Decode every frame (of ``span``, when given), upright, with its presentation time in
    seconds.

    Raises ``InputError`` for a corrupt stream (packets that fail to decode). A file that ends
    before the frames its header promises is measured as far as it goes, and ``report`` (when
    given) says how many frames are missing. Frames already yielded stay valid, but after an
    error callers must treat the whole run as failed.
    """
    import av

    path = Path(path)
    info = info or probe(path)
    container = _open(path)
    try:
        stream = video_stream(container)
        time_base = float(stream.time_base) if stream.time_base else None
        start = None
        index = 0
        bad_packets = 0
        last_t = -1.0
        step = 1.0 / info.fps_nominal if info.fps_nominal else 1 / 30
        damage = False  # damage carries over to predicted frames until the next key frame
        count = 0  # frames yielded (of the span, when given: not those before it)
        if span is not None:
            start = int(span.pts[0])
            from_s = span.start_s - span.warmup_s
            if from_s > 0:
                container.seek(start + int(from_s / time_base), stream=stream, backward=True)
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                bad_packets += 1
                continue
            for frame in frames:
                if frame.is_corrupt:
                    damage = True
                elif frame.key_frame:
                    damage = False
                pts = frame.pts if frame.pts is not None else frame.dts
                if span is not None:
                    t = (pts - start) * time_base
                    if t < from_s:
                        continue
                    if t >= span.end_s:
                        break
                    index = int(np.searchsorted(span.pts, pts))
                elif pts is not None and time_base:
                    if start is None:
                        start = pts
                    t = (pts - start) * time_base
                else:
                    t = last_t + step if index else 0.0
                if t <= last_t and span is None:  # broken or missing timestamps: keep order, space evenly
                    t = last_t + step
                last_t = t
                rgb = frame.to_ndarray(format="rgb24")
                luma = _gray(frame, rgb) if gray else None
                turns = _upright_turns(getattr(frame, "rotation", 0) or 0)
                if turns:
                    rgb = np.ascontiguousarray(np.rot90(rgb, turns))
                    luma = None if luma is None else np.ascontiguousarray(np.rot90(luma, turns))
                yield Frame(index=index, t_s=float(t), rgb=rgb, damaged=damage, gray=luma)
                if span is None or t >= span.start_s:
                    count += 1
                    if report is not None:
                        report.frames = count
                        if damage:
                            report.damaged.append(index)
                index += 1
            else:
                continue
            break  # past the span's end
    except av.error.FFmpegError as err:
        raise InputError(
            f"{path} is corrupt: decoding stopped after {index} frames ({err.strerror or err}); "
            "export or record the video again"
        ) from None
    finally:
        container.close()
    if count == 0 and span is None:
        raise InputError(f"{path} has no decodable frames; it is corrupt or truncated, record it again")
    if bad_packets:
        raise InputError(
            f"{path} is corrupt: {bad_packets} packet(s) could not be decoded, so frame numbers "
            "would be wrong; export or record the video again"
        )
    if report is not None:
        report.frames, report.header_frames = count, info.n_frames_header


def iter_gray(path: str | os.PathLike[str], keep: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(index, uint8 grayscale [H, W]) of the frames marked in ``keep``, in order: a second
    pass over a video already analysed, so it stops after the last marked frame."""
    import cv2

    marked = np.flatnonzero(keep)
    if not len(marked):
        return
    for f in iter_frames(path):
        if f.index > marked[-1]:
            break
        if keep[f.index]:
            yield f.index, cv2.cvtColor(f.rgb, cv2.COLOR_RGB2GRAY)
