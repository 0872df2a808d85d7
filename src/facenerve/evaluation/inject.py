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
    ``style``: how a twitch is drawn (``STYLES``):
      ``lid``          one region at a time: the upper lid drawn down over the eye, the cheek
                       lifted, the mouth corner pulled up and out (the renderer's ``FaceWarper``);
      ``contraction``  written apart from the first, as another tool's twitches might look: both
                       lids drawn together towards the eye's centre (a sphincter closing), often
                       with the cheek and mouth corner at once (``regions`` lists all, the first
                       leading), and clonic bursts of 2-3 jerks 0.25 s apart (one event, ``jerks``).
      Facenerve was built and tuned against ``lid`` alone; ``contraction`` checks that its
      figures do not hang on one warp's look.

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

from ..measure.geometry import SIDES as LM
from ..media.video import iter_frames
from ..simulate.render import FaceWarper, iris_px_per_mm, write_video
from ..simulate.signals import REGIONS, activations, schedule_events

MIN_ACT = 0.01
METHODS = {"lid": "one side's eyelid, cheek or mouth corner warped around each frame's own landmarks",
           "contraction": "both lids of one eye drawn towards its centre, with the cheek and mouth corner at "
                          "times; clonic bursts of jerks"}
STYLES = tuple(METHODS)
JERK_S, JERK_EVERY_S = 0.2, 0.25  # a burst's jerks: each this long, one starting every JERK_EVERY_S


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The file's SHA-256 (hex): which recording an injected copy was made from."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def inject_twitches(video: str | os.PathLike[str], out: str | os.PathLike[str],
                    signals: pd.DataFrame, landmarks: np.ndarray, side: str,
                    rng: np.random.Generator, regions: tuple[str, ...] = REGIONS,
                    twitch_rate_per_min: float = 20.0, tonic_fraction: float = 0.2,
                    crf: int = 16, strength: float = 1.0, style: str = "lid") -> dict[str, Any]:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    t = signals["time_s"].to_numpy(dtype=np.float64)
    t = t - t[0]
    n = len(t)
    if landmarks.shape[0] != n:
        raise ValueError(f"{n} signal rows but {landmarks.shape[0]} landmark frames")
    face = np.isfinite(landmarks[:, :, 0]).all(axis=1)
    duration = float(t[-1]) if n > 1 else 0.0
    fps = (n - 1) / duration if duration > 0 else 30.0

    def tracked(planned: list, spans: list[tuple[float, float]]) -> list[tuple[Any, int, int]]:
        """The planned twitches whose frames all have a tracked face, with their first and last frame."""
        kept = []
        for ev, (on, off) in zip(planned, spans, strict=True):
            i0, i1 = int(np.searchsorted(t, on)), int(np.searchsorted(t, off, "right")) - 1
            if i1 > i0 and face[max(0, i0 - 1): i1 + 2].all():
                kept.append((ev, i0, i1))
        return kept

    if style == "lid":
        planned = [replace(ev, amplitude=ev.amplitude * strength) for ev in
                   schedule_events(duration, 0.0, twitch_rate_per_min, side, regions, rng, tonic_fraction, margin_s=0.4)]
        events = tracked(planned, [(ev.onset_s, ev.offset_s) for ev in planned])
        act = activations([e for e, _, _ in events], t)

        def draw(rgb: np.ndarray, pts: np.ndarray, a: dict) -> np.ndarray:
            return FaceWarper.on_face(rgb, pts).render(a)

        rows = [{"kind": "twitch", "side": e.side, "region": e.region, "pattern": e.pattern,
                 "onset_s": round(e.onset_s, 4), "offset_s": round(e.offset_s, 4),
                 "amplitude": round(e.amplitude, 3), "onset_frame": i0, "offset_frame": i1}
                for e, i0, i1 in events]
    else:
        planned = _schedule_contractions(duration, rng, twitch_rate_per_min)
        events = tracked(planned, [(ev["onset_s"], ev["offset_s"]) for ev in planned])
        act = {r: np.zeros(n) for r in REGIONS}
        for ev, _, _ in events:
            profile = _contraction_profile(t, ev)
            for r, a in ev["amplitude"].items():
                act[r] = np.maximum(act[r], profile * a * strength)

        def draw(rgb: np.ndarray, pts: np.ndarray, a: dict) -> np.ndarray:
            return draw_contraction(rgb, pts, side, a)

        rows = [{"kind": "twitch", "side": side, "region": ev["regions"][0], "regions": list(ev["regions"]),
                 "pattern": "tonic" if ev["tonic"] else "clonic", "jerks": ev["jerks"],
                 "onset_s": round(ev["onset_s"], 4), "offset_s": round(ev["offset_s"], 4),
                 "amplitude": {r: round(a * strength, 3) for r, a in ev["amplitude"].items()},
                 "onset_frame": i0, "offset_frame": i1}
                for ev, i0, i1 in events]

    def frames():
        for f in iter_frames(video):
            i = f.index
            if i >= n:
                break
            a = {k: float(v[i]) for k, v in act.items()}
            if face[i] and max(a.values()) > MIN_ACT:
                yield draw(f.rgb, landmarks[i].astype(np.float64), a)
            else:
                yield f.rgb

    out = Path(out)
    write_video(frames(), out, fps, crf=crf)
    truth = {"source": str(video), "source_sha256": sha256_of(video), "twitch_side": side, "strength": strength,
             "fps": fps, "n_frames": n, "style": style, "events": rows, "method": METHODS[style]}
    out.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def _schedule_contractions(duration_s: float, rng: np.random.Generator, rate_per_min: float,
                           margin_s: float = 0.4) -> list[dict[str, Any]]:
    """Twitches at ``rate_per_min`` (at least 0.7 s apart): the eye alone (40 %), eye and cheek
    (30 %), eye, cheek and mouth corner (20 %) or the mouth corner alone (10 %); a fifth tonic
    (held 1-2.5 s), and of the clonic ones 40 % bursts of 2-3 jerks. Amplitudes: the eye closing
    0.6-1.0 of its opening, cheek and mouth corner 2.5-4.5 mm."""
    events, t = [], margin_s
    while True:
        t += 0.7 + rng.exponential(60.0 / rate_per_min)
        u = rng.random()
        regions = (("eye",) if u < 0.4 else ("eye", "cheek") if u < 0.7 else
                   ("eye", "cheek", "mouth") if u < 0.9 else ("mouth",))
        tonic = bool(rng.random() < 0.2)
        jerks = 1 if tonic or rng.random() >= 0.4 else int(rng.integers(2, 4))
        dur = (float(rng.uniform(1.0, 2.5)) if tonic else
               float(rng.uniform(0.15, 0.4)) if jerks == 1 else (jerks - 1) * JERK_EVERY_S + JERK_S)
        if t + dur > duration_s - margin_s:
            return events
        amp = {"eye": rng.uniform(0.6, 1.0), "cheek": rng.uniform(2.5, 4.5), "mouth": rng.uniform(2.5, 4.5)}
        events.append({"onset_s": t, "offset_s": t + dur, "regions": regions, "tonic": tonic, "jerks": jerks,
                       "amplitude": {r: float(amp[r]) for r in regions}})
        t += dur


def _contraction_profile(t: np.ndarray, ev: dict[str, Any]) -> np.ndarray:
    """0..1 over time: a tonic twitch rises in 0.1 s, holds and falls in 0.15 s; each clonic jerk
    is a half sine."""
    s = t - ev["onset_s"]
    dur = ev["offset_s"] - ev["onset_s"]
    if ev["tonic"]:
        return np.where((s >= 0) & (s <= dur), np.minimum(np.clip(s / 0.1, 0, 1), np.clip((dur - s) / 0.15, 0, 1)), 0.0)
    jerk = dur if ev["jerks"] == 1 else JERK_S
    x = np.zeros_like(t)
    for k in range(ev["jerks"]):
        sk = s - k * JERK_EVERY_S
        x = np.maximum(x, np.where((sk >= 0) & (sk <= jerk), np.sin(np.pi * np.clip(sk / jerk, 0, 1)), 0.0))
    return x


def draw_contraction(rgb: np.ndarray, p: np.ndarray, side: str, act: dict[str, float]) -> np.ndarray:
    """The picture (uint8 [H, W, 3]) with one side's contraction drawn on it, around FaceMesh
    landmarks ``p`` [478, >=2] px (see ``contraction_maps``); only the face's part is warped."""
    import cv2

    h, w = rgb.shape[:2]
    lo, hi = p[:, :2].min(axis=0), p[:, :2].max(axis=0)
    pad = 0.3 * float(np.max(hi - lo))
    x0, y0 = (max(0, int(v - pad)) for v in lo)
    x1, y1 = min(w, int(hi[0] + pad) + 1), min(h, int(hi[1] + pad) + 1)
    out = rgb.copy()
    if x1 > x0 and y1 > y0:
        mx, my = contraction_maps((x0, y0, x1, y1), p, side, act)
        out[y0:y1, x0:x1] = cv2.remap(rgb, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def contraction_maps(box: tuple[int, int, int, int], p: np.ndarray, side: str, act: dict[str, float]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Backward maps (x, y; float32 [y1 - y0, x1 - x0], in the picture's pixels) over the part
    ``box`` = (x0, y0, x1, y1) of a picture, that draw one side's contraction around FaceMesh
    landmarks ``p`` [478, >=2] px. ``act``: eye (0..1, the closure asked), cheek and mouth (mm).
    Eye: the pixels within about an eye's width of its centre slide towards the line through it,
    upper and lower lids alike, so the band between them is covered (each lid moves about half
    the asked closure of the opening). Cheek: lifted towards the eye. Mouth corner: pulled up and
    out. Everything in the face's own frame (the line through the outer eye corners)."""
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u = p[LM["left"].eye_outer, :2] - p[LM["right"].eye_outer, :2]
    u = u / np.linalg.norm(u)  # towards the person's left
    v = np.array([-u[1], u[0]])  # towards the chin
    px_mm = iris_px_per_mm(p)
    ix = LM[side]
    outward = u if side == "left" else -u
    sx, sy = xx.copy(), yy.copy()
    e = act.get("eye", 0.0)
    if e > MIN_ACT:
        corners = (p[ix.eye_outer, :2] + p[ix.eye_inner, :2]) / 2
        c = 0.5 * corners + 0.5 * (p[ix.lid_upper, :2] + p[ix.lid_lower, :2]) / 2
        half_w = float(np.linalg.norm(p[ix.eye_outer, :2] - p[ix.eye_inner, :2])) / 2
        opening = max(float(np.linalg.norm(p[ix.lid_upper, :2] - p[ix.lid_lower, :2])), 0.25 * half_w)
        du = (xx - c[0]) * u[0] + (yy - c[1]) * u[1]
        dv = (xx - c[0]) * v[0] + (yy - c[1]) * v[1]
        g = np.exp(-du ** 2 / (2 * (1.1 * half_w) ** 2) - dv ** 2 / (2 * (1.3 * opening) ** 2))
        lid_g = np.exp(-0.5 * (0.5 / 1.3) ** 2)  # g at a lid, on the eye's axis
        sv = dv + np.tanh(dv / 0.5) * (0.55 * e * opening / lid_g) * g
        sx, sy = c[0] + du * u[0] + sv * v[0], c[1] + du * u[1] + sv * v[1]
    ck = act.get("cheek", 0.0)
    if ck > MIN_ACT:
        q, s = p[list(ix.cheek), :2].mean(axis=0), 9.0 * px_mm
        g = ck * px_mm * np.exp(-((xx - q[0]) ** 2 + (yy - q[1]) ** 2) / (2 * s * s))
        sx, sy = sx + g * v[0], sy + g * v[1]
    mo = act.get("mouth", 0.0)
    if mo > MIN_ACT:
        q, s = p[ix.mouth_corner, :2], 8.0 * px_mm
        g = mo * px_mm * np.exp(-((xx - q[0]) ** 2 + (yy - q[1]) ** 2) / (2 * s * s))
        d = 0.8 * outward - 0.6 * v
        sx, sy = sx - g * d[0], sy - g * d[1]
    return sx.astype(np.float32), sy.astype(np.float32)
