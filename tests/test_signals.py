"""Signals stage on synthetic landmarks: geometry, units, head-roll invariance, NaN rows."""

import numpy as np
import pytest

from facenerve.measure.geometry import LEFT, RIGHT
from facenerve.measure.signals import measure_px, to_signals
from facenerve.settings import AnalysisSettings


def synthetic_face(n: int = 5, aperture: float = 10.0) -> np.ndarray:
    """A crude frontal face in pixels: eyes 60 px apart, iris 12 px wide."""
    rng = np.random.default_rng(0)
    pts = np.zeros((n, 478, 3))
    pts[:, :, 0] = 100 + rng.uniform(0, 60, 478)
    pts[:, :, 1] = 100 + rng.uniform(0, 80, 478)
    for ix, cx in ((RIGHT, 100.0), (LEFT, 160.0)):
        cy = 100.0
        pts[:, ix.iris_center, :2] = (cx, cy)
        for k, (dx, dy) in zip(ix.iris_ring, [(6, 0), (-6, 0), (0, -6), (0, 6)], strict=True):
            pts[:, k, :2] = (cx + dx, cy + dy)
        outer = cx - 15 if ix is RIGHT else cx + 15
        inner = cx + 15 if ix is RIGHT else cx - 15
        pts[:, ix.eye_outer, :2] = (outer, cy)
        pts[:, ix.eye_inner, :2] = (inner, cy)
        pts[:, ix.lid_upper, :2] = (cx, cy - aperture / 2)
        pts[:, ix.lid_lower, :2] = (cx, cy + aperture / 2)
        p1, p2, p3, p4, p5, p6 = ix.ear
        pts[:, p2, :2] = (cx - 5, cy - aperture / 2)
        pts[:, p3, :2] = (cx + 5, cy - aperture / 2)
        pts[:, p5, :2] = (cx + 5, cy + aperture / 2)
        pts[:, p6, :2] = (cx - 5, cy + aperture / 2)
        for b in ix.brow:
            pts[:, b, :2] = (cx, cy - 30)
        pts[:, ix.mouth_corner, :2] = (cx, cy + 70)
    return pts


def rotate(pts: np.ndarray, deg: float, center=(130.0, 130.0)) -> np.ndarray:
    th = np.radians(deg)
    r = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    out = pts.copy()
    out[:, :, :2] = (pts[:, :, :2] - center) @ r.T + center
    return out


def test_measures_in_pixels():
    px = measure_px(synthetic_face(aperture=10))
    assert px["eye_aperture_left"] == pytest.approx(10)
    assert px["mrd1_right"] == pytest.approx(5)
    assert px["fissure_width_left"] == pytest.approx(30)
    assert px["brow_height_left"] == pytest.approx(30)
    assert px["iris_diameter_px"] == pytest.approx(12)
    assert px["ipd_px"] == pytest.approx(60)
    assert px["ear_left"] == pytest.approx(10 / 30)


def test_head_roll_does_not_change_measures():
    a = measure_px(synthetic_face())
    b = measure_px(rotate(synthetic_face(), 20))
    for k in ("eye_aperture_left", "brow_height_right", "mouth_corner_drop_left", "fissure_width_right"):
        assert b[k] == pytest.approx(a[k], abs=1e-6), k
    assert b["head_roll_deg"] == pytest.approx(20, abs=1e-6)


def test_millimetres_from_iris_and_nan_rows():
    pts = synthetic_face(n=40)
    pts[10:15] = np.nan  # the face leaves for five frames
    px = measure_px(pts)
    n = len(pts)
    sig, cal = to_signals(px, np.arange(n), np.arange(n) / 30, np.ones(n), 30.0, AnalysisSettings())
    assert len(sig) == n
    assert sig.loc[10:14, "eye_aperture_left_mm"].isna().all()
    assert not sig.loc[10:14, "face_detected"].any()
    assert sig["frame"].tolist() == list(range(n))
    # iris 12 px = 11.77 mm, so 10 px of aperture is 10 * 11.77 / 12 mm
    assert sig.loc[0, "eye_aperture_left_mm"] == pytest.approx(10 * 11.77 / 12, rel=1e-4)
    assert cal.ipd_mm_median == pytest.approx(60 * 11.77 / 12, rel=1e-4)


def test_shape_contract_is_enforced():
    with pytest.raises(ValueError, match="478"):
        measure_px(np.zeros((3, 468, 3)))
