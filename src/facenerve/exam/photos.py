"""The guided exam from photographs: one photo per task, as clinicians and Emotrics take them.

Photos of an exam are not one continuous video: the face's size, place and lighting differ from
photo to photo. Each photo is therefore
    1. read upright (``media.photos``) and its face found (FaceMesh on the still image, in a crop
       around the face where it is small in the picture: ``measure.landmarks``), and refused
       when too small to measure (``protocol.MIN_PUPILS_PX``);
    2. aligned to the rest photo by the similarity that best maps its ``STABLE`` landmarks
       (forehead, nose, face outline: points no exam task moves) onto the rest photo's
       (least median of squares), both the picture and its landmarks;
    3. given the rest photo's lighting over the face (gain and offset per colour channel);
then measured as the frames of a video are (``measure.signals``, ``measure.texture``), one
photo standing for ``PHOTO_SPACING_S`` seconds, and graded the same way (``grading``).

Tasks are matched to photos by a mapping (task -> file name), else by the files' names
(``TASK_WORDS``; of two photos of one task, the one whose name says full effort, and poses the
exam does not grade left out), else, when no name says its task, in the protocol's order of the
files sorted by name. A full-effort smile or snarl too open to grade (``lips_open``) gives way to
the set's other photo of it where that one can be graded (the whole set measured again).

Shape contract
    ``match_photos(paths, mapping=None)`` -> {task id: Path} in protocol order, rest first
    ``analyze_photo_exam(photos, mapping=None, settings=None)`` -> ``pipeline.ExamResult`` whose
        ``frames`` are the aligned photos (uint8 RGB, by frame index) and whose
        ``video`` is the folder (or first photo)
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media.photos import PHOTO_SUFFIXES, load_photo
from ..settings import AnalysisSettings
from .protocol import MIN_PUPILS_PX, Protocol, Segment, load_protocol, task_label

PHOTO_SPACING_S = 2.0  # each photo stands for a moment this far apart; the first second is rest alone
# words in a file name that say its task, most specific first; words that say only how hard
# (gentle, forced, maximal) or a bare "closed" or "shut" are the eyes, last, so that a gentle or a
# closed-lip smile is a smile; an eye closure at full effort (``FULL_EFFORT``) is the tight one
TASK_WORDS = (
    ("tight_eye_closure", ("tight", "squeeze", "full_eye", "eyes_full")),
    ("gentle_eye_closure", ("eye_clos", "eyes_clos", "eye_shut", "eyes_shut", "sleep")),
    ("brow_raise", ("brow", "forehead", "raise")),
    ("lip_pucker", ("pucker", "kiss", "whistle", "pout")),
    ("snarl", ("snarl", "nose", "nasal", "wrinkle", "scrunch")),
    ("smile", ("smile", "teeth", "grin")),
    ("rest", ("rest", "neutral", "relax", "repose")),
    ("gentle_eye_closure", ("gentle", "closed", "close", "shut", "forced", "forceful", "maximal")),
)
# words of the other poses of clinical photo sets, which this exam does not grade (lower lip
# depression, frown, cheek puff, looking up): such photos are left out and listed
OTHER_POSES = ("lower_lip", "bottom_teeth", "lower_teeth", "depress", "frown", "puff", "blow", "look_up",
               "eyes_up")
# Clinical sets may hold a task at two efforts (the MEEI standard set: a light and a full smile,
# a light and a full eye closure). The exam grades the full effort (House-Brackmann's maximal
# effort, Sunnybrook's open mouth smile); the other photo is left out and listed. But a full smile
# (or snarl) with the lips open wider than ``protocol.LIPS_MAX_OPEN_MM``, as a laugh, is not
# graded: then the lighter photo is, when it can be. Words start with these (full, fully,
# maximal, ...).
FULL_EFFORT = ("full", "max", "big", "broad", "strong", "hard", "forc", "tight", "squeez", "teeth", "open")
LIGHT_EFFORT = ("light", "gentl", "slight", "soft", "small", "mild", "clos")
MAPPING_NAMES = ("tasks.yaml", "tasks.yml", "tasks.json")


def _words(path: Path) -> str:
    return "_" + re.sub(r"[^a-z0-9]+", "_", path.stem.lower()) + "_"


def effort_of_name(path: Path) -> int:
    """1 when a file's name says full effort only, -1 light effort only, else 0."""
    name = _words(path)
    return (int(any(f"_{w}" in name for w in FULL_EFFORT))
            - int(any(f"_{w}" in name for w in LIGHT_EFFORT)))


def task_of_name(path: Path) -> str | None:
    """The task a file's name says ("other" for a pose this exam does not grade), or None."""
    name = _words(path)
    if any(w in name for w in OTHER_POSES):
        return "other"
    task = next((task for task, words in TASK_WORDS if any(w in name for w in words)), None)
    if task == "gentle_eye_closure" and any(f"_{w}" in name for w in FULL_EFFORT):
        return "tight_eye_closure"
    return task


def _photo_files(photos: str | os.PathLike[str] | list) -> tuple[list[Path], Path | None]:
    """The photo files and the folder's mapping file (if any)."""
    if isinstance(photos, (str, os.PathLike)):
        folder = Path(photos)
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder; give a folder of exam photos or the photos themselves")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
        mapping = next((folder / m for m in MAPPING_NAMES if (folder / m).is_file()), None)
        if not files:
            raise InputError(f"{folder} has no photo ({', '.join(PHOTO_SUFFIXES)})")
        return files, mapping
    files = [Path(p) for p in photos]
    for p in files:
        if not p.is_file():
            raise InputError(f"{p} does not exist; check the file name")
    return files, None


def _read_mapping(path: Path) -> dict[str, str]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())  # JSON is YAML
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError(f"cannot read the task mapping {path} ({type(err).__name__}); "
                         "write it as task: file name, one a line") from None
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise InputError(f"the task mapping {path} must map each task to a file name, e.g. smile: IMG_0412.jpg")
    return {str(k): v for k, v in doc.items()}


def match_photos(files: list[Path], mapping: dict[str, str] | None = None,
                 protocol: Protocol | None = None) -> dict[str, Path]:
    protocol = protocol or load_protocol()
    order = [t.id for t in protocol.tasks]
    if mapping is not None:
        by_name = {p.name: p for p in files}
        out = {}
        for task, name in mapping.items():
            if task not in order:
                raise InputError(f"the task mapping names an unknown task {task!r}; tasks are {', '.join(order)}")
            if name not in by_name:
                raise InputError(f"the task mapping gives {name} for {task}, but there is no such photo")
            out[task] = by_name[name]
    else:
        named = {p: task_of_name(p) for p in files}
        if any(named.values()):
            unnamed = [p.name for p, t in named.items() if t is None]
            if unnamed:
                raise InputError(f"{unnamed[0]} does not say its task in its name (like the others do); "
                                 "rename it (e.g. smile.jpg) or give a task mapping")
            out = {}
            for task in dict.fromkeys(t for t in named.values() if t != "other"):  # in the files' order
                same = sorted((p for p, t in named.items() if t == task), key=effort_of_name, reverse=True)
                if len(same) > 1 and effort_of_name(same[0]) == effort_of_name(same[1]):
                    raise InputError(f"two photos for {task}: {same[0].name} and {same[1].name}; keep one, or "
                                     "say which is the full effort in its name"
                                     + (" (teeth showing, lips just parted)" if task == "smile" else ""))
                out[task] = same[0]
        else:  # protocol order
            if len(files) > len(order):
                raise InputError(f"{len(files)} photos for {len(order)} tasks; give one photo per task "
                                 f"({', '.join(order)})")
            out = dict(zip(order, sorted(files), strict=False))
    if "rest" not in out:
        raise InputError("no rest photo (the face relaxed): every measure is taken from rest; "
                         "name it rest.jpg or map it in the task mapping")
    return {t: out[t] for t in order if t in out}


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    import cv2

    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    if m is None:
        raise InputError("the photos' faces could not be aligned to the rest photo; take them again "
                         "from the front")
    return m


def _match_light(img: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Gain and offset per channel so that the face region's mean and spread match ``ref``'s."""
    out = img.astype(np.float32)
    for c in range(3):
        a, b = out[..., c][mask], ref[..., c][mask].astype(np.float32)
        out[..., c] = (out[..., c] - a.mean()) * (b.std() / max(a.std(), 1.0)) + b.mean()
    return np.clip(out, 0, 255).astype(np.uint8)


def align_photos(images: list[np.ndarray], points: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Photos and landmarks in the first (rest) photo's frame and lighting: (images, [n, 478, 3])."""
    import cv2

    from ..measure.skin_motion import STABLE

    ref, ref_pts = images[0], points[0]
    h, w = ref.shape[:2]
    hull = cv2.convexHull(ref_pts[:, :2].astype(np.int32))
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    mask = mask.astype(bool)
    out_img, out_pts = [ref], [ref_pts]
    for img, pts in zip(images[1:], points[1:], strict=True):
        m = _similarity(pts[list(STABLE), :2], ref_pts[list(STABLE), :2])
        warped = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        xy = pts[:, :2] @ m[:, :2].T + m[:, 2]
        z = pts[:, 2:] * float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
        out_img.append(_match_light(warped, ref, mask))
        out_pts.append(np.hstack([xy, z]).astype(np.float32))
    return out_img, np.stack(out_pts)


def analyze_photo_exam(photos: str | os.PathLike[str] | list, mapping: str | os.PathLike[str] | dict | None = None,
                       settings: AnalysisSettings | None = None):
    """See the module's shape contract."""
    import cv2
    import pandas as pd

    from ..measure.geometry import SIDES, in_frame
    from ..measure.landmarks import landmarks_single_image
    from ..measure.run import AnalysisResult, RunInfo, _versions
    from ..measure.signals import measure_px, to_signals
    from ..measure.texture import exam_texture
    from .measures import task_measures
    from .pipeline import ExamResult, grades_with_status

    settings = settings or AnalysisSettings()
    t0 = time.perf_counter()
    protocol = load_protocol()
    files, found_mapping = _photo_files(photos)
    if isinstance(mapping, (str, os.PathLike)):
        mapping = _read_mapping(Path(mapping))
    elif mapping is None and found_mapping is not None:
        mapping = _read_mapping(found_mapping)
    matched = match_photos(files, mapping, protocol)
    tasks = list(matched)
    images, points = [], []
    for task, path in matched.items():
        rgb = load_photo(path)
        pts = landmarks_single_image(rgb, settings)
        if pts is None:
            raise InputError(f"no face was found in {path.name} ({task_label(task)}); take it again "
                             "from the front, well lit, the face filling a good part of the picture")
        pupils = float(np.linalg.norm(pts[SIDES["left"].iris_center, :2] - pts[SIDES["right"].iris_center, :2]))
        if pupils < MIN_PUPILS_PX:
            raise InputError(f"the face in {path.name} ({task_label(task)}) is too small to measure: "
                             f"{pupils:.0f} pixels between the pupils, at least {MIN_PUPILS_PX} are needed; "
                             "take it closer, the face filling a good part of the picture")
        images.append(rgb)
        points.append(pts)
    images, lm = align_photos(images, points)
    n = len(images)
    px = measure_px(lm)
    h, w = images[0].shape[:2]
    t = PHOTO_SPACING_S * np.arange(n, dtype=np.float64)
    signals, cal = to_signals(px, np.arange(n), t, np.ones(n, dtype=np.int16), 1.0 / PHOTO_SPACING_S,
                              settings, in_frame(lm, w, h))
    signals["damaged"] = False
    ok = signals["quality_ok"].to_numpy()
    if not ok[0]:
        raise InputError(f"the face in the rest photo {matched['rest'].name} is turned too far to measure; "
                         "take it again facing the camera")
    gray = ((i, cv2.cvtColor(images[i], cv2.COLOR_RGB2GRAY)) for i in range(n) if ok[i])
    signals = pd.concat([signals, exam_texture(gray, lm, signals)], axis=1)
    segments = [Segment(task, t[i] - 0.5, t[i] + 0.5, "photos") for i, task in enumerate(tasks)]
    measures = task_measures(signals, segments, protocol, min_frames=1)
    measures.pop("features")
    n_moves = sum(t.measure != "rest" for t in protocol.tasks)
    grades = grades_with_status(measures, segments, protocol, not_an_exam=(
        f"too few exam photos: {len(tasks) - 1} of the {n_moves} movements, so nothing is graded; "
        "take one photo per task"))
    folder = Path(photos) if isinstance(photos, (str, os.PathLike)) else files[0].parent
    info = RunInfo(
        video={"path": str(folder), "kind": "photos", "width": w, "height": h,
               "photos": {task: p.name for task, p in matched.items()},
               "left_out": [p.name for p in files if p not in matched.values()]},
        n_frames=n, fps=1.0 / PHOTO_SPACING_S, duration_s=float(n * PHOTO_SPACING_S),
        face_fraction=1.0, quality_fraction=round(float(ok.mean()), 4), calibration=cal.to_dict(),
        landmarks={"backend": "mediapipe-facemesh", "mode": "static image", "aligned_to": "rest photo"},
        versions=_versions(), settings=settings.to_dict(), elapsed_s=round(time.perf_counter() - t0, 3),
        created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    analysis = AnalysisResult(signals=signals, info=info, landmarks=lm.astype(np.float16))
    result = ExamResult(analysis, segments, measures, grades, folder, frames=dict(enumerate(images)))
    lighter = {} if mapping is not None else _lighter_photos(measures["tasks"], matched, files)
    if lighter:  # the same set with the lighter photos of those tasks, kept where they are graded
        again = analyze_photo_exam(files, {**{t: p.name for t, p in matched.items()}, **lighter}, settings)
        if all(again.measures["tasks"][t].get("graded") for t in lighter):
            return again
    return result


def _lighter_photos(tasks: dict, matched: dict[str, Path], files: list[Path]) -> dict[str, str]:
    """{task: file name} of the photos left out for a task whose graded photo had the lips too
    far open (``measures.task_measures``' ``lips_open``): the set's other photo of that task."""
    out = {}
    for task in matched:
        if tasks.get(task, {}).get("lips_open"):
            other = [p for p in files if p not in matched.values() and task_of_name(p) == task]
            if other:
                out[task] = other[0].name
    return out

