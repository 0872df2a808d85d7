"""``facenerve evaluate twitches``: twitch detection on rendered videos with ground truth.

For every ``<video>.mp4`` with ``<video>.truth.json`` beside it (``facenerve simulate``
writes both), the video is analysed and its twitches matched to the true ones (overlapping
frame intervals, each matched at most once). Reported over the whole set: twitch precision,
recall and F1; among matched twitches, the share with the right side, region and pattern;
blink F1; and false twitches per 10 minutes in videos rendered with no twitch at all.
``make_twitch_set`` renders such a set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..settings import AnalysisSettings
from .metrics import EventScore, match_intervals


def make_twitch_set(folder: str | Path, n_videos: int = 6, duration_s: float = 30.0,
                    twitch_free: int = 2, first_seed: int = 100, progress: bool = False) -> list[Path]:
    """Render ``n_videos`` videos with one-sided twitches (alternately left and right) among
    blinks, and ``twitch_free`` with blinks only; video i uses random state first_seed + i."""
    from tqdm import tqdm

    from ..simulate.render import render_twitch_video

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in tqdm(range(n_videos + twitch_free), unit="video", desc="render", disable=not progress):
        side = "none" if i >= n_videos else ("left", "right")[i % 2]
        video = folder / f"sim_{first_seed + i:04d}_{side}.mp4"
        render_twitch_video(video, duration_s=duration_s, twitch_side=side, random_state=first_seed + i)
        out.append(video)
    return out


def evaluate_twitches(folder: str | Path, settings: AnalysisSettings | None = None,
                      progress: bool = False) -> dict[str, Any]:
    from ..twitch.analyze import analyze_video

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; make one with 'facenerve simulate'")
    videos = [v for v in sorted(folder.glob("*.mp4")) if v.with_suffix(".truth.json").exists()]
    if not videos:
        raise InputError(f"{folder} has no .mp4 with a .truth.json beside it; render some with 'facenerve simulate'")
    tw, bl = EventScore(), EventScore()
    side_ok = region_ok = pattern_ok = matched = 0
    free_s = 0.0
    free_twitches = 0
    per_video = []
    from tqdm import tqdm

    for video in tqdm(videos, unit="video", desc="analyse", disable=not progress):
        truth = json.loads(video.with_suffix(".truth.json").read_text())
        res = analyze_video(video, settings)
        ev = res.events
        true_tw = [e for e in truth["events"] if e["kind"] == "twitch"]
        true_bl = [e for e in truth["events"] if e["kind"] == "blink"]
        det_tw = ev[ev["kind"] == "twitch"].reset_index(drop=True)
        det_bl = ev[ev["kind"] == "blink"]
        s, pairs = match_intervals(list(zip(det_tw["onset_frame"], det_tw["offset_frame"], strict=True)),
                                   [(e["onset_frame"], e["offset_frame"]) for e in true_tw])
        tw.add(s)
        b, _ = match_intervals(list(zip(det_bl["onset_frame"], det_bl["offset_frame"], strict=True)),
                               [(e["onset_frame"], e["offset_frame"]) for e in true_bl])
        bl.add(b)
        for i, j in pairs:
            matched += 1
            side_ok += det_tw.loc[i, "side"] == true_tw[j]["side"]
            region_ok += det_tw.loc[i, "region"] == true_tw[j]["region"]
            pattern_ok += det_tw.loc[i, "pattern"] == true_tw[j]["pattern"]
        if truth.get("twitch_side") == "none":
            free_s += res.info.duration_s
            free_twitches += len(det_tw)
        per_video.append({"video": video.name, **s.to_dict()})
    return {
        "videos": len(videos),
        "twitch": tw.to_dict(),
        "side_correct": round(side_ok / matched, 4) if matched else None,
        "region_correct": round(region_ok / matched, 4) if matched else None,
        "pattern_correct": round(pattern_ok / matched, 4) if matched else None,
        "blink": bl.to_dict(),
        "twitch_free_minutes": round(free_s / 60, 2),
        "false_twitches_per_10_min": round(10 * free_twitches / (free_s / 60), 2) if free_s else None,
        "per_video": per_video,
    }
