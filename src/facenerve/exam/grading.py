"""Palsy grades from the exam's task measures: House-Brackmann, Sunnybrook, eFACE-like,
synkinesis and forehead sparing, each with the sub-measures that produced it.

Shape contract
    in:  the dict of ``measures.task_measures`` (rest baseline, per-task excursions per side)
    out: dict, JSON-ready: ``weaker_side`` (left|right|none), ``affected_side`` (the side with less
         movement, graded even when the face is symmetric), ``weakness_z`` (per region, upper and
         lower, the evidence that the affected side moves less, in healthy faces' spread),
         ``ratios`` (affected/other per task),
         ``grades`` {house_brackmann, sunnybrook, eface}, ``synkinesis``, ``forehead_sparing``,
         ``central_pattern`` (bool) and ``notes``.

Methods (sources in ../shared/CLINICAL.md):
- Only graded tasks count (``measures``: enough effort on the stronger side, enough measurable,
  frontal footage); the others are listed with the reason.
- The affected side, and whether it is weaker than healthy faces are, from the evidence of each
  region (upper face, mouth): the inverse-variance weighted log(left/right) movement of its
  graded tasks, the variances those of healthy real faces per task (``HEALTHY_LOG_SPREAD``), as
  a z score. The side is that of the region with the stronger evidence; it is named weaker when
  its movement (below) is below normal or a region's z reaches ``Z_NAMED``.
- Healthy faces' own asymmetry is taken out first: per task, the affected side's movement as a
  fraction of the other's is divided by ``NORMAL_RATIO`` (the fraction healthy real faces reach,
  learned from ``evaluate real-exams``) and capped at 1 ("normal-scaled").
- House-Brackmann (House & Brackmann 1985) on its own 8-point scale, the points being 8 x the
  affected side's normal-scaled movement: the mean over the scale's three regions (forehead, eye,
  mouth; ``HB_REGIONS``) of each region's median over its graded tasks, so that one odd task does
  not decide and the mouth's three tasks do not outvote the forehead and the eye (healthy faces
  whose mouths read lopsided were III by a median over the tasks): I = 8, II = 7, III = 5-6,
  IV = 3-4, V = 1-2, VI = 0. Clinical
  modifiers of the scale description: incomplete closure at maximal effort (the affected eye
  closes less than ``EYE_CLOSED`` and less than 75 % of the other) means at least IV; a mouth
  weaker beyond healthy faces' differences (z ``Z_MOUTH_WEAK``: "slightly weak with maximum
  effort", judged with a smile or snarl graded) and noticeable synkinesis at least III, and that
  mouth at least IV ("asymmetric mouth with maximum effort") when its smile and snarl score
  ``MOUTH_IV_POINTS`` or fewer on the scale's own points (a central palsy's moving forehead keeps
  the face's mean near normal); any
  difference beyond them at least II. Without a smile or snarl graded, a grade of I or II is
  not given: the scale's mouth is the commissure's, and a pucker alone cannot show it weak.
- Sunnybrook (Ross 1996): resting symmetry (eye, cheek, mouth) x5, voluntary movement of the five
  expressions scored 1-5 from the normal-scaled ratio, x4; synkinesis 0-3 per expression;
  composite = voluntary - resting - synkinesis.
- eFACE-like (Banks 2015; auto-eFACE): static items 100 - |100 - L/R ratio %| beyond a small
  tolerance for normal asymmetry (commissure position from its height difference in mm, since a
  ratio of 70 mm distances hides a droop);
  dynamic items = normal-scaled ratio x 100; synkinesis items from the palpebral fissure during
  smile and pucker (ocular) and the commissure during gentle eye closure (oral).
- Forehead sparing (a central pattern) only on clear evidence: the brow moves normally by each
  of its measures while the mouth is "slightly weak with maximum effort" beyond healthy faces'
  differences and its evidence of weakness clearly exceeds the upper face's; the figures (both
  regions' z, the brow by each measure, the per-task ratios) are given with the flag.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .protocol import LIPS_MOVED_MM, MIN_EFFORT, task_label

SIDES = ("left", "right")
SB_EXPRESSIONS = ("brow_raise", "gentle_eye_closure", "smile", "snarl", "lip_pucker")
OCULAR_TASKS = ("smile", "snarl", "lip_pucker")
ORAL_TASKS = ("gentle_eye_closure",)  # a squeeze pulls healthy mouths too; Sunnybrook rates gentle closure
# Healthy faces move their two sides alike only roughly: in real exams of healthy people (exam
# tasks cut from ../shared/data/natural, ``evaluate real-exams``) the weaker side's movement is
# a median 93 % of the other's per task, its lower quartile 83 % (photos and video; an earlier
# cut of the clips, with frames caught between expressions: 88 and 78 % by photos).
# Movement at or above this fraction of the other side's counts as normal; below it, as weakness.
NORMAL_RATIO = 0.8
UPPER_FACE = ("brow_raise", "gentle_eye_closure", "tight_eye_closure")
LOWER_FACE = ("smile", "snarl", "lip_pucker")
HB_REGIONS = {"forehead": ("brow_raise",), "eye": ("gentle_eye_closure", "tight_eye_closure"),
              "mouth": LOWER_FACE}
# Forehead sparing (a central pattern), on clear evidence only: the brow moves normally, at least
# SPARED of normal by each of its measures, while the mouth is weak beyond "slightly weak with
# maximum effort" (``side_evidence`` z from Z_MOUTH_WEAK) and its evidence of weakness is at least
# CENTRAL_OVER_UPPER times the upper face's (eye closure may be mildly weak in a central palsy).
# A forehead spared while the lower face is weak is a central cause until proven otherwise
# (../shared/CLINICAL.md). In weakness injected into real faces (``evaluate real-exams``) this
# flags 29.2 % of the central cases (70 % at full weakness; 39 % of an earlier injection while
# healthy spreads came from one photo per face, which flagged 5 of 69 retaken healthy photo
# sets), no healthy exam and no peripheral palsy.
# CENTRAL_OVER_UPPER was 1.5 while the mouth's healthy spreads were a third smaller (one photo
# per face): the same weak mouth now reads a third lower z against an eye closure's unchanged
# spread (a rendered central palsy, mouth still and eye closing 60 % of the other: 6.4 against
# 4.3). No real exam's flag depends on it between 1.0 and 1.5.
SPARED = 0.9
CENTRAL_OVER_UPPER = 1.25
COMMISSURE = ("smile", "snarl")
# a mouth weaker than healthy faces' differences by this z is "slightly weak with maximum effort"
# (House-Brackmann III): healthy real exams reach 3.08 (``evaluate real-exams``, both cuts, the
# photo sets retaken included: SkyReels' and StyleTalk andrew's mouths in one retake each)
Z_MOUTH_WEAK = 3.5
MOUTH_IV_POINTS = 4  # ... and on the scale's points (of 8) for the mouth alone, IV at this or fewer
# Synkinesis, on clear evidence only, and only with a movement made as asked (a graded task):
# in the smiles, snarls and puckers where it is assessed, healthy real exams (``evaluate
# real-exams``, both cuts, 115 exams with the retaken photo sets) narrow the affected eye at most
# 0.19 of its opening more than the other (0.10 without the retakes), and the 508 exams with
# weakness but no synkinesis injected at most 0.22 (0.32 in a healthy snarl too slight to grade,
# not assessed); their commissures move up to 2.56 mm more on one side than the other in gentle
# eye closure with the mouth at rest (StyleTalk Obama, one retake; 2.41 LivePortrait d9's
# photo), and 2.66 mm with weakness injected (d9). The cut was 2.5 mm, from a cut of the clips
# whose healthy exams reached 1.8: Obama's retake was graded III, synkinesis, on a side picked
# by a z of 0.01
OCULAR_SYNK = 0.3  # extra eye narrowing (fraction of aperture) of the affected side
ORAL_SYNK_MM = 3.0  # extra commissure movement (mm) of the affected side
# ... assessed only with the mouth at rest: where the lips part or close by more than this (mm,
# 90th percentile over the task) the mouth moved on its own (speech, an expression) and its
# corners with it. Still mouths in eye closure moved their lips 0.1-0.3 mm (healthy real exams)
# and at most 1.2 mm (rendered exams, oral synkinesis included); a healthy woman talking through
# her blink (Wav2Lip kim, ``evaluate real-exams --any-smile``) parted them 11 mm, her corners
# moving 6.7 and 9.7 mm; 6 of the 9 healthy real exams with a gentle closure (clips of people
# talking, not exams) moved them 3-20 mm in it. The cut is ``protocol.LIPS_MOVED_MM``, which
# also tells a mouth opened for a smile or snarl from one that rests open.
# Normal faces are not perfectly symmetric. Static eFACE-like items deduct only the asymmetry
# beyond this (the measurement noise plus normal variation seen on real normal faces, ZJU set).
STATIC_TOLERANCE_PCT = 5.0
COMMISSURE_TOLERANCE_MM = 1.0
EYE_CLOSED = 0.9  # an eye closed this far (fraction of its resting opening) at maximal effort is closed
HB_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def other_side(side: str) -> str:
    """The other side of the face."""
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


# How far healthy faces' two sides differ per task: the root mean square of log(left/right
# movement) in the healthy real exams of ``evaluate real-exams`` (its ``healthy_log_spread``:
# photos, video and each photo set retaken 3 times, at another size, tilt, place and light, as
# JPEG; each task cut at a still moment of it), the larger of two cuts of the same clips: posed
# smiles only (10 people, 50 exams) and any smile (13, 65; some caught mid-word). Without the
# retakes the smile's was 0.20: one photo's FaceMesh landmarks read a healthy smile as lopsided as
# 0.5 of the other side in one retake and 0.8 in another. Eye closure is floored at 0.1, its
# measure saturating when both lids meet. A side's evidence of weakness is judged against these,
# so that a pucker's usual lopsidedness weighs less than an eye that stays open.
# These came from an earlier cut, and are kept although the present cuts spread less in the mouth
# (smile 0.27 posed and 0.18 any smile, once laughs were no longer graded; snarl 0.30 and 0.31;
# pucker 0.33 and 0.46): graded against those, a mild peripheral palsy (0.25, SkyReels, whose
# healthy smile and snarl are lopsided the same way) was flagged central, a healthy mouth came to
# z 3.32 of the 3.5 that makes House-Brackmann III (StyleTalk Obama's, from its pucker alone),
# and the central flag rose only from 27.5 to 31.7 %.
HEALTHY_LOG_SPREAD = {"brow_raise": 0.22, "gentle_eye_closure": 0.12, "tight_eye_closure": 0.1,
                      "smile": 0.31, "snarl": 0.36, "lip_pucker": 0.55}
# evidence beyond what healthy faces show: a weaker side is named from this z (12 of the 115
# healthy real exams, retakes included, reach it in one region; House-Brackmann II, slight
# weakness, allows it)
Z_NAMED = 2.0
MIN_EXCURSION = 0.01  # below this a side's movement counts as this (log ratios stay finite)


def log_left_right(exc: dict[str, float]) -> float:
    """log(left/right) of a task's excursions, each at least ``MIN_EXCURSION``."""
    return float(np.log(max(exc["left"], MIN_EXCURSION) / max(exc["right"], MIN_EXCURSION)))


def side_evidence(tasks: dict[str, Any], spread: dict[str, float] | None = None) -> dict[str, float]:
    """Per region (upper face, mouth), the evidence that the left side moves less, as a z score
    (negative: the left moves less): the inverse-variance weighted mean of the graded tasks'
    log(left/right) movement, over ``spread`` (healthy faces' per task, ``HEALTHY_LOG_SPREAD``
    unless given), scaled to unit spread under health."""
    spread = spread or HEALTHY_LOG_SPREAD
    out = {}
    for region, names in (("upper", UPPER_FACE), ("lower", LOWER_FACE)):
        num = den = 0.0
        for name in names:
            t = tasks.get(name)
            if not (t and t.get("graded")):
                continue
            w = 1.0 / spread[name] ** 2
            num, den = num + w * log_left_right(t["excursion"]), den + w
        if den:
            out[region] = num / np.sqrt(den)
    return out


def affected_side(tasks: dict[str, Any], spread: dict[str, float] | None = None
                  ) -> tuple[str, float, dict[str, float]]:
    """The side that moves less, its movement and the evidence: the side is the sign of the
    region (upper face or mouth) with the stronger evidence (``side_evidence``), so that a weak
    mouth under a normal forehead (a central palsy) still names its side and a lopsided smile
    does not outvote an eye that stays open; the movement is that side's fraction of the
    other's, the mean over ``HB_REGIONS`` of each region's median over its graded tasks."""
    rel = relative_movement(tasks)
    z = side_evidence(tasks, spread)
    if not rel or not z:
        return "none", 1.0, z
    region = max(z, key=lambda k: abs(z[k]))
    side = "left" if z[region] < 0 else "right"
    by_region = [np.median([rel[t][side] for t in names if t in rel])
                 for names in HB_REGIONS.values() if any(t in rel for t in names)]
    return side, float(np.mean(by_region)), z


def normal_scaled(r: float | None) -> float | None:
    """A ratio of movement with healthy faces' own asymmetry taken out: ``NORMAL_RATIO`` and
    above count as 1 (normal), below it scales linearly to 0."""
    return None if r is None else float(min(1.0, r / NORMAL_RATIO))


def _side_ratio(exc: dict[str, float], side: str) -> float | None:
    """``side``'s movement as a fraction of the other side's (0..1); None when the other's is
    not a movement."""
    other = exc[other_side(side)]
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
    o = other_side(side)
    per: dict[str, Any] = {}
    for name, t in tasks.items():
        if "co_movement" not in t:
            continue
        co, label = t["co_movement"], task_label(name)
        if name in OCULAR_TASKS or name == "brow_raise":
            excess = co["eye_narrowing"][side] - co["eye_narrowing"][o]
            per[name] = {"kind": "ocular", "excess": round(float(excess), 3), "unit": "fraction of aperture",
                         "level": _synk_level(excess, (OCULAR_SYNK, 0.55, 0.7))}
            why = (f"both eyes were shut in the {label}, as in a laugh, so neither could narrow more than the other"
                   if min(co["eye_narrowing"].values()) >= EYE_CLOSED else None)
        elif name in ORAL_TASKS:
            excess = co["corner_move_mm"][side] - co["corner_move_mm"][o]
            per[name] = {"kind": "oral", "excess": round(float(excess), 3), "unit": "mm",
                         "level": _synk_level(excess, (ORAL_SYNK_MM, 4.5, 6.0))}
            lips = co.get("lips_moved_mm", 0.0)
            why = (f"the lips parted or closed {lips:.0f} mm during the eye closure (speech or an expression): "
                   "close the eyes with the mouth relaxed" if lips > LIPS_MOVED_MM else None)
        else:
            continue
        if why is None and not t.get("graded"):
            # co-movement with a movement that was not made as asked (too little of it, or the
            # mouth open as in speech or a laugh) is not evidence of misdirected regrowth
            why = f"the {label} itself was not graded, so what moved with it is not judged"
        if why:
            per[name].update(level=0, not_assessed=why)
    ocular = any(v["kind"] == "ocular" and v["level"] > 0 for k, v in per.items() if k != "brow_raise")
    oral = any(v["kind"] == "oral" and v["level"] > 0 for v in per.values())
    assessed = any("not_assessed" not in v for k, v in per.items() if k != "brow_raise")
    return {"side": side, "ocular": ocular, "oral": oral, "detected": ocular or oral, "assessed": assessed,
            "per_expression": per,
            "method": "affected side's eye narrowing in a graded smile/snarl/pucker, and commissure movement in a "
                      f"graded eye closure with the mouth at rest, beyond the other side's (thresholds {OCULAR_SYNK} "
                      f"and {ORAL_SYNK_MM} mm)"}


def synkinesis_word(synk: dict[str, Any]) -> str:
    """"yes", "no", or "not assessed" where no expression could show it or nothing was graded
    (summaries written before ``assessed`` existed count as assessed)."""
    if not synk:
        return "not assessed"
    return "yes" if synk.get("detected") else "no" if synk.get("assessed", True) else "not assessed"


def house_brackmann(movement: float, ratios: dict[str, float | None], synk: dict[str, Any],
                    side: str | None = None, closure: dict[str, float] | None = None,
                    weakness_z: dict[str, float] | None = None) -> dict[str, Any]:
    """``movement``: the affected side's fraction of the other's (``affected_side``);
    ``ratios``: per task (normal-scaled); ``closure``: per side, the fraction of the eye closed
    (``best_closure``); ``weakness_z``: ``side_evidence`` per region, positive where ``side``
    moves less (a difference beyond healthy faces' is slight weakness at least, a mouth weaker
    beyond them "slightly weak with maximum effort", III)."""
    graded = [k for k, v in ratios.items() if v is not None]
    if len(graded) < 3 or not set(graded) & set(UPPER_FACE) or not set(graded) & set(LOWER_FACE):
        return {"grade": None, "reason": "not graded: it needs at least three graded tasks, of the upper face "
                                         "(brow or eye closure) and of the mouth"}
    scaled = normal_scaled(movement)
    points = int(round(8 * scaled))
    grade = {8: 1, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5, 0: 6}[points]
    regions = [r for r, names in HB_REGIONS.items() if set(names) & set(graded)]
    reasons = [f"the {side} side moves {movement:.0%} of the other side over {', '.join(regions)} "
               f"({len(graded)} tasks; healthy faces: {NORMAL_RATIO:.0%} or more): {points}/8 points, the "
               "scale of House & Brackmann 1985 (I = 8, II = 7, III = 5-6, IV = 3-4, V = 1-2, VI = 0)"]
    weakness_z = weakness_z or {}
    evidence = max(weakness_z.values(), default=0.0)
    if grade == 1 and evidence >= Z_NAMED:
        grade = 2
        reasons.append(f"the sides differ more than healthy faces' do (z = {evidence:.1f}, from {Z_NAMED:g}): "
                       "slight weakness, II")
    eye = normal_scaled(_side_ratio(closure, side)) if closure and side else None
    # incomplete closure: the affected eye stays open where the other closes; a closure the
    # lid completes on both sides (FaceMesh may still read two-thirds) is not incomplete
    if eye is not None and eye < 0.75 and closure[side] < EYE_CLOSED and grade < 4:
        grade = 4
        reasons.append(f"incomplete eye closure at maximal effort (the {side} eye closes {closure[side]:.0%}, "
                       f"{eye:.0%} of the other): at least IV")
    # the scale's mouth is the smile's: a pucker alone, the task healthy faces make most
    # lopsided and FaceMesh follows least, does not make it "slightly weak" (``Z_MOUTH_WEAK``)
    corners = [ratios[t] for t in COMMISSURE if ratios.get(t) is not None]
    if weakness_z.get("lower", 0.0) >= Z_MOUTH_WEAK and corners:
        # the mouth graded on the scale's own points, as the whole face is: 4 of 8 or fewer
        # (under about 56 % of normal) is "asymmetric mouth with maximum effort", IV. A forehead
        # that still moves, as in a central palsy, keeps the face's mean movement near normal:
        # injected into real faces at full weakness, such mouths moving a fifth of the other
        # side were III
        mouth = float(np.mean(corners))
        at_least = 4 if round(8 * mouth) <= MOUTH_IV_POINTS else 3
        if grade < at_least:
            grade = at_least
            word = ("asymmetric mouth with maximum effort" if at_least == 4
                    else "slightly weak with maximum effort")
            reasons.append(f"the {side} side of the mouth is weaker than healthy faces' differ (z = "
                           f"{weakness_z['lower']:.1f}, from {Z_MOUTH_WEAK:g}) and moves {mouth:.0%} of normal "
                           f"in smile and snarl: {word}, at least {HB_ROMAN[at_least]}")
    if synk["detected"] and grade < 3:
        grade = 3
        reasons.append("noticeable synkinesis: at least III")
    # ... nor normal: a mouth fully weakened on one side of real faces (``evaluate real-exams``,
    # factor 1.0) still puckered a median 0.60 of the other side as measured (0.87 while the
    # injector held the corner short of rest), and central palsies
    # whose smile was not gradable (the lips apart) were graded I from forehead, eyes and pucker.
    # Weakness the other tasks show is still graded.
    if grade <= 2 and not set(graded) & set(COMMISSURE):
        return {"grade": None, "reason": "not graded: the graded tasks show no more than slight weakness, and "
                                         "a smile or snarl must be graded to call the mouth normal (a pucker "
                                         "alone cannot show its weakness); redo the smile with the lips closed "
                                         "or just parted"}
    return {"grade": grade, "roman": HB_ROMAN[grade], "points": points, "reasons": reasons}


def sunnybrook(rest: dict[str, Any], ratios: dict[str, float | None], synk: dict[str, Any],
               side: str) -> dict[str, Any]:
    o = other_side(side)
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
    o = other_side(side)

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
    ocular = [per[t]["excess"] for t in OCULAR_TASKS if t in per and "not_assessed" not in per[t]]
    oral = [per[t]["excess"] for t in ORAL_TASKS if t in per and "not_assessed" not in per[t]]
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


def best_closure(tasks: dict[str, Any]) -> dict[str, float] | None:
    """Per side, the most the eye closed in the graded closure tasks (gentle and tight; None
    without one). An eye seen closing fully in either can close: "incomplete closure at maximal
    effort" is judged on this, not on the squeeze alone, whose lids may read less closed than a
    gentle closure's (a rendered mild palsy, factor 0.8: gentle 1.0, tight 0.41, graded IV)."""
    exc = [t["excursion"] for name, t in tasks.items() if name in HB_REGIONS["eye"] and t.get("graded")]
    return {s: max(e[s] for e in exc) for s in SIDES} if exc else None


def _brow_by_each(tasks: dict[str, Any], side: str) -> dict[str, float]:
    """The brow raise's normal-scaled ratio by landmarks and by texture, where that measure saw
    the brow rise as far as a graded brow raise must on one side at least (FaceMesh's landmarks
    may follow a brow raise of 5 mm for under 1 mm on both sides: they cannot compare them)."""
    by = tasks.get("brow_raise", {}).get("co_movement", {}).get("brow_up_by", {})
    return {k: normal_scaled(r) for k, exc in by.items()
            if max(exc.values()) >= MIN_EFFORT["brow"] and (r := _side_ratio(exc, side)) is not None}


def forehead_sparing(ratios: dict[str, float | None], weakness_z: dict[str, float],
                     brow_by: dict[str, float] | None = None) -> dict[str, Any]:
    """Clear evidence only: the brow moves normally by each of its measures while the mouth is
    weak beyond healthy faces' differences and beyond the upper face (see ``SPARED``).
    ``weakness_z``: ``side_evidence`` per region, positive where the affected side moves less."""
    corners = {t: round(ratios[t], 3) for t in COMMISSURE if ratios.get(t) is not None}
    if ratios.get("brow_raise") is None or not corners or not {"upper", "lower"} <= set(weakness_z):
        return {"detected": False, "reason": "the brow raise and the smile or snarl must be graded"}
    # each of the brow's measures must see it move normally (texture and landmarks each fail by
    # missing a movement, so a weak brow shows in one of them at least)
    brow = min([ratios["brow_raise"], *(brow_by or {}).values()])
    upper, lower = weakness_z["upper"], weakness_z["lower"]
    detected = bool(brow >= SPARED and lower >= Z_MOUTH_WEAK and lower >= CENTRAL_OVER_UPPER * max(upper, 0.0))
    return {"detected": detected, "weakness_z": {"upper": round(upper, 2), "lower": round(lower, 2)},
            "brow_by_measure": {k: round(v, 3) for k, v in (brow_by or {}).items()},
            "upper_face": {t: round(ratios[t], 3) for t in UPPER_FACE if ratios.get(t) is not None},
            "mouth_corners": corners,
            "rule": f"the brow moves normally ({SPARED:.0%} or more of normal, by its landmarks and by its "
                    f"texture; normal = {NORMAL_RATIO:.0%} of the other side, as healthy faces) while the "
                    f"mouth is weaker than healthy faces differ (z {Z_MOUTH_WEAK:g} or more) and its evidence "
                    f"of weakness is at least {CENTRAL_OVER_UPPER:g} times the upper face's"}


def grade_exam(measures: dict[str, Any], spread: dict[str, float] | None = None) -> dict[str, Any]:
    """See the module's shape contract. ``spread``: healthy faces' log spread per task, for
    ``side_evidence`` (``HEALTHY_LOG_SPREAD`` unless given)."""
    tasks, rest = measures["tasks"], measures["rest"]
    side, movement, z = affected_side(tasks, spread)
    if side == "none":
        return {"weaker_side": "none", "affected_side": None, "notes": ["no task could be graded"]}
    raw = {name: _ratio(tasks, name, side) for name in tasks}
    ratios = {k: normal_scaled(v) for k, v in raw.items()}
    synk = synkinesis(tasks, side)
    weakness_z = {k: (-v if side == "left" else v) for k, v in z.items()}  # positive: the side moves less
    fs = forehead_sparing(ratios, weakness_z, _brow_by_each(tasks, side))
    # a difference beyond healthy faces' in one region (a weak mouth under a normal forehead, a
    # central palsy) is weakness even when the median over all tasks is normal
    evidence = max(weakness_z.values())
    weaker = side if normal_scaled(movement) < 1 or evidence >= Z_NAMED else "none"
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
        "weakness_z": {k: round(v, 2) for k, v in weakness_z.items()},
        "ratios": {k: (round(v, 3) if v is not None else None) for k, v in raw.items()},
        "normal_scaled_ratios": {k: (round(v, 3) if v is not None else None) for k, v in ratios.items()},
        "grades": {"house_brackmann": house_brackmann(movement, ratios, synk, side,
                                                      best_closure(tasks), weakness_z),
                   "sunnybrook": sunnybrook(rest, ratios, synk, side),
                   "eface": eface(rest, ratios, synk, side)},
        "synkinesis": synk,
        "forehead_sparing": {**fs, "detected": central},
        "central_pattern": central,
        "notes": notes,
    }
