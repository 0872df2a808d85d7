"""HTML report of an exam: grades with their sub-measures, and for each task a keyframe with
the landmarks drawn and a left/right chart.

Shape contract
    in:  ``pipeline.ExamResult`` (analysis with landmarks kept, segments, measures, grades)
    out: str, one self-contained HTML page
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ..measure.geometry import SIDES
from ..reporting import COLORS, fig_to_img, page, plt_agg, table
from .protocol import task_label

if TYPE_CHECKING:
    from .pipeline import ExamResult


def _keyframes(result: ExamResult, frames: set[int]) -> dict[int, np.ndarray]:
    from ..media.video import iter_frames

    if result.frames is not None:
        return {i: result.frames[i] for i in frames if i in result.frames}
    out = {}
    last = max(frames)
    for f in iter_frames(result.video):
        if f.index in frames:
            out[f.index] = f.rgb
        if f.index >= last:
            break
    return out


def _keyframe_figure(rgb: np.ndarray, points: np.ndarray | None, title: str) -> str:
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.imshow(rgb)
    if points is not None and np.isfinite(points).all():
        ax.scatter(points[:, 0], points[:, 1], s=0.3, c="#ffffff", alpha=0.5)
        for side, ix in SIDES.items():
            key = [ix.lid_upper, ix.lid_lower, ix.mouth_corner, *ix.brow]
            ax.scatter(points[key, 0], points[key, 1], s=6, c=COLORS[side])
    ax.set_title(title, fontsize=8)
    ax.axis("off")
    return fig_to_img(fig)


def _synkinesis_text(synk: dict) -> str:
    """Found or not, ocular and oral, each with the figures behind it, or why it could not be
    assessed."""
    def kind(k: str) -> str:
        per = {name: v for name, v in synk["per_expression"].items() if v["kind"] == k and name != "brow_raise"}
        found = [f"{task_label(name)}: {v['excess']:.2f} {'mm' if v['unit'] == 'mm' else 'of its opening'} more than "
                 "the other side" for name, v in per.items() if v["level"] > 0]
        skipped = [v["not_assessed"] for v in per.values() if "not_assessed" in v]
        if found:
            return "found (" + "; ".join(found) + ")"
        if per and len(skipped) == len(per):
            return "not assessed: " + skipped[0]
        return "none" + ("; not assessed: " + "; ".join(skipped) if skipped else "")

    return f"{'found' if synk['detected'] else 'not found'} (ocular {kind('ocular')}; oral {kind('oral')})"


def _sparing_text(g: dict) -> str:
    """The forehead-sparing flag with the figures it rests on."""
    fs = g.get("forehead_sparing") or {}
    if "weakness_z" not in fs:
        return "not judged: " + fs.get("reason", "not measured")
    brow = ", ".join(f"{100 * v:.0f}% of normal by its {k}" for k, v in fs.get("brow_by_measure", {}).items())
    if not brow:  # neither of its measures saw the brow rise as far as a graded raise must
        brow = f"{100 * fs['upper_face'].get('brow_raise', float('nan')):.0f}% of normal"
    z = fs["weakness_z"]
    return (f"{'YES' if g['central_pattern'] else 'no'}: the brow moves {brow}; the "
            f"mouth's evidence of weakness z {z['lower']:.1f} and the upper face's {z['upper']:.1f}. Rule: "
            + fs["rule"])


def _lr_figure(tasks: dict[str, Any]) -> str:
    plt = plt_agg()
    names = [k for k, t in tasks.items() if "excursion" in t]
    if not names:
        return "<p>No task was measured.</p>"
    fig, axes = plt.subplots(1, len(names), figsize=(1.7 * len(names), 2.4))
    for ax, name in zip(np.atleast_1d(axes), names, strict=False):
        t = tasks[name]
        ax.bar([0, 1], [t["excursion"]["left"], t["excursion"]["right"]], color=[COLORS["left"], COLORS["right"]])
        ax.set_xticks([0, 1], ["L", "R"])
        ax.set_title(task_label(name), fontsize=7)
        ax.set_ylabel("fraction closed" if t["unit"].startswith("fraction") else "mm", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig_to_img(fig)


def exam_report(result: ExamResult) -> str:
    g = result.grades
    tasks = result.measures["tasks"]
    status = g.get("exam_status") or {}
    parts = [f"<p><b>{html.escape(status.get('status', '').replace('_', ' '))}</b>: "
             f"{html.escape(status.get('reason', ''))}</p>"] if status else []
    if g.get("central_pattern"):
        parts.append("<p style='color:#b00;font-weight:bold'>" + html.escape(g["notes"][0]) + "</p>")
    if "grades" in g:
        hb, sb, ef = (g["grades"][k] for k in ("house_brackmann", "sunnybrook", "eface"))
        title = ("Grades" if not g.get("provisional") else "Provisional grades (the exam is not complete)"
                 if status.get("tasks_missing") else "Provisional grades (not every task could be graded)")
        parts += [f"<h2>{title}</h2>"] + [f"<p>{html.escape(n)}</p>" for n in g.get("notes", [])
                                         if n.startswith("Provisional")]
        parts += [table({
            "weaker side": g["weaker_side"], "asymmetry (mean shortfall)": f"{100 * g['asymmetry']:.0f}%",
            "difference beyond healthy faces' (z; 2 or more names a weaker side)": ", ".join(
                f"{'upper face' if k == 'upper' else 'mouth'} {v:.1f}"
                for k, v in (g.get("weakness_z") or {}).items()) or "not measured",
            "House-Brackmann": (f"{hb['roman']} - " + "; ".join(hb["reasons"])) if "roman" in hb else hb["reason"],
            "Sunnybrook composite": f"{sb['composite']} (voluntary {sb['voluntary']}, resting {sb['resting']}, synkinesis {sb['synkinesis']})",
            "eFACE-like": f"total {ef['total']} (static {ef['static']}, dynamic {ef['dynamic']}, synkinesis {ef['synkinesis']})",
            "synkinesis": _synkinesis_text(g["synkinesis"]),
            "forehead sparing (central pattern)": _sparing_text(g),
        })]
        parts.append("<h3>Affected side relative to the other, per task</h3>" + table(
            {task_label(k): ("not measured" if v is None else f"{100 * v:.0f}%") for k, v in g["ratios"].items()}))
    ungraded = {task_label(k): t["reason"] for k, t in tasks.items() if t.get("reason")}
    if ungraded:
        parts += ["<h3>Tasks not graded</h3>", table(ungraded)]
    parts += ["<h2>Left and right, per task</h2>", _lr_figure(tasks)]
    frames = {t["peak_frame"] for t in tasks.values() if "peak_frame" in t}
    rest = next(s for s in result.segments if s.task == "rest")
    sig = result.analysis.signals
    rest_rows = sig[(sig["time_s"] >= rest.start_s) & (sig["time_s"] < rest.end_s) & sig["quality_ok"]]
    rest_frame = int(rest_rows["frame"].iloc[len(rest_rows) // 2]) if len(rest_rows) else None
    if rest_frame is not None:
        frames.add(rest_frame)
    imgs = _keyframes(result, frames) if frames else {}
    lm = result.analysis.landmarks
    row = []
    for name, f in ([("rest", rest_frame)] if rest_frame is not None else []) + \
            [(k, t["peak_frame"]) for k, t in tasks.items() if "peak_frame" in t]:
        if f in imgs:
            pts = lm[f].astype(np.float32) if lm is not None else None
            row.append(_keyframe_figure(imgs[f], pts, f"{task_label(name)} (frame {f})"))
    parts += ["<h2>Keyframes (landmarks drawn; left side blue, right red)</h2>", "".join(row)]
    video = result.analysis.info.video
    if video.get("kind") == "photos":  # which photo each task was graded from, and what was left out
        parts += ["<h2>Photos</h2>", table({**{task_label(t): name for t, name in video["photos"].items()},
                                            **({"left out (not graded by this exam)": ", ".join(video["left_out"])}
                                               if video.get("left_out") else {})})]
    else:
        parts += ["<h2>Task segments</h2>", table({task_label(s.task): f"{s.start_s:.2f}-{s.end_s:.2f} s ({s.source}, "
                                                           f"confidence {s.confidence})" for s in result.segments})]
    parts += ["<details><summary><b>All measures</b> (JSON, as in summary.json)</summary>",
              f"<pre>{html.escape(json.dumps(g, indent=1, default=str))}</pre></details>"]
    return page("facenerve facial exam", "".join(parts))
