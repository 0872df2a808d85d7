"""Validate palsy grading on rendered exams with known movement factors.

Shape contract
    ``make_exam_set(folder)``   renders exams (see ``EXAM_SET``) with ``.truth.json`` and
                                ``.tasks.json`` beside each video
    ``evaluate_exams(folder)``  -> dict: per exam the grades found and the truth; monotonicity
                                of House-Brackmann and Sunnybrook in the factor, House-Brackmann
                                within one grade of the implied grade, Spearman of the Sunnybrook
                                composite with the factor, forehead-sparing and synkinesis
                                detection rates, false central flags on symmetric exams
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

# (factor, central, synkinesis): peripheral palsies over the whole range, central palsies with
# a weak lower face, synkinesis after partial recovery, and normal symmetric exams
EXAM_SET = (
    [(f, False, 0.0) for f in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    + [(f, True, 0.0) for f in (0.0, 0.3, 0.6)]
    + [(f, False, 1.0) for f in (0.5, 0.7, 0.9)]
    + [(1.0, False, 0.0)]
)


def make_exam_set(folder: str | Path, exams=EXAM_SET, seed: int = 0, progress: bool = True) -> None:
    from tqdm import tqdm

    from ..simulate.render import render_exam_video

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, (f, central, synk) in enumerate(tqdm(exams, desc="rendering exams", disable=not progress)):
        side = "left" if i % 2 == 0 else "right"
        name = f"exam{i:02d}_{side}_f{f:.1f}{'_central' if central else ''}{'_synk' if synk else ''}.mp4"
        render_exam_video(folder / name, factor=f, side=side, central=central, synkinesis=synk,
                          random_state=seed + i)


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def evaluate_exams(folder: str | Path, segmentation: str = "auto", progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from ..exam.pipeline import analyze_exam

    folder = Path(folder)
    videos = sorted(folder.glob("*.mp4"))
    if not videos:
        raise InputError(f"no rendered exams (*.mp4 with .truth.json) in {folder}; make them with --make")
    rows = []
    for v in tqdm(videos, desc="grading exams", disable=not progress):
        truth = json.loads(v.with_suffix(".truth.json").read_text())
        tasks = v.with_suffix(".tasks.json") if segmentation == "sidecar" else None
        res = analyze_exam(v, tasks=tasks, segmentation="auto" if segmentation == "auto" else "protocol")
        g = res.grades
        gr = g.get("grades", {})
        rows.append({
            "video": v.name, **{k: truth[k] for k in ("factor", "side", "central", "synkinesis")},
            "implied_hb": truth["implied_house_brackmann"],
            "hb": gr.get("house_brackmann", {}).get("grade"),
            "sunnybrook": gr.get("sunnybrook", {}).get("composite"),
            "eface": gr.get("eface", {}).get("total"),
            "weaker_side": g["weaker_side"], "central_flag": g.get("central_pattern", False),
            "synkinesis_found": g.get("synkinesis", {}).get("detected", False),
            "segment_confidence": round(float(np.mean([s.confidence for s in res.segments])), 3),
        })
    return {"segmentation": segmentation, **summarize_exams(rows)}


def summarize_exams(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The set's agreement with the rendered truth, from one row per exam (``evaluate_exams``)."""
    # an exam the grader declines ("not enough to judge") counts against agreement, and is left
    # out of the orderings and the correlation, which need a grade
    def graded(r: dict[str, Any]) -> bool:
        return r["hb"] is not None and r["sunnybrook"] is not None

    periph = sorted([r for r in rows if not r["central"] and not r["synkinesis"]], key=lambda r: r["factor"])
    hb_ok = [r for r in periph if r["hb"] is not None and abs(r["hb"] - r["implied_hb"]) <= 1]
    ordered = [r for r in periph if graded(r)]
    mono_hb = all(a["hb"] >= b["hb"] for a, b in zip(ordered, ordered[1:], strict=False) if a["factor"] < b["factor"])
    mono_sb = all(a["sunnybrook"] <= b["sunnybrook"] for a, b in zip(ordered, ordered[1:], strict=False)
                  if a["factor"] < b["factor"])
    central = [r for r in rows if r["central"]]
    synk = [r for r in rows if r["synkinesis"]]
    correlated = [r for r in periph + synk if graded(r)]
    normal = [r for r in rows if r["factor"] == 1.0 and not r["central"] and not r["synkinesis"]]
    weak = [r for r in rows if r["factor"] < 0.9 and not r["central"]]
    no_synk = [r for r in rows if not r["synkinesis"]]

    def rate(xs, key):
        return round(100 * sum(bool(r[key]) for r in xs) / len(xs), 1) if xs else None

    return {
        "exams": len(rows),
        "house_brackmann_within_one_pct": round(100 * len(hb_ok) / len(periph), 1) if periph else None,
        "house_brackmann_monotonic": mono_hb,
        "sunnybrook_monotonic": mono_sb,
        "sunnybrook_spearman_vs_factor": round(_spearman([r["factor"] for r in correlated],
                                                         [r["sunnybrook"] for r in correlated]), 3)
        if len(correlated) > 2 else None,
        "not_graded": [r["video"] for r in rows if not graded(r)],
        "forehead_sparing_detected_pct": rate(central, "central_flag"),
        "false_central_flags": sum(r["central_flag"] for r in rows if not r["central"]),
        "synkinesis_detected_pct": rate(synk, "synkinesis_found"),
        "synkinesis_false_positive_pct": rate(no_synk, "synkinesis_found"),
        "weak_side_correct_pct": round(100 * sum(r["weaker_side"] == r["side"] for r in weak) / len(weak), 1)
        if weak else None,
        "normal_exams": [{k: r[k] for k in ("video", "hb", "sunnybrook", "eface", "weaker_side")} for r in normal],
        "per_exam": rows,
    }
