"""The package logger, and a silencer for native (C++) log lines. The library never prints;
it logs and warns."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

logger = logging.getLogger("facenerve")
logger.addHandler(logging.NullHandler())


@contextlib.contextmanager
def native_stderr_silenced():
    """Send native (C++) log lines to /dev/null; Python's own stderr keeps working."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    py_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
            sys.stderr.close()
        sys.stderr = py_stderr
        os.dup2(saved, 2)
        os.close(saved)
