"""Landmark indices and the face-aligned frame.

Sides are the person's anatomical sides for an unmirrored video: MediaPipe's "right eye"
points (33, 133, 159, ...) lie on the image's left, which is the person's right.

Face-aligned frame: as in Emotrics, x runs along the line through the two eyes and y is
perpendicular to it, pointing down (towards the chin); distances measured in this frame do
not change when the head rolls. Unlike Emotrics (one photo, eyes open) the line goes
through the midpoints of each eye's corners, not the iris centres: in video the iris model
loses the pupil whenever the lids close, and an iris-based axis then rolls the whole face by
a few degrees in every blink, which looks like a one-sided cheek or mouth movement. In
primary gaze the two lines are parallel. The origin is the midpoint between the eyes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SideIndices:
    iris_center: int
    iris_ring: tuple[int, int, int, int]  # two horizontal then two vertical
    eye_outer: int
    eye_inner: int
    lid_upper: int
    lid_lower: int
    ear: tuple[int, int, int, int, int, int]  # p1..p6 of Soukupova & Cech
    brow: tuple[int, ...]
    mouth_corner: int
    cheek: tuple[int, ...]


RIGHT = SideIndices(
    iris_center=468, iris_ring=(469, 471, 470, 472), eye_outer=33, eye_inner=133,
    lid_upper=159, lid_lower=145, ear=(33, 160, 158, 133, 153, 144),
    brow=(63, 105, 66), mouth_corner=61, cheek=(50, 101, 205),
)
LEFT = SideIndices(
    iris_center=473, iris_ring=(474, 476, 475, 477), eye_outer=263, eye_inner=362,
    lid_upper=386, lid_lower=374, ear=(263, 387, 385, 362, 380, 373),
    brow=(293, 334, 296), mouth_corner=291, cheek=(280, 330, 425),
)
SIDES = {"left": LEFT, "right": RIGHT}
LIP_UPPER_INNER, LIP_LOWER_INNER = 13, 14
FOREHEAD, NOSE_BRIDGE, CHIN = 10, 168, 152
UPPER_FOREHEAD, NOSE_TIP = 151, 4  # neither the eyes nor the jaw move these
IN_FRAME_MARGIN = 0.02  # landmarks this far (a fraction of the picture) outside it still count


def in_frame(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """True per frame where the whole face lies in the picture: points [n, 478, >=2] px -> bool [n]
    (False where there is no face)."""
    xy = points[..., :2]
    mx, my = IN_FRAME_MARGIN * width, IN_FRAME_MARGIN * height
    with np.errstate(invalid="ignore"):
        return ((xy[..., 0].min(axis=-1) >= -mx) & (xy[..., 0].max(axis=-1) <= width + mx)
                & (xy[..., 1].min(axis=-1) >= -my) & (xy[..., 1].max(axis=-1) <= height + my))


def aligned_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin and 2x2 rotation of the face-aligned frame.

    points: float [n, 478, >=2] in pixels. Returns origin [n, 2] and R [n, 2, 2] whose rows
    are the x and y axes, so ``aligned = (p - origin) @ R.T``.
    """
    r = (points[:, RIGHT.eye_outer, :2] + points[:, RIGHT.eye_inner, :2]) / 2
    l_ = (points[:, LEFT.eye_outer, :2] + points[:, LEFT.eye_inner, :2]) / 2
    origin = (r + l_) / 2
    ex = l_ - r
    ex = ex / np.linalg.norm(ex, axis=1, keepdims=True)
    ey = np.stack([-ex[:, 1], ex[:, 0]], axis=1)
    return origin, np.stack([ex, ey], axis=1)


def align(points: np.ndarray) -> np.ndarray:
    """Points in the face-aligned frame: [n, 478, 2] pixels."""
    origin, rot = aligned_frame(points)
    return np.einsum("npk,njk->npj", points[:, :, :2] - origin[:, None, :], rot)


def head_pose_deg(points: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll in degrees, [n, 3], from FaceMesh's own 3-D points.

    yaw: positive when the person's left side is farther from the camera;
    pitch: positive when the chin is farther from the camera than the nose bridge (head
    tilted back); no neutral offset is removed, so a frontal face reads a few degrees;
    roll: positive when the line from the right to the left iris slopes down in the image.
    """
    v_eye = points[:, LEFT.eye_outer] - points[:, RIGHT.eye_outer]
    yaw = np.degrees(np.arctan2(v_eye[:, 2], np.hypot(v_eye[:, 0], v_eye[:, 1])))
    v_mid = points[:, CHIN] - points[:, NOSE_BRIDGE]
    pitch = np.degrees(np.arctan2(v_mid[:, 2], np.hypot(v_mid[:, 0], v_mid[:, 1])))
    v_iris = points[:, LEFT.iris_center, :2] - points[:, RIGHT.iris_center, :2]
    roll = np.degrees(np.arctan2(v_iris[:, 1], v_iris[:, 0]))
    return np.stack([yaw, pitch, roll], axis=1)


def nod_deg(points: np.ndarray) -> np.ndarray:
    """Head pitch in degrees, [n], from the forehead to the tip of the nose, points that
    neither the eyes nor the jaw move (positive: the nose's tip farther from the camera
    than the forehead, head tilted back). ``head_pose_deg``'s pitch hangs on the chin, which
    drops with the jaw, and FaceMesh's depth there shifts when the eyes close: for the head's
    own nodding, this one."""
    v = points[:, NOSE_TIP] - points[:, UPPER_FOREHEAD]
    return np.degrees(np.arctan2(v[:, 2], np.hypot(v[:, 0], v[:, 1])))
