"""HTML report of ``facenerve analyze``: recording quality, twitch findings, each side's
signals over time with events marked, and the events table.

Shape contract
    in:  ``measure.run.AnalysisResult`` with events and findings
    out: str, one self-contained HTML page
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..reporting import COLORS, fig_to_img, page, plt_agg, table

if TYPE_CHECKING:
    from ..measure.run import AnalysisResult

PANELS = [  # the measures twitch detection reads (skin motion when it was measured)
    ("eye_aperture", "Eye aperture (mm)"),
    ("lid_drop", "Eye centre moving down,\nskin motion (mm)"),
    ("lid_close", "Lids moving together,\nskin motion (mm)"),
    ("brow_height", "Brow height (mm)"),
    ("cheek_lift", "Cheek lift,\nskin motion (mm)"),
    ("mouth_lift", "Mouth corner lift,\nskin motion (mm)"),
]


ENVELOPE_BINS = 3000  # a figure ~1000 px wide: more points than this per line are drawn as their envelope


MAX_EVENT_LABELS = 100


def _event_colors(events: pd.DataFrame) -> np.ndarray:
    """Each event's colour: blinks green, other events their side's."""
    return np.where(events["kind"] == "blink", "#2ca02c", events["side"].map(COLORS).fillna(COLORS["both"]))


def envelope(t: np.ndarray, y: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """The line ``y(t)`` as drawn: unchanged up to ``2 * bins`` points, else each bin's lowest
    and highest value (NaN where a bin has none), so that an hour's plot costs what 3 minutes'
    does and looks the same at the report's width."""
    if len(t) <= 2 * bins:
        return t, y
    edges = np.linspace(0, len(t), bins + 1).astype(int)[:-1]
    y = np.asarray(y, dtype=np.float64)
    lo, hi = np.fmin.reduceat(y, edges), np.fmax.reduceat(y, edges)
    tb = t[edges]
    return np.repeat(tb, 2), np.column_stack([lo, hi]).ravel()


def signals_figure(signals: pd.DataFrame, events: pd.DataFrame | None) -> str:
    plt = plt_agg()
    t = signals["time_s"].to_numpy()
    panels = [(m, label) for m, label in PANELS if f"{m}_left_mm" in signals]
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(11, 2.0 * (len(panels) + 1)), sharex=True)
    for ax, (measure, label) in zip(axes, panels, strict=False):
        for side in ("left", "right"):
            ax.plot(*envelope(t, signals[f"{measure}_{side}_mm"].to_numpy()), lw=0.8, color=COLORS[side],
                    label=f"{side}")
        ax.set_ylabel(label, fontsize=8)
        ax.legend(loc="upper right", fontsize=7)
    ax = axes[-1]
    ax.set_ylabel("events", fontsize=8)
    ax.set_yticks([0, 1, 2], ["right", "both", "left"])
    ax.set_ylim(-0.5, 2.5)
    if events is not None and len(events):
        # one bar collection per side and colour, not an artist per event: an hour holds
        # thousands of events, and a line each would cost tens of MB to draw
        ypos = {"right": 0, "both": 1, "left": 2}
        color = _event_colors(events)
        width = np.maximum(events["offset_s"] - events["onset_s"], 0.03)
        for (side, c), idx in events.groupby([events["side"], color]).groups.items():
            ax.broken_barh(list(zip(events.loc[idx, "onset_s"], width[idx], strict=True)),
                           (ypos[side] - 0.12, 0.24), color=c)
        twitches = events[events["kind"] == "twitch"]
        if len(twitches) <= MAX_EVENT_LABELS:  # beyond that the labels would only overlap
            for _, e in twitches.iterrows():
                ax.text(e["onset_s"], ypos[e["side"]] + 0.25, e["region"], fontsize=6)
    tb, bad = envelope(t, (~signals["quality_ok"].to_numpy()).astype(float))
    bad = bad > 0  # a bin with any untrusted frame is grey
    if bad.any():
        for a in axes:
            a.fill_between(tb, 0, 1, where=bad, transform=a.get_xaxis_transform(), color="#eee", zorder=0)
    axes[-1].set_xlabel("time (s); grey: no trusted face")
    return fig_to_img(fig)


def rates_figure(events: pd.DataFrame, duration_s: float) -> str:
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(11, 2.2))
    edges = np.arange(0, max(duration_s, 60) + 60, 60)
    for kind, side, color in (("twitch", "left", COLORS["left"]), ("twitch", "right", COLORS["right"]),
                              ("blink", "both", "#2ca02c")):
        sel = events[(events["kind"] == kind) & (events["side"] == side)]
        counts, _ = np.histogram(sel["onset_s"], bins=edges)
        ax.step(edges[:-1] / 60, counts, where="post", label=f"{kind} {side}", color=color)
    ax.set_xlabel("minute")
    ax.set_ylabel("per minute")
    ax.legend(fontsize=7)
    return fig_to_img(fig)


def events_timeline(events: pd.DataFrame, duration_s: float) -> str:
    """Each event as a mark at its time, one row per kind and side: for recordings too short
    for a rate per minute."""
    plt = plt_agg()
    rows = [(k, s) for k in ("twitch", "closure", "movement", "blink") for s in ("left", "right", "both")
            if ((events["kind"] == k) & (events["side"] == s)).any()]
    fig, ax = plt.subplots(figsize=(11, 0.5 + 0.35 * max(len(rows), 1)))
    for i, (kind, side) in enumerate(rows):
        sel = events[(events["kind"] == kind) & (events["side"] == side)]
        ax.broken_barh(list(zip(sel["onset_s"], np.maximum(sel["offset_s"] - sel["onset_s"], duration_s / 400), strict=True)),
                       (i - 0.35, 0.7), color=_event_colors(sel)[0])
    ax.set_yticks(range(len(rows)), [f"{k} {s}" for k, s in rows])
    ax.set_xlim(0, max(duration_s, 1.0))
    ax.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    ax.set_xlabel("time (s)")
    return fig_to_img(fig)


def analysis_report(result: AnalysisResult) -> str:
    info = result.info
    parts = ["<h2>Recording</h2>", table({
        "file": Path(info.video["path"]).name, "frames": info.n_frames, "fps": info.fps,
        "duration (s)": info.duration_s, "face found in": f"{100 * info.face_fraction:.1f}% of frames",
        "trusted (facing the camera)": f"{100 * info.quality_fraction:.1f}% of frames",
        "steady enough for skin motion": (f"{100 * info.skin_motion_fraction:.1f}% of trusted frames"
                                          if info.skin_motion_fraction is not None else "not measured"),
        "mm per pixel (median)": f"{info.calibration['mm_per_px_median']:.4f}",
        "interpupillary distance": f"{info.calibration['ipd_mm_median']:.1f} mm" + (
            f", {ft['pupils_px']:.0f} pixels" if (ft := (result.findings or {}).get("footage", {})).get("pupils_px")
            else ""),
        "faces in view (most)": info.landmarks["max_faces_seen"],
        "small in the picture": (f"followed in a crop around it in {n} frames" if (n := info.landmarks.get(
            "frames_in_crop", 0)) else "no"),
        "decoding": (info.decode or {}).get("note") or "every frame the file promises was decoded intact",
    })]
    if result.findings:
        f = result.findings
        fd, ft = f["finding"], f["footage"]
        rows = {"finding": fd["reason"],
                "footage it rests on": (f"{ft['assessable_s']} s assessable at rest "
                                        f"({100 * ft['assessable_fraction']:.0f}% of the recording); "
                                        f"speech {ft['speech_s']} s, expressions {ft['expression_s']} s, "
                                        f"head motion {ft['head_motion_s']} s")}
        for side in ("left", "right"):
            s, g = f["per_side"][side], f["grades"][side]
            rate = f"{s['twitches_per_min']}/min" if s["twitches_per_min"] is not None else "no rate: too little footage"
            grade = (f"SMC {g['smc_grade']}, Jankovic {g['jankovic']['severity']}+{g['jankovic']['frequency']}"
                     if g["smc_grade"] is not None else "not graded")
            rows[f"{side} side"] = (f"{s['twitch_count']} twitches ({rate}), regions: "
                                    f"{', '.join(s['regions']) or 'none'}; {grade}")
        rows["blinks"] = f"{f['blinks_total']} ({f['per_side']['left']['blinks_per_min']}/min)"
        rows["long closures of both eyes"] = fd["blepharospasm_reason"]
        rows["one-sided movements during activity"] = f"{f['movements']['count']} (never counted as spasm)"
        parts += ["<h2>Twitch finding</h2>", table(rows), f"<p class='note'>{html.escape(f['note'])}</p>"]
    parts += ["<h2>Each side over time</h2>", signals_figure(result.signals, result.events)]
    if result.events is not None and len(result.events):
        if info.duration_s >= 60:  # a rate per minute needs a minute
            parts += ["<h2>Rates per minute</h2>", rates_figure(result.events, info.duration_s)]
        else:
            parts += ["<h2>Events over time</h2>", events_timeline(result.events, info.duration_s)]
        parts += ["<h2>Events</h2>", f"<div class='wide'>{result.events.to_html(index=False, border=0)}</div>"]
    parts += ["<h2>Settings and versions</h2>",
              f"<pre>{html.escape(json.dumps({'settings': info.settings, 'versions': info.versions}, indent=1))}</pre>"]
    return page("facenerve analysis", "".join(parts))
