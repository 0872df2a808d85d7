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
seen, then the one nearest to where that face was.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

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


class MediaPipeFaceCounter:
    """BlazeFace full-range detector, used only to count faces in view."""

    def __init__(self, settings: AnalysisSettings) -> None:
        with _quiet_native_stderr():
            (face_detection,) = mediapipe_modules("python.solutions.face_detection")
            self._det = face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=settings.min_detection_confidence
            )
            self._det.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def count(self, rgb: np.ndarray) -> int:
        result = self._det.process(rgb)
        return len(result.detections or [])

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

    def choose(self, faces: list[np.ndarray]) -> np.ndarray | None:
        self.max_faces_seen = max(self.max_faces_seen, len(faces))
        if not faces:
            return None
        if len(faces) > 1:
            self.frames_with_several += 1
        stats = [_center_size(f) for f in faces]
        pick = None
        if self.chosen_center is not None:
            dists = [float(np.linalg.norm(c - self.chosen_center)) for c, _ in stats]
            best = int(np.argmin(dists))
            if dists[best] <= max(self.chosen_width, 1.0):
                pick = best
        if pick is None:
            pick = int(np.argmax([s for _, s in stats]))
        face = faces[pick]
        self.chosen_center = stats[pick][0]
        self.chosen_width = float(np.ptp(face[:, 0]))
        return face


@dataclass
class LandmarkRunInfo:
    backend: str
    backend_version: str
    max_faces_seen: int
    frames_with_several_faces: int
    face_selection: str
    multi_face_mode_from_frame: int | None


def track_faces(
    frames: Iterable[Frame],
    settings: AnalysisSettings,
    fps_hint: float = 30.0,
    backend_factory=None,
    counter_factory=None,
) -> tuple[Iterator[FaceObservation], LandmarkRunInfo]:
    """Landmarks for each frame, following one face. Returns (iterator, run info).

    The run info is filled in as the iterator is consumed.
    """
    backend_factory = backend_factory or (lambda n: MediaPipeFaceMesh(settings, n))
    counter_factory = counter_factory or (lambda: MediaPipeFaceCounter(settings))
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
        counter = counter_factory()
        try:
            for frame in frames:
                n_counted = -1
                if frame.index % every == 0:
                    n_counted = counter.count(frame.rgb)
                    if n_counted > 1 and getattr(backend, "max_faces", 1) == 1:
                        backend.close()
                        backend = backend_factory(min(settings.max_faces, max(2, n_counted)))
                        info.multi_face_mode_from_frame = frame.index
                faces = backend.process(frame.rgb)
                face = follower.choose(faces)
                n = max(len(faces), n_counted)
                yield FaceObservation(frame.index, frame.t_s, face, n, frame.gray)
                info.max_faces_seen = max(follower.max_faces_seen, n_counted, info.max_faces_seen)
                info.frames_with_several_faces = follower.frames_with_several
        finally:
            backend.close()
            counter.close()

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


def _detected_box(rgb: np.ndarray, settings: AnalysisSettings) -> tuple[float, float, float] | None:
    """(centre x, centre y, size) in pixels of the largest face the full-range detector finds."""
    with _quiet_native_stderr():
        (face_detection,) = mediapipe_modules("python.solutions.face_detection")
        det = face_detection.FaceDetection(model_selection=1,
                                           min_detection_confidence=settings.min_detection_confidence)
        try:
            found = det.process(rgb).detections or []
        finally:
            det.close()
    if not found:
        return None
    h, w = rgb.shape[:2]
    b = max((d.location_data.relative_bounding_box for d in found), key=lambda b: b.width * b.height)
    return (b.xmin + b.width / 2) * w, (b.ymin + b.height / 2) * h, max(b.width * w, b.height * h)


def _scanned_box(rgb: np.ndarray, mesh: _StillMesh) -> tuple[float, float, float] | None:
    """The same from FaceMesh run on overlapping windows: the largest face well inside one."""
    h, w = rgb.shape[:2]
    side = min(h, w) // 3
    step = max(side // 2, 1)
    best = None
    for y0 in range(0, max(h - side, 0) + 1, step):
        for x0 in range(0, max(w - side, 0) + 1, step):
            for pts in mesh.faces(rgb[y0:y0 + side, x0:x0 + side], x0, y0):
                lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
                if (lo > [x0 + 2, y0 + 2]).all() and (hi < [x0 + side - 2, y0 + side - 2]).all():
                    size = float(max(hi - lo))
                    if best is None or size > best[2]:
                        best = (float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2, size)
    return best


def landmarks_single_image(rgb: np.ndarray, settings: AnalysisSettings | None = None) -> np.ndarray | None:
    """Landmarks [478, 3] (pixels, depth in pixels) of the largest face in one still image, or
    None; a face too small in the picture for FaceMesh's detector is measured in a crop around
    it (``CROP_SIDE``)."""
    settings = settings or AnalysisSettings()
    mesh = _StillMesh(settings)
    try:
        faces = mesh.faces(rgb)
        if not faces and (box := _detected_box(rgb, settings) or _scanned_box(rgb, mesh)) is not None:
            h, w = rgb.shape[:2]
            cx, cy, size = box
            half = CROP_SIDE * size / 2
            x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
            faces = mesh.faces(rgb[y0:min(h, int(cy + half)), x0:min(w, int(cx + half))], x0, y0)
    finally:
        mesh.close()
    return FaceFollower().choose(faces)
