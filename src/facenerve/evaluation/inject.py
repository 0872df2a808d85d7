"""Twitches injected into real recorded faces, with exact ground truth.

Shape contract
    ``inject_twitches(video, out, signals, landmarks, side, rng)`` -> truth dict (also written
        to ``<out>.truth.json``): the real video re-encoded with one side's eyelid, cheek or
        mouth corner warped during scheduled twitches (clonic and tonic), every other frame
        untouched; events with onset/offset frames of the decoded video.
    in:  the real video, its ``signals`` (one row per decoded frame, ``measure.run``) and its
         FaceMesh landmarks [n, 478, 3] px (``measure_video(keep_landmarks=True)``).
    ``strength`` scales every twitch's amplitude (1: the eyelid closing 0.6-1.0 of its opening,
    the cheek or mouth corner moving 3-5 mm; 0.5 half that): how small a twitch is still found.

Each frame is warped around its own landmarks (the renderer's ``FaceWarper``, fed the real
frame and the real face's points), so the twitch follows the head and lands among the person's
own blinks, speech and expressions. Twitches are scheduled only where a face was tracked for
the whole twitch; the person's own behaviour at that time is labelled afterwards by the
evaluation (rest or activity, from the original clip's measures).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..media.video import iter_frames
from ..simulate.render import FaceWarper, write_video
from ..simulate.signals import REGIONS, activations, schedule_events

MIN_ACT = 0.01


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The file's SHA-256 (hex): which recording an injected copy was made from."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def inject_twitches(video: str | os.PathLike[str], out: str | os.PathLike[str],
                    signals: pd.DataFrame, landmarks: np.ndarray, side: str,
                    rng: np.random.Generator, regions: tuple[str, ...] = REGIONS,
                    twitch_rate_per_min: float = 20.0, tonic_fraction: float = 0.2,
                    crf: int = 16, strength: float = 1.0) -> dict[str, Any]:
    t = signals["time_s"].to_numpy(dtype=np.float64)
    t = t - t[0]
    n = len(t)
    if landmarks.shape[0] != n:
        raise ValueError(f"{n} signal rows but {landmarks.shape[0]} landmark frames")
    face = np.isfinite(landmarks[:, :, 0]).all(axis=1)
    duration = float(t[-1]) if n > 1 else 0.0
    planned = schedule_events(duration, 0.0, twitch_rate_per_min, side, regions, rng, tonic_fraction,
                              margin_s=0.4)
    planned = [replace(ev, amplitude=ev.amplitude * strength) for ev in planned]
    events = []
    for ev in planned:
        i0, i1 = int(np.searchsorted(t, ev.onset_s)), int(np.searchsorted(t, ev.offset_s, "right")) - 1
        if i1 > i0 and face[max(0, i0 - 1): i1 + 2].all():
            events.append((ev, i0, i1))
    act = activations([e for e, _, _ in events], t)
    fps = (n - 1) / duration if duration > 0 else 30.0

    def frames():
        for f in iter_frames(video):
            i = f.index
            if i >= n:
                break
            a = {k: float(v[i]) for k, v in act.items()}
            if face[i] and max(a.values()) > MIN_ACT:
                pts = landmarks[i].astype(np.float64)
                yield FaceWarper.on_face(f.rgb, pts).render(a)
            else:
                yield f.rgb

    out = Path(out)
    write_video(frames(), out, fps, crf=crf)
    truth = {
        "source": str(video),
        "source_sha256": sha256_of(video),
        "twitch_side": side,
        "strength": strength,
        "fps": fps,
        "n_frames": n,
        "events": [{"kind": "twitch", "side": e.side, "region": e.region, "pattern": e.pattern,
                    "onset_s": round(e.onset_s, 4), "offset_s": round(e.offset_s, 4),
                    "amplitude": round(e.amplitude, 3), "onset_frame": i0, "offset_frame": i1}
                   for e, i0, i1 in events],
        "method": "one side's eyelid, cheek or mouth corner warped around each frame's own landmarks",
    }
    out.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1))
    return truth
