"""Twitch detection on real faces: specificity on healthy people, sensitivity on twitches
injected into real recordings.

``evaluate natural DIR``: every video in DIR shows people with no facial nerve disorder, so
every twitch reported is false and every spasm finding is wrong. Reported over the set as a
whole: false twitches per 10 minutes, the clips with a spasm (or blepharospasm-like) finding,
the clips refused, and
a table of what fooled the detector (each false twitch with its clip, time, side, region and
what the face was doing).

``evaluate injected DIR``: into every video in DIR, ``inject.inject_twitches`` warps one side's
eyelid, cheek or mouth corner (side and times drawn from ``seed``). Each true twitch is
labelled by what the face was doing then in the original recording (``activity``: rest, or
speech, an expression or head motion). Reported: precision, recall and F1 of twitches in
resting footage; side, region and clonic/tonic accuracy among those found; and, separately,
what was found during activity (as a twitch, or as a movement that never counts).

Measuring a video is the slow part, so both keep each video's measures in ``work``
(signals, landmarks, injected videos), keyed by the file's content hash, the settings that
shape the measures and the measuring code; a rerun only redetects events. The measuring runs on every core through
the cohort machinery (a Dask LocalCluster, ``prefill``). Nothing is written next to the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import FacenerveError, InputError
from ..media.video import VIDEO_SUFFIXES
from ..settings import AnalysisSettings
from .metrics import EventScore, clustered_ci, match_intervals, score_ci

# the settings that shape the per-frame measures (the rest only shape events and findings)
MEASURE_SETTINGS = ("min_detection_confidence", "min_tracking_confidence", "face_check_every_s",
                    "max_faces", "iris_diameter_mm", "max_yaw_deg", "max_pitch_deg",
                    "max_roll_deg", "scale_window_s")


def find_videos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give a folder of videos")
    videos = sorted(v for v in folder.iterdir() if v.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise InputError(f"{folder} has no video ({', '.join(VIDEO_SUFFIXES)})")
    return videos


def _code_hash() -> bytes:
    """The measuring code itself (``measure/`` and ``media/``): a change there makes every
    kept measure stale, whatever the version number says."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(__version__.encode())
    for path in sorted([*(root / "measure").glob("*.py"), *(root / "media").glob("*.py")]):
        h.update(path.read_bytes())
    return h.digest()


def _key(video: Path, settings: AnalysisSettings) -> str:
    with open(video, "rb") as f:
        h = hashlib.file_digest(f, "sha256")
    h.update(json.dumps({k: getattr(settings, k) for k in MEASURE_SETTINGS}, sort_keys=True).encode())
    h.update(_code_hash())
    return h.hexdigest()[:16]


def measured(video: Path, work: Path | None, settings: AnalysisSettings,
             landmarks: bool = False) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The signals of a video (and its landmarks), from ``work`` when measured before."""
    from ..measure.run import measure_video

    if work is not None:
        key = work / "measures" / f"{video.stem}-{_key(video, settings)}"
        sig, lm = key.with_suffix(".parquet"), key.with_suffix(".npy")
        if sig.exists() and (lm.exists() or not landmarks):
            return pd.read_parquet(sig), (np.load(lm) if landmarks else None)
    res = measure_video(video, settings, keep_landmarks=landmarks)
    if work is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        res.signals.to_parquet(sig)
        if landmarks:
            np.save(lm, res.landmarks)
    return res.signals, res.landmarks


def _measure_quietly(video: str, work: str, settings: dict[str, Any], landmarks: bool) -> bool:
    """``measured`` where a Dask worker runs it: fills the cache, True if the video measured."""
    from .._log import native_stderr_silenced

    try:
        with native_stderr_silenced():
            measured(Path(video), Path(work), AnalysisSettings.from_dict(settings), landmarks)
        return True
    except FacenerveError:
        return False


def prefill(videos: list[Path], work: Path | None, settings: AnalysisSettings, landmarks: bool = False,
            workers: int | None = None) -> None:
    """Measure the videos not yet in ``work`` on every core (a Dask LocalCluster, the cohort
    machinery); the evaluation then reads them from ``work``. With one worker, nothing."""
    n = workers or os.cpu_count() or 1
    if work is None or n <= 1 or len(videos) < 2:
        return
    from ..cohort.batch import make_client

    client = make_client(workers=n)
    try:
        futures = client.map(_measure_quietly, [str(v) for v in videos], work=str(work),
                             settings=settings.to_dict(), landmarks=landmarks, pure=False)
        client.gather(futures, errors="skip")
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def _events(signals: pd.DataFrame, settings: AnalysisSettings) -> tuple[pd.DataFrame, dict[str, Any]]:
    from ..twitch.analyze import events_and_findings

    return events_and_findings(signals, settings)


def _progress(items: list[Path], desc: str, progress: bool) -> Iterator[Path]:
    from tqdm import tqdm

    yield from tqdm(items, unit="video", desc=desc, disable=not progress)


def evaluate_natural(folder: str | Path, work: str | Path | None = None,
                     settings: AnalysisSettings | None = None, progress: bool = False,
                     workers: int | None = None) -> dict[str, Any]:
    settings = settings or AnalysisSettings()
    work = Path(work) if work else None
    total_s = assessable_s = 0.0
    fooled, refused, spasm, bleph, clips = [], [], [], [], []
    kinds: dict[str, int] = {}
    videos = find_videos(folder)
    prefill(videos, work, settings, workers=workers)
    for video in _progress(videos, "natural", progress):
        try:
            signals, _ = measured(video, work, settings)
        except FacenerveError as err:
            refused.append({"clip": video.name, "reason": str(err)})
            continue
        ev, f = _events(signals, settings)
        dur = float(f["footage"]["recorded_s"])
        total_s += dur
        assessable_s += f["footage"]["assessable_s"]
        for k, v in ev["kind"].value_counts().items():
            kinds[str(k)] = kinds.get(str(k), 0) + int(v)
        for _, e in ev[ev["kind"] == "twitch"].iterrows():
            fooled.append({"clip": video.name, "onset_s": float(e["onset_s"]),
                           "duration_s": round(float(e["offset_s"] - e["onset_s"]), 3),
                           "side": e["side"], "regions": e["regions"], "pattern": e["pattern"],
                           "amplitude_mm": float(e["amplitude_mm"]), "context": e["context"],
                           "confidence": float(e["confidence"])})
        if f["finding"]["status"] == "spasm":
            spasm.append({"clip": video.name, "reason": f["finding"]["reason"]})
        if f["finding"]["blepharospasm_like"]:
            bleph.append({"clip": video.name, "reason": f["finding"]["blepharospasm_reason"]})
        clips.append({"clip": video.name, "seconds": round(dur, 2),
                      "assessable_s": f["footage"]["assessable_s"], "status": f["finding"]["status"],
                      "twitches": int((ev["kind"] == "twitch").sum()),
                      "movements": int((ev["kind"] == "movement").sum())})
    minutes = total_s / 60
    status = pd.Series([c["status"] for c in clips]).value_counts().to_dict() if clips else {}
    return {
        "clips": len(clips) + len(refused),
        "minutes": round(minutes, 2),
        "assessable_minutes": round(assessable_s / 60, 2),
        "false_twitches": len(fooled),
        "false_twitches_per_10_min": round(10 * len(fooled) / minutes, 2) if minutes else None,
        "false_twitches_per_10_min_ci95_by_clip": clustered_ci(
            [[c["twitches"], c["seconds"]] for c in clips], lambda x: 600 * x[0] / x[1] if x[1] else 0.0),
        "clips_with_spasm_finding": spasm,
        "clips_with_blepharospasm_like_finding": bleph,
        "finding_status_counts": {str(k): int(v) for k, v in status.items()},
        "refused": refused,
        "event_counts": kinds,
        "what_fooled_it": fooled,
        "per_clip": clips,
    }


def _truth_context(act: pd.DataFrame, e: dict[str, Any]) -> str:
    ctx = act["context"].to_numpy()[e["onset_frame"]: e["offset_frame"] + 1]
    active = act["active"].to_numpy()[e["onset_frame"]: e["offset_frame"] + 1]
    if (ctx == "not_measured").any():
        return "not_measured"
    return "activity" if active.any() else "rest"


@dataclass
class _Tally:
    """Counts over injected copies: resting twitches found (``rest``) with their side, region and
    pattern, recall by region and by the person's own blinks, and twitches in activity reported."""
    rest: EventScore = field(default_factory=EventScore)
    matched: int = 0
    side_ok: int = 0
    region_ok: int = 0
    pattern_ok: int = 0
    by_region: dict[str, list[int]] = field(default_factory=dict)
    by_blink: dict[str, list[int]] = field(default_factory=dict)  # during the person's own blinks, or apart
    in_activity: dict[str, list[int]] = field(default_factory=lambda: {"activity": [0, 0], "not_measured": [0, 0]})

    def score_copy(self, true_tw: list[dict[str, Any]], det: pd.DataFrame) -> EventScore:
        """One copy's twitches and movements (``det``) against its injected twitches (each with
        its ``context`` and ``own_blink``), counted in; returns the copy's resting score."""
        _, pairs = match_intervals(list(zip(det["onset_frame"], det["offset_frame"], strict=True)),
                                   [(e["onset_frame"], e["offset_frame"]) for e in true_tw])
        matched_truth = {j: i for i, j in pairs}
        tp = fn = 0
        for j, e in enumerate(true_tw):
            d = det.loc[matched_truth[j]] if j in matched_truth else None
            if e["context"] != "rest":
                self.in_activity[e["context"]][0] += d is not None
                self.in_activity[e["context"]][1] += 1
                continue
            hit = d is not None and d["kind"] == "twitch"
            tp, fn = tp + hit, fn + (not hit)
            for counts, key in ((self.by_region, e["region"]),
                                (self.by_blink, "during_own_blink" if e["own_blink"] else "apart_from_blinks")):
                counts.setdefault(key, [0, 0])
                counts[key][0] += hit
                counts[key][1] += 1
            if hit:
                self.matched += 1
                self.side_ok += d["side"] == e["side"]
                self.region_ok += d["region"] in e.get("regions", [e["region"]])
                self.pattern_ok += d["pattern"] == e["pattern"]
        # a reported twitch that matches no injected twitch is false (wherever it falls), but for
        # the jerks of a burst (one injected event) reported as several twitches
        matched_det = {i for i, _ in pairs}
        bursts = [(e["onset_frame"], e["offset_frame"]) for e in true_tw if e.get("jerks", 1) > 1]
        fp = int(sum(1 for k in range(len(det)) if det.loc[k, "kind"] == "twitch" and k not in matched_det
                     and not any(det.loc[k, "onset_frame"] <= b and det.loc[k, "offset_frame"] >= a
                                 for a, b in bursts)))
        score = EventScore(tp=tp, fp=fp, fn=fn)
        self.rest.add(score)
        return score

    def to_dict(self) -> dict[str, Any]:
        def share(n: int) -> float | None:
            return round(n / self.matched, 4) if self.matched else None

        return {
            "rest": {**self.rest.to_dict(), "side_correct": share(self.side_ok),
                     "region_correct": share(self.region_ok), "pattern_correct": share(self.pattern_ok),
                     "recall_by_region": {r: round(a / b, 4) for r, (a, b) in self.by_region.items() if b},
                     "recall_by_own_blink": {k: {"found": a, "of": b} for k, (a, b) in self.by_blink.items()}},
            "during_activity": {
                "twitches": self.in_activity["activity"][1],
                "found_as_twitch_or_movement": self.in_activity["activity"][0],
                "note": "a twitch during speech, an expression or head motion is reported as a movement "
                        "at most, and never counts towards a finding"},
        }


def evaluate_injected(folder: str | Path, work: str | Path, seeds: Sequence[int] = (0,),
                      twitch_rate_per_min: float = 20.0, settings: AnalysisSettings | None = None,
                      progress: bool = False, workers: int | None = None, strength: float = 1.0,
                      style: str = "lid") -> dict[str, Any]:
    """Twitches injected into every video of ``folder``, once per seed of ``seeds`` (each its own
    copies, kept in ``work``/injected), scored as a whole and per seed; ``strength`` scales their
    amplitudes, ``style`` says how they are drawn (``inject.inject_twitches``)."""
    from ..twitch.activity import activity
    from .inject import inject_twitches, sha256_of

    settings = settings or AnalysisSettings()
    work = Path(work)
    (work / "injected").mkdir(parents=True, exist_ok=True)
    tally = _Tally()
    per_seed = {seed: EventScore() for seed in seeds}
    per_clip, refused = [], []
    videos = find_videos(folder)
    prefill(videos, work, settings, landmarks=True, workers=workers)
    for i, video in enumerate(_progress(videos, "inject", progress)):
        try:
            orig, lm = measured(video, work, settings, landmarks=True)
        except FacenerveError as err:
            refused.append({"clip": video.name, "reason": str(err)})
            continue
        # the original's activity, own blinks and hash: once for all seeds
        act = activity(orig, settings)
        own, _ = _events(orig, settings)  # the person's own blinks and closures, before injection
        own = own[own["kind"].isin(["blink", "closure"])]
        source = sha256_of(video)
        for seed in seeds:
            rng = np.random.default_rng([seed, i])
            side = ("left", "right")[int(rng.integers(2))]
            out = work / "injected" / (f"{video.stem}-seed{seed}{'' if strength == 1 else f'-x{strength:g}'}"
                                       f"{'' if style == 'lid' else f'-{style}'}.mp4")
            truth_path = out.with_suffix(".truth.json")
            truth = json.loads(truth_path.read_text()) if out.exists() and truth_path.exists() else {}
            if truth.get("source_sha256") != source:  # kept copies of another clip of that name
                truth = inject_twitches(video, out, orig, lm, side, rng, twitch_rate_per_min=twitch_rate_per_min,
                                        strength=strength, style=style)
            true_tw = truth["events"]
            for e in true_tw:
                e["context"] = _truth_context(act, e)
                e["own_blink"] = bool(((own["onset_frame"] <= e["offset_frame"])
                                       & (own["offset_frame"] >= e["onset_frame"])).any())
            signals, _ = measured(out, work, settings)
            ev, _ = _events(signals, settings)
            score = tally.score_copy(true_tw, ev[ev["kind"].isin(["twitch", "movement"])].reset_index(drop=True))
            per_seed[seed].add(score)
            per_clip.append({"clip": video.name, "seed": seed, "side": side, "true": len(true_tw),
                             "true_at_rest": sum(e["context"] == "rest" for e in true_tw),
                             "found_at_rest": score.tp, "false": score.fp})
    out = {"clips": len(videos), "seeds": list(seeds), "strength": strength, "style": style,
           "twitches_injected": sum(c["true"] for c in per_clip),
           **tally.to_dict(), "per_seed": [{"seed": k, **v.to_dict()} for k, v in per_seed.items()],
           "refused": refused, "per_clip": per_clip}
    # each clip with all its copies is one unit of the interval
    by_clip = pd.DataFrame(per_clip, columns=["clip", "found_at_rest", "false", "true_at_rest"]).groupby("clip").sum()
    out["rest"]["ci95_by_clip"] = score_ci(np.c_[by_clip["found_at_rest"], by_clip["false"],
                                                 by_clip["true_at_rest"] - by_clip["found_at_rest"]])
    return out

