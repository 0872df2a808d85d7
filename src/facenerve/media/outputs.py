"""Atomic output folders and JSON writing.

``write_atomically(out_dir, names, write)`` runs ``write(tmp)`` into a temporary sibling
folder, then moves what it wrote into ``out_dir``; a failed run leaves ``out_dir`` as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FacenerveError, InputError


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_json(obj: Any, path: Path) -> None:
    import json

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not np.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    path.write_text(json.dumps(clean(obj), indent=2, default=_json_default) + "\n")


class OutputDir:
    """Write outputs into a temporary folder, then move them into place all at once.

    A failed run leaves the destination as it was. Only files with our own output names are
    replaced; anything else the user keeps in the folder is left alone.
    """

    def __init__(self, out_dir: str | os.PathLike[str], names: tuple[str, ...]):
        self.out = Path(out_dir)
        self.names = names
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"{self.out} exists and is not a folder; choose another --out")
        parent = self.out.resolve().parent
        if not parent.exists():
            raise InputError(f"the folder {parent} does not exist; create it or choose another --out")
        if not os.access(parent, os.W_OK):
            raise InputError(f"cannot write in {parent}; choose another --out")
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.resolve().parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        try:
            if exc_type is None:
                self.out.mkdir(exist_ok=True)
                for name in self.names:  # stale outputs of an earlier run would mislead
                    if (self.out / name).exists() and not (self.tmp / name).exists():
                        (self.out / name).unlink()
                for item in self.tmp.iterdir():
                    dest = self.out / item.name
                    if dest.is_dir() and item.is_dir():
                        shutil.rmtree(dest)
                    os.replace(item, dest)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def write_atomically(out_dir: str | os.PathLike[str], names: tuple[str, ...],
                     write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp_folder)``, then move what it wrote into ``out_dir`` (see ``OutputDir``)."""
    try:
        with OutputDir(out_dir, names) as tmp:
            write(tmp)
    except OSError as err:
        raise FacenerveError(f"could not write the outputs to {out_dir}: {err.strerror or err}") from None
    return Path(out_dir)
