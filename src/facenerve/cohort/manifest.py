"""A cohort's list of videos, from a folder or a manifest.

Shape contract
    ``load_manifest(INPUT)`` -> DataFrame, one row per video: ``id`` (stable: the file name and
    a hash of its path relative to INPUT), ``video`` (absolute path), ``kind`` (analyze | exam),
    ``tasks`` (exam task times file or empty), plus every other column of the manifest
    (subject, visit, group, side, date, ...) carried along unchanged.

INPUT is a folder, searched recursively for videos, or a manifest (CSV or Parquet) with a
``video`` column (paths relative to the manifest's folder, or absolute).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..media.video import VIDEO_SUFFIXES

KINDS = ("analyze", "exam")


def video_id(rel: str) -> str:
    """Stable id of a video: a readable stem and 8 hex digits of its relative path's hash."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(rel).stem)[:40] or "video"
    return f"{stem}-{hashlib.sha256(rel.encode()).hexdigest()[:8]}"


def _from_folder(folder: Path) -> pd.DataFrame:
    videos = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not videos:
        raise InputError(f"{folder} holds no video ({', '.join(VIDEO_SUFFIXES)}), in any subfolder")
    return pd.DataFrame({"video": [str(p.relative_to(folder)) for p in videos]})


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as err:  # noqa: BLE001 - any unreadable table is one user error
        raise InputError(f"cannot read the manifest {path}: {str(err).splitlines()[0][:200]}") from None


def load_manifest(source: str | Path) -> pd.DataFrame:
    """See the module's shape contract."""
    source = Path(source)
    if source.is_dir():
        base, df = source, _from_folder(source)
    elif source.is_file() and source.suffix.lower() in (".csv", ".parquet"):
        base, df = source.parent, _read_table(source)
        if "video" not in df.columns:
            raise InputError(f"the manifest {source} has no 'video' column; name the column of video paths 'video'")
    elif not source.exists():
        raise InputError(f"{source} does not exist; give a folder of videos or a manifest (.csv, .parquet)")
    else:
        raise InputError(f"{source} is neither a folder nor a manifest (.csv, .parquet)")
    df = df.copy()
    df["video"] = df["video"].astype(str).str.strip()
    if (df["video"] == "").any():
        raise InputError(f"the manifest {source} has rows without a video path")
    rel = df["video"]
    df["video"] = [str((base / v).resolve()) if not Path(v).is_absolute() else v for v in rel]
    if "kind" not in df.columns:
        df["kind"] = "analyze"
    df["kind"] = df["kind"].replace("", "analyze").astype(str)
    bad = sorted(set(df["kind"]) - set(KINDS))
    if bad:
        raise InputError(f"the manifest's 'kind' must be analyze or exam, not {', '.join(map(repr, bad[:3]))}")
    if "tasks" not in df.columns:
        df["tasks"] = ""
    df["tasks"] = [str((base / t).resolve()) if t and not Path(t).is_absolute() else t
                   for t in df["tasks"].fillna("").astype(str)]
    df.insert(0, "id", [video_id(v) for v in rel])
    if df["id"].duplicated().any():
        raise InputError(f"the manifest {source} names a video twice: {df.loc[df['id'].duplicated(), 'video'].iloc[0]}")
    return df.reset_index(drop=True)
