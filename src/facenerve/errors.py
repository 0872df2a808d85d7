"""Errors and warnings of our own.

Every error a user can cause (bad file, no face, bad answer) is a ``FacenerveError`` whose
message is one line saying what is wrong and what to do. The CLI prints that line and exits
non-zero without a traceback.
"""

from __future__ import annotations


class FacenerveError(Exception):
    """A problem the user can fix; ``str(err)`` is one line for them."""

    exit_code = 2


class InputError(FacenerveError):
    """The input file or value cannot be used."""


class NoFaceError(InputError):
    """No face was found in the video."""


class FacenerveWarning(UserWarning):
    """Something looks doubtful but the result is still produced."""
