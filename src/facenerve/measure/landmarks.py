"""Landmarks stage: MediaPipe FaceMesh behind a small backend interface.

Shape contract
    in:  ``Frame`` objects (uint8 RGB [H, W, 3]) in order
    out: per frame, ``FaceObservation``: ``points`` float32 [478, 3] in pixels
         (x right, y down, z depth in the same pixel scale as x) or ``None`` when no face,
         and ``n_faces`` seen in that frame (-1 when not counted this frame).

Tracking mode (``static_image_mode=False``) is used, so FaceMesh follows the face between
frames instead of detecting it anew. With one face in view a single-face mesh runs (fast).
A cheap face detector counts faces about once a second; when it sees several, a multi-face
mesh takes over and ``FaceFollower`` keeps to the same person: the largest face when first
seen, then the one nearest to where that face was. A face too small in the picture for
FaceMesh's own detector (filmed from across a room) is found by that detector and followed in
a crop around it (``_CropFollower``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple, Protocol

import numpy as np

from ..media.video import Frame
from ..settings import AnalysisSettings

N_LANDMARKS = 478

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence C++ log lines (TFLite, glog) written straight to file descriptor 2."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(fd, 2)
        os.close(fd)


def _flush_c_stdio() -> None:
    """Flush C-level buffers so buffered native log lines land in /dev/null, not later."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


class LandmarkBackend(Protocol):
    """What a landmark model must offer to be dropped in."""

    name: str
    version: str

    def process(self, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces found: a list of float32 [478, 3] arrays in pixels."""

    def close(self) -> None: ...


_LIGHT = ("mediapipe.python.solutions", "mediapipe")  # inner package first
_light_lock = threading.RLock()


def mediapipe_modules(*names: str) -> list[ModuleType]:
    """MediaPipe's modules by their names under ``mediapipe.`` (``python.solutions.face_mesh``).

    The ``__init__`` of ``mediapipe`` and of ``mediapipe.python.solutions`` import every
    solution and task, matplotlib, PIL and sounddevice: 0.4 s and 41 MB in each process
    (measured against the FaceMesh solution alone), none of it used here. So, unless mediapipe
    is already imported, those two packages are put in place as stand-ins over the same
    folders, whose modules import as usual; the first look-up of anything else on a stand-in
    (``mediapipe.solutions``, ``mediapipe.tasks``, ``mediapipe.__version__``) runs the real
    ``__init__`` in it, so other code that imports mediapipe gets the whole package."""
    import importlib

    with _light_lock:
        if "mediapipe" not in sys.modules:
            _stand_in()
        return [importlib.import_module(f"mediapipe.{n}") for n in names]


def _stand_in() -> None:
    import importlib
    import importlib.util

    for name in _LIGHT[::-1]:
        if name == _LIGHT[0]:
            importlib.import_module("mediapipe.python")  # light: the bindings only
        spec = importlib.util.find_spec(name)  # found, not run
        mod = importlib.util.module_from_spec(spec)
        mod.__getattr__ = _completer(mod)
        sys.modules[name] = mod


def _completer(mod: ModuleType) -> Callable[[str], object]:
    def __getattr__(attr: str) -> object:
        if attr.startswith("__") and attr not in ("__version__", "__all__"):  # machinery's look-ups
            raise AttributeError(attr)
        with _light_lock:
            for name in _LIGHT:
                m = sys.modules.get(name)
                if m is not None and "__getattr__" in vars(m):
                    del m.__getattr__
                    m.__spec__.loader.exec_module(m)  # its own __init__, at last
        try:
            return vars(mod)[attr]
        except KeyError:
            raise AttributeError(f"module {mod.__name__!r} has no attribute {attr!r}") from None

    return __getattr__


def mediapipe_version() -> str:
    from importlib.metadata import version

    return version("mediapipe")


# A NormalizedLandmark on the wire when only x, y and z are set (FaceMesh's case): the
# message's tag and length, then each float's tag and 4 bytes.
_WIRE = np.dtype([("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"),
                  ("tz", "u1"), ("z", "<f4")])
_WIRE_TAGS = {"tag": 0x0A, "len": 15, "tx": 0x0D, "ty": 0x15, "tz": 0x1D}


def _landmarks_from_wire(blob: bytes) -> np.ndarray | None:
    """A serialized NormalizedLandmarkList as float32 [k, 3]; None if laid out otherwise."""
    if len(blob) % _WIRE.itemsize:
        return None
    rec = np.frombuffer(blob, _WIRE)
    if not all((rec[k] == v).all() for k, v in _WIRE_TAGS.items()):
        return None
    return np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float32)


class MediaPipeFaceMesh:
    """FaceMesh with iris refinement (478 points), weights from the installed wheel."""

    name = "mediapipe-facemesh-refined"

    def __init__(self, settings: AnalysisSettings, max_faces: int = 1, lean: bool = True) -> None:
        self.lean = lean  # False: always MediaPipe's public FaceMesh.process
        with _quiet_native_stderr():
            face_mesh, self._packets, self._getter, frames = mediapipe_modules(
                "python.solutions.face_mesh", "python.packet_creator", "python._framework_bindings._packet_getter",
                "python._framework_bindings.image_frame")
            self._srgb = frames.ImageFormat.SRGB
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=False,
                max_num_faces=max_faces,
                refine_landmarks=True,
                min_detection_confidence=settings.min_detection_confidence,
                min_tracking_confidence=settings.min_tracking_confidence,
            )
            # The graph opens its models (and logs) on its threads during the first run:
            # run it once on a blank image while native stderr is silenced.
            self._mesh.process(np.zeros((64, 64, 3), dtype=np.uint8))
        self.version = mediapipe_version()
        self.max_faces = max_faces

    def process(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Each face's landmarks [478, 3]: pixels, depth in the width's pixels."""
        h, w = rgb.shape[:2]
        faces = self._process_lean(rgb) if self.lean else None
        if faces is None:
            faces = [np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
                     for face in self._mesh.process(rgb).multi_face_landmarks or []]
        for pts in faces:
            pts *= np.array([w, h, w], np.float32)
        return faces

    def _process_lean(self, rgb: np.ndarray) -> list[np.ndarray] | None:
        """What ``FaceMesh.process`` does, minus its per-call overheads (a new named tuple
        type, protobuf objects per point): 0.5-0.7 ms a frame, the same numbers. None when
        this MediaPipe's internals differ from 0.10's (then the public call is used)."""
        mesh = self._mesh
        try:
            mesh._graph_outputs.clear()
            mesh._simulated_timestamp += 33333
            packet = self._packets.create_image(rgb, image_format=self._srgb)
            mesh._graph.add_packet_to_input_stream(stream="image", packet=packet.at(mesh._simulated_timestamp))
            mesh._graph.wait_until_idle()
        except (AttributeError, TypeError):
            return None
        out = mesh._graph_outputs.get("multi_face_landmarks")
        if out is None or out.is_empty():
            return []
        faces = [_landmarks_from_wire(blob) for blob in self._getter._get_serialized_proto_list(out)]
        return faces if all(f is not None for f in faces) else None

    def close(self) -> None:
        self._mesh.close()


class Box(NamedTuple):
    """A face's centre and size in pixels, and the detector's confidence in it."""

    x: float
    y: float
    size: float
    score: float = 1.0


def _windows(shape: tuple[int, ...]) -> Iterator[tuple[int, int, int]]:
    """(left, top, side) of square windows a third of a picture's shorter side, overlapping by
    half, over the whole picture: where a face too small to find in it is looked for."""
    h, w = shape[:2]
    side = min(h, w) // 3
    step = max(side // 2, 1)
    for y0 in range(0, max(h - side, 0) + 1, step):
        for x0 in range(0, max(w - side, 0) + 1, step):
            yield x0, y0, side


class MediaPipeFaceDetector:
    """BlazeFace full-range detector: counts the faces in view, and finds faces too small in
    the picture for FaceMesh's own (short-range) detector."""

    def __init__(self, settings: AnalysisSettings) -> None:
        with _quiet_native_stderr():
            (face_detection,) = mediapipe_modules("python.solutions.face_detection")
            self._det = face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=settings.min_detection_confidence
            )
            self._det.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def boxes(self, rgb: np.ndarray) -> list[Box]:
        """Each face's box, the largest first."""
        h, w = rgb.shape[:2]
        with _quiet_native_stderr():
            found = self._det.process(np.ascontiguousarray(rgb)).detections or []
        boxes = [Box((b.xmin + b.width / 2) * w, (b.ymin + b.height / 2) * h, max(b.width * w, b.height * h),
                     float(d.score[0]))
                 for d, b in ((d, d.location_data.relative_bounding_box) for d in found)]
        return sorted(boxes, key=lambda b: -b.size)

    def boxes_in_windows(self, rgb: np.ndarray) -> list[Box]:
        """Faces too small for the detector to find in the whole picture (under about a tenth
        of its width), found in windows a third of its shorter side, overlapping by half: each
        face once (the surest), if well inside a window, the largest first."""
        found: list[Box] = []
        for x0, y0, side in _windows(rgb.shape):
            for b in self.boxes(rgb[y0:y0 + side, x0:x0 + side]):
                if b.size / 2 < min(b.x, b.y, side - b.x, side - b.y):
                    found.append(Box(b.x + x0, b.y + y0, b.size, b.score))
        kept: list[Box] = []
        for b in sorted(found, key=lambda b: -b.score):
            if all(max(abs(b.x - k.x), abs(b.y - k.y)) > k.size / 2 for k in kept):
                kept.append(b)
        return sorted(kept, key=lambda b: -b.size)

    def close(self) -> None:
        self._det.close()


@dataclass
class FaceObservation:
    index: int
    t_s: float
    points: np.ndarray | None
    n_faces: int
    gray: np.ndarray | None = None  # the frame's picture, when decoded with it (``Frame.gray``)


def _center_size(points: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return (lo + hi) / 2, float(np.prod(hi - lo))


@dataclass
class FaceFollower:
    """Choose one face per frame and keep to the same person.

    First sight: the largest face. Afterwards: the face nearest to the last chosen position
    (within a face width); if none is near, the largest again (the person came back).
    """

    chosen_center: np.ndarray | None = None
    chosen_width: float = 0.0
    frames_with_several: int = 0
    max_faces_seen: int = 0

    def _pick(self, centres: list[np.ndarray], sizes: list[float]) -> int:
        if self.chosen_center is not None:
            dists = [float(np.linalg.norm(c - self.chosen_center)) for c in centres]
            best = int(np.argmin(dists))
            if dists[best] <= max(self.chosen_width, 1.0):
                return best
        return int(np.argmax(sizes))

    def choose(self, faces: list[np.ndarray]) -> np.ndarray | None:
        self.max_faces_seen = max(self.max_faces_seen, len(faces))
        if not faces:
            return None
        if len(faces) > 1:
            self.frames_with_several += 1
        stats = [_center_size(f) for f in faces]
        pick = self._pick([c for c, _ in stats], [s for _, s in stats])
        face = faces[pick]
        self.chosen_center = stats[pick][0]
        self.chosen_width = float(np.ptp(face[:, 0]))
        return face

    def nearest(self, boxes: list[Box]) -> Box | None:
        """Of the detector's boxes, the one this follower would choose (it does not move); None
        when that is a face far smaller than the one followed and away from it (someone behind
        the person, while the person is turned away)."""
        box = boxes[self._pick([np.array(b[:2]) for b in boxes], [b.size for b in boxes])]
        if self.chosen_center is not None and box.size < self.chosen_width / 2 \
                and np.linalg.norm(np.array(box[:2]) - self.chosen_center) > self.chosen_width:
            return None
        return box


@dataclass
class LandmarkRunInfo:
    backend: str
    backend_version: str
    max_faces_seen: int
    frames_with_several_faces: int
    face_selection: str
    multi_face_mode_from_frame: int | None
    frames_in_crop: int = 0  # frames whose face was too small for FaceMesh's detector (``_CropFollower``)


# A face in a video too small in the picture for FaceMesh's own detector (under about a tenth
# of its width: filmed from across a room) is found by the full-range detector and followed in
# a square crop this many times its size, as long as that crop is at most ``CROP_MAX`` of the
# picture's shorter side (a larger face is FaceMesh's to find, or turned away). The detector
# must be this sure of it (real faces that small: a median 0.86; the letters of a title in a
# video with no face, 0.60-0.69), and FaceMesh must find the face where the detector put it.
VIDEO_CROP_SIDE = 3.0
CROP_MAX = 0.75
SMALL_FACE_SCORE = 0.8


class _CropFollower:
    """FaceMesh tracking one small face in a fixed crop of the frames.

    The crop stays where it is while the face stays well inside it, so that FaceMesh's own
    tracking works as on a whole frame. When the face nears the crop's edge or changes size
    (the person moved), the next frame gets a crop around it and a fresh FaceMesh, which finds
    the face anew there: a tracker carried over would look for it where it was in the old crop.
    """

    def __init__(self, backend_factory: Callable[[int], LandmarkBackend]) -> None:
        self._factory = backend_factory
        self._mesh: LandmarkBackend | None = None
        self.crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 (within the frame)
        self._box = Box(0.0, 0.0, 0.0)  # the face the crop was made around

    def start(self, box: Box, shape: tuple[int, ...]) -> bool:
        """Follow the face in ``box`` from the next frame on; False when it is not small."""
        self.stop()
        h, w = shape[:2]
        half = VIDEO_CROP_SIDE * box.size / 2
        if 2 * half > CROP_MAX * min(h, w) or box.score < SMALL_FACE_SCORE:
            return False
        self._box = box
        self.crop = (max(0, int(box.x - half)), max(0, int(box.y - half)),
                     min(w, int(box.x + half)), min(h, int(box.y + half)))
        return True

    def faces(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The faces in the crop, in the frame's pixels; none ends the crop."""
        assert self.crop is not None
        x0, y0, x1, y1 = self.crop
        fresh = self._mesh is None
        if fresh:
            self._mesh = self._factory(1)
        faces = self._mesh.process(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        if not faces:
            self.stop()
            return []
        pts = faces[0]
        pts[:, :2] += np.array([x0, y0], np.float32)
        lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
        (x, y), size = (lo + hi) / 2, float(max(hi - lo))
        off = max(abs(x - self._box.x), abs(y - self._box.y)) / self._box.size
        if fresh and (off > 0.5 or not 0.6 <= size / self._box.size <= 1.6):
            self.stop()  # not the face the detector saw
            return []
        if off > VIDEO_CROP_SIDE / 6 or not 0.6 <= size / self._box.size <= 1.5:  # moved: a new crop
            self.start(Box(float(x), float(y), size), rgb.shape)
        return [pts]

    def stop(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
        self._mesh, self.crop = None, None


def track_faces(
    frames: Iterable[Frame],
    settings: AnalysisSettings,
    fps_hint: float = 30.0,
    backend_factory=None,
    detector_factory=None,
) -> tuple[Iterator[FaceObservation], LandmarkRunInfo]:
    """Landmarks for each frame, following one face. Returns (iterator, run info).

    The run info is filled in as the iterator is consumed.
    """
    backend_factory = backend_factory or (lambda n: MediaPipeFaceMesh(settings, n))
    detector_factory = detector_factory or (lambda: MediaPipeFaceDetector(settings))
    follower = FaceFollower()
    info = LandmarkRunInfo(
        backend=MediaPipeFaceMesh.name, backend_version="", max_faces_seen=0,
        frames_with_several_faces=0,
        face_selection="largest face at first sight, then the face nearest its last position",
        multi_face_mode_from_frame=None,
    )
    every = max(1, int(round(settings.face_check_every_s * (fps_hint or 30.0))))

    def run() -> Iterator[FaceObservation]:
        backend = backend_factory(1)
        info.backend_version = getattr(backend, "version", "")
        detector = detector_factory()
        small = _CropFollower(backend_factory)
        searched = -every  # the last frame searched in windows (once a ``face_check_every_s`` at most)
        try:
            for frame in frames:
                boxes = detector.boxes(frame.rgb) if frame.index % every == 0 else None
                n_counted = -1 if boxes is None else len(boxes)
                if n_counted > 1 and getattr(backend, "max_faces", 1) == 1:
                    backend.close()
                    backend = backend_factory(min(settings.max_faces, max(2, n_counted)))
                    info.multi_face_mode_from_frame = frame.index
                faces = small.faces(frame.rgb) if small.crop is not None else []
                if faces:
                    info.frames_in_crop += 1
                else:
                    faces = backend.process(frame.rgb)
                if not faces:
                    boxes = detector.boxes(frame.rgb) if boxes is None else boxes
                    sure = [b for b in boxes if b.score >= SMALL_FACE_SCORE]
                    if not sure and frame.index >= searched + every:  # smaller still: in windows
                        sure = [b for b in detector.boxes_in_windows(frame.rgb) if b.score >= SMALL_FACE_SCORE]
                        searched = frame.index
                    if sure and (box := follower.nearest(sure)) and small.start(box, frame.rgb.shape):
                        faces = small.faces(frame.rgb)
                        info.frames_in_crop += bool(faces)
                face = follower.choose(faces)
                n = max(len(faces), n_counted)
                yield FaceObservation(frame.index, frame.t_s, face, n, frame.gray)
                info.max_faces_seen = max(follower.max_faces_seen, n_counted, info.max_faces_seen)
                info.frames_with_several_faces = follower.frames_with_several
        finally:
            small.stop()
            backend.close()
            detector.close()

    return run(), info


# A face smaller in a still picture than FaceMesh's own detector finds (under about a fifth of
# its width: a photo taken from across a room) is looked for by the full-range detector, then in
# windows a third of the picture's shorter side (overlapping by half), and measured in a square
# crop this many times the face's size around it.
CROP_SIDE = 2.0


class _StillMesh:
    """FaceMesh on still pictures: each face's landmarks [478, 3] in the picture's pixels."""

    def __init__(self, settings: AnalysisSettings) -> None:
        with _quiet_native_stderr():
            (face_mesh,) = mediapipe_modules("python.solutions.face_mesh")
            self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4, refine_landmarks=True,
                                            min_detection_confidence=settings.min_detection_confidence)

    def faces(self, rgb: np.ndarray, x0: int = 0, y0: int = 0) -> list[np.ndarray]:
        """Faces in ``rgb``, a part of a picture whose top left corner is at (``x0``, ``y0``)."""
        h, w = rgb.shape[:2]
        with _quiet_native_stderr():
            found = self._mesh.process(np.ascontiguousarray(rgb)).multi_face_landmarks or []
        return [np.array([(p.x * w + x0, p.y * h + y0, p.z * w) for p in face.landmark], dtype=np.float32)
                for face in found]

    def close(self) -> None:
        self._mesh.close()


def _scanned_box(rgb: np.ndarray, mesh: _StillMesh) -> Box | None:
    """The same from FaceMesh run on overlapping windows: the largest face well inside one."""
    best = None
    for x0, y0, side in _windows(rgb.shape):
        for pts in mesh.faces(rgb[y0:y0 + side, x0:x0 + side], x0, y0):
            lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
            if (lo > [x0 + 2, y0 + 2]).all() and (hi < [x0 + side - 2, y0 + side - 2]).all():
                size = float(max(hi - lo))
                if best is None or size > best.size:
                    best = Box(float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2, size)
    return best


def landmarks_single_image(rgb: np.ndarray, settings: AnalysisSettings | None = None) -> np.ndarray | None:
    """Landmarks [478, 3] (pixels, depth in pixels) of the largest face in one still image, or
    None; a face too small in the picture for FaceMesh's detector is measured in a crop around
    it (``CROP_SIDE``)."""
    settings = settings or AnalysisSettings()
    mesh = _StillMesh(settings)
    try:
        faces = mesh.faces(rgb)
        if not faces:
            detector = MediaPipeFaceDetector(settings)
            try:
                boxes = detector.boxes(rgb)
            finally:
                detector.close()
            if (box := boxes[0] if boxes else _scanned_box(rgb, mesh)) is not None:
                h, w = rgb.shape[:2]
                half = CROP_SIDE * box.size / 2
                x0, y0 = max(0, int(box.x - half)), max(0, int(box.y - half))
                faces = mesh.faces(rgb[y0:min(h, int(box.y + half)), x0:min(w, int(box.x + half))], x0, y0)
    finally:
        mesh.close()
    return FaceFollower().choose(faces)
