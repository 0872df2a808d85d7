"""Atomic output folders, JSON reading and writing, and tables as Parquet.

``write_atomically(out_dir, names, write)`` runs ``write(tmp)`` into a temporary sibling
folder, then moves what it wrote into ``out_dir``; a failed run leaves ``out_dir`` as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FacenerveError, InputError

if TYPE_CHECKING:
    import pandas as pd


PARQUET_ROWS = 16384  # rows per Parquet row group, converted to Arrow one group at a time


def write_parquet(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """``df`` (its index dropped) as Parquet, read back by ``pandas.read_parquet`` as
    ``df.to_parquet`` would write it, converted to Arrow one row group at a time: an hour's
    signals table is not copied whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pandas.api.types import is_object_dtype

    if any(is_object_dtype(dt) for dt in df.dtypes):  # a type read from the values: let pandas see them all
        df.to_parquet(path, index=False)
        return
    schema = pa.Schema.from_pandas(df.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for i in range(0, max(len(df), 1), PARQUET_ROWS):
            writer.write_table(pa.Table.from_pandas(df.iloc[i:i + PARQUET_ROWS], schema=schema,
                                                    preserve_index=False))


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """A JSON file the user gave, or one clear ``InputError`` saying what is wrong with it."""
    import json

    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} file {p} does not exist; check the file name")
    if not p.is_file():
        raise InputError(f"{what} file {p} is not a file; give the path of a JSON file")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{what} file {p} is not valid JSON ({str(err).splitlines()[0]}); "
                         "check it with a JSON validator") from None
    except RecursionError:
        raise InputError(f"{what} file {p} is nested too deeply to be {what}") from None
    except OSError as err:
        raise InputError(f"cannot read {what} file {p}: {err.strerror or err}") from None


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


LOCK_NAME = ".facenerve.lock"
LOCK_TRIES = 5  # a lock file removed as it was locked is tried again, this many times
RUN_MARK = ".facenerve-run"  # inside a temporary folder: what to do with it if a run is killed
JOURNAL = ".facenerve-commit.json"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the system
    cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


class OutputDir:
    """An output folder that is always wholly the old run's or wholly the new run's.

    ``with OutputDir(out) as tmp:`` checks the destination and takes a lock (before the long
    work: a folder that cannot be written, or that another run is writing, fails at once),
    and gives an empty temporary folder. When the block succeeds, the files written there
    replace the files of the same names in ``out`` in one step; files of other names (the
    user's own, or an earlier run's that this run does not write) are kept as they are. When
    it fails, ``out`` is left exactly as it was.

    Where the parent folder can be written and ``out`` is on the same filesystem (not a mount
    point), the new folder is built beside ``out`` and the two are swapped with one rename.
    Otherwise (``out`` is a mount point, or only ``out`` itself may be written) the new files
    are built inside ``out`` and moved in under a journal, which the next run completes if
    this one is killed half way.
    """

    def __init__(self, out_dir: str | os.PathLike[str]):
        self.out = Path(out_dir).absolute()
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"{self.out} exists and is not a folder; choose another --out")
        self.parent = self.out.parent
        if not self.parent.is_dir():
            raise InputError(f"the folder {self.parent} does not exist; create it or choose another --out")
        parent_ok = os.access(self.parent, os.W_OK | os.X_OK)
        if self.out.exists():
            if not os.access(self.out, os.W_OK | os.X_OK):
                raise InputError(f"cannot write in {self.out}; choose another --out")
            same_fs = self.out.stat().st_dev == self.parent.stat().st_dev
            # a mount point, or a link to a folder elsewhere, is written into, never replaced
            self.swap = parent_ok and same_fs and not os.path.ismount(self.out) and not self.out.is_symlink()
        elif parent_ok:
            self.swap = True
        else:
            raise InputError(f"cannot write in {self.parent}; choose another --out")
        self.tmp: Path | None = None
        self._lock = None

    # -- locking and recovery -------------------------------------------------------------
    def _lock_file(self) -> Path:
        return self.parent / f".{self.out.name}{LOCK_NAME}" if self.swap else self.out / LOCK_NAME

    def _take_lock(self) -> None:
        """Lock the lock file; it is removed when the run ends, so a lock taken on a file
        that was removed (or replaced) meanwhile is taken again on the one now there."""
        import fcntl

        where = self._lock_file()
        for _ in range(LOCK_TRIES):
            lock = open(where, "a")  # noqa: SIM115 - held until the run ends
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(lock.fileno()).st_ino == os.stat(where).st_ino:
                    self._lock = lock
                    return
            except FileNotFoundError:  # removed by the run that just ended: take the next
                continue
            except BlockingIOError:
                break
            finally:
                if self._lock is not lock:
                    lock.close()
        raise InputError(f"another facenerve run is writing to {self.out}; wait for it to "
                         "finish or choose another --out")

    def _journal(self) -> Path:
        return (self.parent / f".{self.out.name}{JOURNAL}") if self.swap else (self.out / JOURNAL)

    def _recover(self) -> None:
        """Finish or undo what a killed run left behind (only folders marked as ours)."""
        import json

        journal = self._journal()
        if self.swap:
            if journal.exists():
                job = json.loads(journal.read_text())
                tmp, old = self.parent / job["tmp"], self.parent / (job["tmp"] + "-old")
                if not self.out.exists() and old.exists():
                    os.rename(old, self.out)  # undo: the old folder goes back
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    # the swap happened where the old folder sits at tmp without our mark
                    done = old if old.exists() else tmp if tmp.exists() and not (tmp / RUN_MARK).exists() else None
                    if done is not None:
                        for name in job["after_swap"]:  # the user's folders come across
                            if (done / name).exists() and not (self.out / name).exists():
                                os.rename(done / name, self.out / name)
                        shutil.rmtree(done, ignore_errors=True)
                    shutil.rmtree(tmp, ignore_errors=True)  # not swapped: the new files go
                journal.unlink()
            for stale in self.parent.glob(f".{self.out.name}.tmp-*"):
                if (stale / RUN_MARK).exists():  # killed before its commit began
                    shutil.rmtree(stale, ignore_errors=True)
            if (self.out / RUN_MARK).exists():
                (self.out / RUN_MARK).unlink()
        elif journal.exists():
            job = json.loads(journal.read_text())
            tmp = self.out / job["tmp"]
            for name in job["names"]:
                if (tmp / name).exists():
                    os.replace(tmp / name, self.out / name)
            journal.unlink()
            shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self) -> Path:
        try:
            self._take_lock()
            self._recover()
            where = self.parent if self.swap else self.out
            prefix = f".{self.out.name}.tmp-" if self.swap else ".facenerve-tmp-"
            self.tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=where))
            (self.tmp / RUN_MARK).write_text("{}")
        except OSError as err:
            self._release()
            raise InputError(f"cannot write in {self.out}: {err.strerror or err}; choose another "
                             "--out") from None
        return self.tmp

    def _release(self) -> None:
        if self._lock is not None:  # nothing is left beside the user's folder
            self._lock_file().unlink(missing_ok=True)
            self._lock.close()
            self._lock = None

    # -- commit -----------------------------------------------------------------------------
    def _commit_swap(self, tmp: Path) -> None:
        import json

        if not self.out.exists():
            os.rename(tmp, self.out)
            (self.out / RUN_MARK).unlink()
            return
        after_swap = []
        for entry in os.scandir(self.out):
            if (tmp / entry.name).exists():
                continue  # replaced by this run's file of that name
            if entry.is_dir(follow_symlinks=False):
                after_swap.append(entry.name)
                continue
            try:  # the user's files come along as hard links: nothing is copied or moved
                os.link(entry.path, tmp / entry.name, follow_symlinks=False)
            except OSError:
                after_swap.append(entry.name)
        journal = self._journal()
        part = journal.with_name(journal.name + ".part")
        part.write_text(json.dumps({"tmp": tmp.name, "after_swap": after_swap}))
        os.replace(part, journal)  # from here on, a killed run is finished by the next
        if not _exchange(tmp, self.out):
            old = self.parent / f"{tmp.name}-old"
            os.rename(self.out, old)
            os.rename(tmp, self.out)
            os.rename(old, tmp)
        (self.out / RUN_MARK).unlink()
        for name in after_swap:  # the user's folders (and files that could not be linked)
            os.rename(tmp / name, self.out / name)
        shutil.rmtree(tmp)
        journal.unlink()

    def _commit_in_place(self, tmp: Path) -> None:
        import json

        names = [p.name for p in tmp.iterdir() if p.name != RUN_MARK]
        journal = self._journal()
        part = self.out / f"{JOURNAL}.part"
        part.write_text(json.dumps({"tmp": tmp.name, "names": names}))
        os.replace(part, journal)
        for name in names:
            os.replace(tmp / name, self.out / name)
        journal.unlink()
        shutil.rmtree(tmp)

    def __exit__(self, exc_type, exc, tb) -> None:
        tmp = self.tmp
        try:
            if exc_type is None and tmp is not None:
                (self._commit_swap if self.swap else self._commit_in_place)(tmp)
        except OSError as err:
            raise FacenerveError(f"could not write the outputs to {self.out}: {err.strerror or err}; "
                                 "the folder was left as it was") from None
        finally:
            if tmp is not None and tmp.exists() and exc_type is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            self._release()


def write_atomically(out_dir: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp_folder)``, then put what it wrote into ``out_dir`` (see ``OutputDir``)."""
    with OutputDir(out_dir) as tmp:
        write(tmp)
    return Path(out_dir)
