"""Readers for ground-truth annotation files.

``read_tag``: the blinkingmatters.com ``.tag`` format used by the ZJU Eyeblink and Eyeblink8
sets. Data lines follow ``#start``, one per frame:
``frameID:blinkID:NF:LE_FC:LE_NV:RE_FC:RE_NV:F_X:F_Y:F_W:F_H:...``. ``frameID`` is the 0-based
index of the decoded frame. ``LE`` is the eye on the image's left, which is the person's
RIGHT eye in an unmirrored video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class TagAnnotation:
    n_frames: int  # highest frame index + 1
    blink_id: np.ndarray  # int [n_frames], -1 outside blinks
    closed_right: np.ndarray  # bool [n_frames]: the person's right eye fully closed
    closed_left: np.ndarray
    nonfrontal: np.ndarray  # bool
    annotated: np.ndarray  # bool: the frame has a line

    def blinks(self) -> list[tuple[int, int]]:
        """(first_frame, last_frame) of each annotated blink, in order."""
        out = []
        for bid in np.unique(self.blink_id[self.blink_id >= 0]):
            idx = np.flatnonzero(self.blink_id == bid)
            out.append((int(idx[0]), int(idx[-1])))
        return sorted(out)


def read_tag(path: str | Path) -> TagAnnotation:
    path = Path(path)
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}") from None
    try:
        start = next(i for i, line in enumerate(text) if line.strip() == "#start")
    except StopIteration:
        raise InputError(f"{path} is not a .tag annotation file (no '#start' line)") from None
    rows = []
    for lineno, line in enumerate(text[start + 1 :], start=start + 2):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < 7:
            raise InputError(f"{path}:{lineno}: expected at least 7 ':'-separated fields")
        try:
            rows.append((int(parts[0]), int(parts[1]), parts[2], parts[3], parts[5]))
        except ValueError:
            raise InputError(f"{path}:{lineno}: frame and blink ids must be whole numbers") from None
    if not rows:
        raise InputError(f"{path} has no annotated frames")
    n = max(r[0] for r in rows) + 1
    blink = np.full(n, -1, dtype=np.int32)
    cr = np.zeros(n, bool)
    cl = np.zeros(n, bool)
    nf = np.zeros(n, bool)
    ann = np.zeros(n, bool)
    for fid, bid, nonfront, le_fc, re_fc in rows:
        blink[fid] = bid
        cr[fid] = le_fc == "C"  # image-left eye = person's right
        cl[fid] = re_fc == "C"
        nf[fid] = nonfront == "N"
        ann[fid] = True
    return TagAnnotation(n, blink, cr, cl, nf, ann)
