"""Palsy grades from the exam's task measures: House-Brackmann, Sunnybrook, eFACE-like,
synkinesis and forehead sparing, each with the sub-measures that produced it.

Shape contract
    in:  the dict of ``measures.task_measures`` (rest baseline, per-task excursions per side)
    out: dict, JSON-ready: ``weaker_side`` (left|right|none), ``affected_side`` (the side with less
         movement, graded even when the face is symmetric), ``ratios`` (affected/other per task),
         ``grades`` {house_brackmann, sunnybrook, eface}, ``synkinesis``, ``forehead_sparing``,
         ``central_pattern`` (bool) and ``notes``.

Methods (sources in ../shared/CLINICAL.md):
- Only graded tasks count (``measures``: enough effort on the stronger side, enough measurable,
  frontal footage); the others are listed with the reason.
- Healthy faces' own asymmetry is taken out first: per task, the affected side's movement as a
  fraction of the other's is divided by ``NORMAL_RATIO`` (the fraction healthy real faces reach,
  learned from ``evaluate real-exams``) and capped at 1 ("normal-scaled").
- House-Brackmann (House & Brackmann 1985) on its own 8-point scale, the points being 8 x the
  affected side's normal-scaled median movement over the graded tasks (a median, so that one
  odd task does not decide): I = 8, II = 7, III = 5-6, IV = 3-4, V = 1-2, VI = 0. Clinical
  modifiers of the scale description: incomplete closure at maximal effort (the affected eye
  closes less than ``EYE_CLOSED`` and less than 75 % of the other) means at least IV;
  noticeable synkinesis at least III.
- Sunnybrook (Ross 1996): resting symmetry (eye, cheek, mouth) x5, voluntary movement of the five
  expressions scored 1-5 from the normal-scaled ratio, x4; synkinesis 0-3 per expression;
  composite = voluntary - resting - synkinesis.
- eFACE-like (Banks 2015; auto-eFACE): static items 100 - |100 - L/R ratio %| beyond a small
  tolerance for normal asymmetry (commissure position from its height difference in mm, since a
  ratio of 70 mm distances hides a droop);
  dynamic items = normal-scaled ratio x 100; synkinesis items from the palpebral fissure during
  smile and pucker (ocular) and the commissure during gentle eye closure (oral).
- Forehead sparing (a central pattern) only on clear evidence: the brow moves normally while the
  mouth corners (smile, snarl) are clearly weak; the figures are given with the flag.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SIDES = ("left", "right")
SB_EXPRESSIONS = ("brow_raise", "gentle_eye_closure", "smile", "snarl", "lip_pucker")
OCULAR_TASKS = ("smile", "snarl", "lip_pucker")
ORAL_TASKS = ("gentle_eye_closure",)  # a squeeze pulls healthy mouths too; Sunnybrook rates gentle closure
# Healthy faces move their two sides alike only roughly: in real exams of healthy people (exam
# tasks cut from ../shared/data/natural, ``evaluate real-exams``) the weaker side's movement is
# a median 94 % of the other's per task, its lower quartile 80 % (photos; 96 and 84 % by video). Movement at or above this
# fraction of the other side's counts as normal; below it, as weakness.
NORMAL_RATIO = 0.8
UPPER_FACE = ("brow_raise", "gentle_eye_closure", "tight_eye_closure")
LOWER_FACE = ("smile", "snarl", "lip_pucker")
SPARED = 0.9  # forehead sparing: the brow moves at least this much of normal ...
# ... and the mouth corners at least this much less than normal: at most half of normal. Healthy
# real photo exams caught mid-speech reach 0.45-0.53 of the other side in both smile and snarl
# (0.56-0.66 of normal); a false "possible stroke" is worse than a missed central pattern here
CENTRAL_GAP = 0.5
COMMISSURE = ("smile", "snarl")  # the lips' own pucker drags the weak side along: not evidence
# Synkinesis, on clear evidence only: healthy real exams (``evaluate real-exams``) show up to
# 0.36 of the eye's opening of extra narrowing on one side in a smile, snarl or pucker, and up
# to 1.8 mm of extra commissure movement in gentle eye closure
OCULAR_SYNK = 0.4  # extra eye narrowing (fraction of aperture) of the affected side
ORAL_SYNK_MM = 2.5  # extra commissure movement (mm) of the affected side
# Normal faces are not perfectly symmetric. Static eFACE-like items deduct only the asymmetry
# beyond this (the measurement noise plus normal variation seen on real normal faces, ZJU set).
STATIC_TOLERANCE_PCT = 5.0
COMMISSURE_TOLERANCE_MM = 1.0
EYE_CLOSED = 0.9  # an eye closed this far (fraction of its resting opening) at maximal effort is closed
HB_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _mean(xs) -> float:
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return float(np.mean(xs)) if xs else float("nan")


def relative_movement(tasks: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per graded task and side, the movement as a fraction of the stronger side's (0..1)."""
    out = {}
    for name, t in tasks.items():
        if t.get("graded"):
            exc = t["excursion"]
            strong = max(exc.values())
            out[name] = {s: float(np.clip(exc[s] / strong, 0, 1)) for s in SIDES}
    return out


def affected_side(tasks: dict[str, Any]) -> tuple[str, float]:
    """The side that moves less, and its movement: the median over the graded tasks of its
    fraction of the other side's (a median, so that one odd task does not decide). The side is
    the one whose weaker region (upper face or mouth, each by its median) moves less, so that a
    weak mouth under a normal forehead (a central palsy) still names its side."""
    rel = relative_movement(tasks)
    if not rel:
        return "none", 1.0

    def med(s: str, names) -> float:
        xs = [r[s] for k, r in rel.items() if k in names]
        return float(np.median(xs)) if xs else 1.0

    weakest = {s: min(med(s, UPPER_FACE), med(s, LOWER_FACE)) for s in SIDES}
    overall = {s: med(s, rel) for s in SIDES}
    side = min(SIDES, key=lambda s: (weakest[s], overall[s]))
    return side, overall[side]


def normal_scaled(r: float | None) -> float | None:
    """A ratio of movement with healthy faces' own asymmetry taken out: ``NORMAL_RATIO`` and
    above count as 1 (normal), below it scales linearly to 0."""
    return None if r is None else float(min(1.0, r / NORMAL_RATIO))


def _side_ratio(exc: dict[str, float], side: str) -> float | None:
    """``side``'s movement as a fraction of the other side's (0..1); None when the other's is
    not a movement."""
    other = exc[_other(side)]
    if not (np.isfinite(other) and other > 0 and np.isfinite(exc[side])):
        return None
    return float(np.clip(max(exc[side], 0) / other, 0, 1))


def _ratio(tasks: dict[str, Any], task: str, side: str) -> float | None:
    t = tasks.get(task)
    return _side_ratio(t["excursion"], side) if t and t.get("graded") else None


def _sb_voluntary(r: float | None) -> int | None:
    if r is None:
        return None
    return 1 if r < 0.1 else 2 if r < 0.35 else 3 if r < 0.65 else 4 if r < 0.9 else 5


def _synk_level(excess: float, cuts: tuple[float, float, float]) -> int:
    return int(sum(excess >= c for c in cuts))


def synkinesis(tasks: dict[str, Any], side: str) -> dict[str, Any]:
    """Co-movement of the affected side beyond the other side's, per expression."""
    o = _other(side)
    per: dict[str, Any] = {}
    for name, t in tasks.items():
        if "co_movement" not in t:
            continue
        co = t["co_movement"]
        if name in OCULAR_TASKS or name == "brow_raise":
            excess = co["eye_narrowing"][side] - co["eye_narrowing"][o]
            per[name] = {"kind": "ocular", "excess": round(float(excess), 3), "unit": "fraction of aperture",
                         "level": _synk_level(excess, (OCULAR_SYNK, 0.55, 0.7))}
        elif name in ORAL_TASKS:
            excess = co["corner_move_mm"][side] - co["corner_move_mm"][o]
            per[name] = {"kind": "oral", "excess": round(float(excess), 3), "unit": "mm",
                         "level": _synk_level(excess, (ORAL_SYNK_MM, 4.0, 5.5))}
    ocular = any(v["kind"] == "ocular" and v["level"] > 0 for k, v in per.items() if k != "brow_raise")
    oral = any(v["kind"] == "oral" and v["level"] > 0 for v in per.values())
    return {"side": side, "ocular": ocular, "oral": oral, "detected": ocular or oral, "per_expression": per,
            "method": "affected side's eye narrowing in smile/snarl/pucker, and commissure movement in "
                      f"eye closure, beyond the other side's (thresholds {OCULAR_SYNK} and {ORAL_SYNK_MM} mm)"}


def house_brackmann(movement: float, ratios: dict[str, float | None], synk: dict[str, Any],
                    side: str | None = None, closure: dict[str, float] | None = None) -> dict[str, Any]:
    """``movement``: the affected side's median fraction of the other's over the graded tasks;
    ``ratios``: per task (normal-scaled); ``closure``: per side, the fraction of the eye closed
    at maximal effort."""
    graded = [k for k, v in ratios.items() if v is not None]
    if len(graded) < 3 or not set(graded) & set(UPPER_FACE) or not set(graded) & set(LOWER_FACE):
        return {"grade": None, "reason": "not graded: it needs at least three graded tasks, of the upper face "
                                         "(brow or eye closure) and of the mouth"}
    scaled = normal_scaled(movement)
    points = int(round(8 * scaled))
    grade = {8: 1, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5, 0: 6}[points]
    reasons = [f"the {side} side moves a median {movement:.0%} of the other side over {len(graded)} tasks "
               f"(healthy faces: {NORMAL_RATIO:.0%} or more): {points}/8 points, the scale of House & "
               "Brackmann 1985 (I = 8, II = 7, III = 5-6, IV = 3-4, V = 1-2, VI = 0)"]
    tight = ratios.get("tight_eye_closure")
    closed = (closure or {}).get(side) if side else None
    # incomplete closure: the affected eye stays open where the other closes; a closure the
    # lid completes on both sides (FaceMesh may still read two-thirds) is not incomplete
    if tight is not None and tight < 0.75 and closed is not None and closed < EYE_CLOSED and grade < 4:
        grade = 4
        reasons.append(f"incomplete eye closure at maximal effort (the {side} eye closes {closed:.0%}, "
                       f"{tight:.0%} of the other): at least IV")
    if synk["detected"] and grade < 3:
        grade = 3
        reasons.append("noticeable synkinesis: at least III")
    return {"grade": grade, "roman": HB_ROMAN[grade], "points": points, "reasons": reasons}


def sunnybrook(rest: dict[str, Any], ratios: dict[str, float | None], synk: dict[str, Any],
               side: str) -> dict[str, Any]:
    o = _other(side)
    eye_r = rest["eye_aperture"][side] / rest["eye_aperture"][o]
    cheek_d = rest["cheek_drop"][side] - rest["cheek_drop"][o]
    mouth_d = rest["mouth_corner_drop"][side] - rest["mouth_corner_drop"][o]
    resting = {
        "eye": int(abs(eye_r - 1) > 0.15),
        "cheek": int(abs(cheek_d) >= 1.5) + int(abs(cheek_d) >= 3.0),
        "mouth": int(abs(mouth_d) >= 1.5),
    }
    resting_score = 5 * sum(resting.values())
    vol = {e: _sb_voluntary(ratios.get(e)) for e in SB_EXPRESSIONS}
    done = [v for v in vol.values() if v is not None]
    voluntary = 4 * sum(done) * len(SB_EXPRESSIONS) / len(done) if done else float("nan")
    per = synk["per_expression"]
    syn = {e: (per[e]["level"] if e in per else 0) for e in SB_EXPRESSIONS}
    synk_score = sum(syn.values())
    return {
        "resting": resting_score, "resting_items": {**resting, "eye_ratio": round(eye_r, 3),
                                                     "cheek_height_diff_mm": round(cheek_d, 2),
                                                     "mouth_height_diff_mm": round(mouth_d, 2)},
        "voluntary": round(voluntary, 1), "voluntary_items": vol,
        "synkinesis": synk_score, "synkinesis_items": syn,
        "composite": round(voluntary - resting_score - synk_score, 1),
        "note": "the resting cheek item (nasolabial fold) is taken from the height difference of mid-cheek",
    }


def eface(rest: dict[str, Any], ratios: dict[str, float | None], synk: dict[str, Any],
          side: str) -> dict[str, Any]:
    o = _other(side)

    def static_ratio(m: str) -> float:
        r = 100 * rest[m][side] / rest[m][o]
        return float(np.clip(100 - max(abs(100 - r) - STATIC_TOLERANCE_PCT, 0), 0, 100))

    drop = abs(rest["mouth_corner_drop"][side] - rest["mouth_corner_drop"][o])
    static = {
        "brow": static_ratio("brow_height"),
        "palpebral_fissure": static_ratio("eye_aperture"),
        "oral_commissure": float(np.clip(100 - 10 * max(drop - COMMISSURE_TOLERANCE_MM, 0), 0, 100)),
    }
    dynamic = {k: 100 * v for k, v in ratios.items() if v is not None}
    per = synk["per_expression"]
    ocular = [per[t]["excess"] for t in OCULAR_TASKS if t in per]
    oral = [per[t]["excess"] for t in ORAL_TASKS if t in per]
    synk_items = {
        "ocular": float(np.clip(100 * (1 - max(max(ocular, default=0), 0)), 0, 100)),
        "oral": float(np.clip(100 - 20 * max(max(oral, default=0), 0), 0, 100)),
    }
    dom = {"static": _mean(static.values()), "dynamic": _mean(dynamic.values()),
           "synkinesis": _mean(synk_items.values())}
    items = [*static.values(), *dynamic.values(), *synk_items.values()]
    r1 = {k: round(v, 1) for k, v in {**dom, "total": _mean(items)}.items()}
    return {**r1, "static_items": {k: round(v, 1) for k, v in static.items()},
            "dynamic_items": {k: round(v, 1) for k, v in dynamic.items()},
            "synkinesis_items": {k: round(v, 1) for k, v in synk_items.items()}}


def _brow_by_each(tasks: dict[str, Any], side: str) -> dict[str, float]:
    """The brow raise's normal-scaled ratio by landmarks and by texture, where measured."""
    by = tasks.get("brow_raise", {}).get("co_movement", {}).get("brow_up_by", {})
    return {k: normal_scaled(r) for k, exc in by.items() if (r := _side_ratio(exc, side)) is not None}


def forehead_sparing(ratios: dict[str, float | None], brow_by: dict[str, float] | None = None) -> dict[str, Any]:
    """Clear evidence only: the brow moves normally while the mouth corners are clearly weak in
    every graded smile and snarl (normal-scaled ratios); eye closure is reported beside."""
    lower = [ratios[t] for t in COMMISSURE if ratios.get(t) is not None]
    if ratios.get("brow_raise") is None or not lower:
        return {"detected": False, "reason": "the brow raise and the smile or snarl must be graded"}
    # each of the brow's measures must see it move normally (texture and landmarks each fail by
    # missing a movement, so a weak brow shows in one of them at least)
    brow = min([ratios["brow_raise"], *(brow_by or {}).values()])
    detected = bool(brow >= SPARED and max(lower) <= 1 - CENTRAL_GAP)
    return {"detected": detected, "brow_by_measure": {k: round(v, 3) for k, v in (brow_by or {}).items()},
            "upper_face": {t: round(ratios[t], 3) for t in UPPER_FACE if ratios.get(t) is not None},
            "mouth_corners": {t: round(ratios[t], 3) for t in COMMISSURE if ratios.get(t) is not None},
            "rule": f"the brow moves normally ({SPARED:.0%} or more of normal, by its landmarks and by its "
                    "texture) while the mouth "
                    f"corners (smile, snarl) move at most {1 - CENTRAL_GAP:.0%} of normal (normal = {NORMAL_RATIO:.0%} of the "
                    "other side, as healthy faces)"}


def grade_exam(measures: dict[str, Any]) -> dict[str, Any]:
    """See the module's shape contract."""
    tasks, rest = measures["tasks"], measures["rest"]
    side, movement = affected_side(tasks)
    if side == "none":
        return {"weaker_side": "none", "affected_side": None, "notes": ["no task could be graded"]}
    raw = {name: _ratio(tasks, name, side) for name in tasks}
    ratios = {k: normal_scaled(v) for k, v in raw.items()}
    synk = synkinesis(tasks, side)
    fs = forehead_sparing(ratios, _brow_by_each(tasks, side))
    # a clearly weak mouth is weakness even when the upper face moves normally (a central palsy)
    corners = [ratios[t] for t in COMMISSURE if ratios.get(t) is not None]
    weak_mouth = bool(corners) and max(corners) <= 1 - CENTRAL_GAP
    weaker = side if normal_scaled(movement) < 1 or weak_mouth else "none"
    central = bool(fs["detected"] and weaker != "none")
    notes = []
    if central:
        notes.append("The forehead moves while the lower face is weak: a central pattern (for example a "
                     "stroke). This needs urgent medical evaluation.")
    missing = [t for t in SB_EXPRESSIONS if ratios.get(t) is None]
    if missing:
        notes.append("not graded (not found, too little movement or face not measurable): " + ", ".join(missing))
    return {
        "weaker_side": weaker,
        "affected_side": side,
        "movement": round(movement, 3),
        "asymmetry": round(1 - movement, 3),
        "ratios": {k: (round(v, 3) if v is not None else None) for k, v in raw.items()},
        "normal_scaled_ratios": {k: (round(v, 3) if v is not None else None) for k, v in ratios.items()},
        "grades": {"house_brackmann": house_brackmann(movement, ratios, synk, side,
                                                      tasks.get("tight_eye_closure", {}).get("excursion")),
                   "sunnybrook": sunnybrook(rest, ratios, synk, side),
                   "eface": eface(rest, ratios, synk, side)},
        "synkinesis": synk,
        "forehead_sparing": {**fs, "detected": central},
        "central_pattern": central,
        "notes": notes,
    }
