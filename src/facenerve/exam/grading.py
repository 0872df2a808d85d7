"""Palsy grades from the exam's task measures: House-Brackmann, Sunnybrook, eFACE-like,
synkinesis and forehead sparing, each with the sub-measures that produced it.

Shape contract
    in:  the dict of ``measures.task_measures`` (rest baseline, per-task excursions per side)
    out: dict, JSON-ready: ``weaker_side`` (left|right|none), ``affected_side`` (the side with less
         movement, graded even when the face is symmetric), ``ratios`` (affected/other per task),
         ``grades`` {house_brackmann, sunnybrook, eface}, ``synkinesis``, ``forehead_sparing``,
         ``central_pattern`` (bool) and ``notes``.

Methods (sources in ../shared/CLINICAL.md):
- House-Brackmann (House & Brackmann 1985) by its own 8-point measure: brow elevation and
  lateral/upward commissure movement, 4 points each, here as a fraction of the other side's
  movement; I = 8, II = 7, III = 5-6, IV = 3-4, V = 1-2, VI = 0. Clinical modifiers of the scale
  description: incomplete closure at maximal effort means at least IV; noticeable synkinesis at
  least III.
- Sunnybrook (Ross 1996): resting symmetry (eye, cheek, mouth) x5, voluntary movement of the five
  expressions scored 1-5 from the affected/other ratio, x4; synkinesis 0-3 per expression;
  composite = voluntary - resting - synkinesis.
- eFACE-like (Banks 2015; auto-eFACE): static items 100 - |100 - L/R ratio %| beyond a small
  tolerance for normal asymmetry (commissure position from its height difference in mm, since a
  ratio of 70 mm distances hides a droop);
  dynamic items = affected / other excursion x 100, capped at 100; synkinesis items from the
  palpebral fissure during smile and pucker (ocular) and the commissure during eye closure (oral).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SIDES = ("left", "right")
SB_EXPRESSIONS = ("brow_raise", "gentle_eye_closure", "smile", "snarl", "lip_pucker")
OCULAR_TASKS = ("smile", "snarl", "lip_pucker")
ORAL_TASKS = ("gentle_eye_closure",)  # a squeeze pulls healthy mouths too; Sunnybrook rates gentle closure
SYMMETRIC_BELOW = 0.12  # mean shortfall of the weaker side under which the face is called symmetric
OCULAR_SYNK = 0.15  # extra eye narrowing (fraction of aperture) of the affected side
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


def affected_side(tasks: dict[str, Any]) -> tuple[str, float]:
    """Side with less movement over the performed tasks, and its mean shortfall (0..1)."""
    rel = {s: [] for s in SIDES}
    for t in tasks.values():
        if not t.get("graded"):
            continue
        exc = t["excursion"]
        strong = max(exc.values())
        for s in SIDES:
            rel[s].append(max(exc[s], 0) / strong)
    mean = {s: _mean(rel[s]) for s in SIDES}
    if not np.isfinite(mean["left"]):
        return "none", 0.0
    side = min(SIDES, key=lambda s: mean[s])
    return side, 1.0 - mean[side]


def _ratio(tasks: dict[str, Any], task: str, side: str) -> float | None:
    t = tasks.get(task)
    if not t or not t.get("graded"):
        return None
    exc = t["excursion"]
    other = exc[_other(side)]
    if other <= 0:
        return None
    return float(np.clip(max(exc[side], 0) / other, 0, 1))


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
                         "level": _synk_level(excess, (OCULAR_SYNK, 0.3, 0.5))}
        elif name in ORAL_TASKS:
            excess = co["corner_move_mm"][side] - co["corner_move_mm"][o]
            per[name] = {"kind": "oral", "excess": round(float(excess), 3), "unit": "mm",
                         "level": _synk_level(excess, (ORAL_SYNK_MM, 4.0, 5.5))}
    ocular = any(v["kind"] == "ocular" and v["level"] > 0 for k, v in per.items() if k != "brow_raise")
    oral = any(v["kind"] == "oral" and v["level"] > 0 for v in per.values())
    return {"side": side, "ocular": ocular, "oral": oral, "detected": ocular or oral, "per_expression": per,
            "method": "affected side's eye narrowing in smile/snarl/pucker, and commissure movement in "
                      f"eye closure, beyond the other side's (thresholds {OCULAR_SYNK} and {ORAL_SYNK_MM} mm)"}


def house_brackmann(ratios: dict[str, float | None], synk: dict[str, Any], side: str | None = None,
                    closure: dict[str, float] | None = None) -> dict[str, Any]:
    """``closure``: per side, the fraction of the eye closed at maximal effort."""
    brow, mouth = ratios.get("brow_raise"), _mean([ratios.get("smile"), ratios.get("snarl")])
    if brow is None or not np.isfinite(mouth):
        return {"grade": None, "reason": "brow raise or smile was not measured"}
    points = int(round(4 * brow + 4 * mouth))
    grade = {8: 1, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5, 0: 6}[points]
    reasons = [f"brow movement {brow:.0%} and commissure movement {mouth:.0%} of the other side: "
               f"{points}/8 points (House & Brackmann 1985)"]
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


def forehead_sparing(ratios: dict[str, float | None]) -> dict[str, Any]:
    brow = ratios.get("brow_raise")
    lower = _mean([ratios.get("smile"), ratios.get("snarl"), ratios.get("lip_pucker")])
    if brow is None or not np.isfinite(lower):
        return {"detected": False, "reason": "brow raise or the mouth tasks were not measured"}
    detected = bool(brow >= 0.75 and lower <= 0.8 and brow - lower >= 0.2)
    return {"detected": detected, "brow_ratio": round(brow, 3), "lower_face_ratio": round(lower, 3),
            "rule": "brow moves >= 75 % of the other side while the mouth moves <= 80 % and at least "
                    "20 points less than the brow"}


def grade_exam(measures: dict[str, Any]) -> dict[str, Any]:
    """See the module's shape contract."""
    tasks, rest = measures["tasks"], measures["rest"]
    side, shortfall = affected_side(tasks)
    if side == "none":
        return {"weaker_side": "none", "affected_side": None, "notes": ["no task movement was measured"]}
    ratios = {name: _ratio(tasks, name, side) for name in tasks}
    synk = synkinesis(tasks, side)
    fs = forehead_sparing(ratios)
    weaker = side if shortfall >= SYMMETRIC_BELOW else "none"
    central = bool(fs["detected"] and weaker != "none")
    notes = []
    if central:
        notes.append("The forehead moves while the lower face is weak: a central pattern (for example a "
                     "stroke). This needs urgent medical evaluation.")
    missing = [t for t in SB_EXPRESSIONS if ratios.get(t) is None]
    if missing:
        notes.append("not measured (not performed or face not visible): " + ", ".join(missing))
    return {
        "weaker_side": weaker,
        "affected_side": side,
        "asymmetry": round(shortfall, 3),
        "ratios": {k: (round(v, 3) if v is not None else None) for k, v in ratios.items()},
        "grades": {"house_brackmann": house_brackmann(ratios, synk, side,
                                                      tasks.get("tight_eye_closure", {}).get("excursion")),
                   "sunnybrook": sunnybrook(rest, ratios, synk, side),
                   "eface": eface(rest, ratios, synk, side)},
        "synkinesis": synk,
        "forehead_sparing": {**fs, "detected": central},
        "central_pattern": central,
        "notes": notes,
    }
