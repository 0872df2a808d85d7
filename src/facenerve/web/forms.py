"""Reading form fields: each bad field gives one clear sentence (``FormError``)."""

from __future__ import annotations

import datetime as dt


class FormError(ValueError):
    pass


class Fields:
    """Reads a whole form, field by field, keeping what was typed and one message per bad
    field, so that a refused form is shown again with every value and every message.

    >>> f = Fields({"sleep": "30"}); f("sleep", number, "Sleep", 0, 24); f.errors
    {'sleep': 'Sleep must be a number between 0 and 24'}
    """

    def __init__(self, form) -> None:
        self.form = form
        self.values: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def __call__(self, name: str, read, *args, **kw):
        raw = self.form.get(name)
        self.values[name] = "" if raw is None else str(raw)
        try:
            return read(raw, *args, **kw)
        except FormError as err:
            self.errors[name] = str(err)
            return None


def text(value: str | None, label: str, max_len: int = 2000, required: bool = False) -> str:
    v = (value or "").strip()
    if required and not v:
        raise FormError(f"{label} is required")
    if len(v) > max_len:
        raise FormError(f"{label} is too long (at most {max_len} characters)")
    return v


def email(value: str | None) -> str:
    """An e-mail address by the standards' syntax (``email-validator``; nothing is looked up)."""
    from email_validator import EmailNotValidError, validate_email

    v = (value or "").strip().lower()
    try:
        if len(v) > 254:
            raise EmailNotValidError("too long")
        validate_email(v, check_deliverability=False)
    except EmailNotValidError:
        raise FormError("enter a valid e-mail address, like name@example.org") from None
    return v


def number(value: str | None, label: str, lo: float, hi: float, integer: bool = False) -> float | int | None:
    v = (value or "").strip().replace(",", ".")
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        raise FormError(f"{label} must be a number between {lo:g} and {hi:g}") from None
    if not (lo <= x <= hi) or (integer and x != int(x)):
        raise FormError(f"{label} must be {'a whole number' if integer else 'a number'} between {lo:g} and {hi:g}")
    return int(x) if integer else x


def day(value: str | None, label: str, required: bool = True, today: dt.date | None = None) -> dt.date | None:
    v = (value or "").strip()
    if not v:
        if required:
            raise FormError(f"{label} is required (YYYY-MM-DD)")
        return None
    try:
        d = dt.date.fromisoformat(v)
    except ValueError:
        raise FormError(f"{label} must be a date like 2026-03-14") from None
    today = today or dt.date.today()
    if d > today + dt.timedelta(days=1) or d.year < 1900:
        raise FormError(f"{label} cannot be in the future")
    return d


def choice(value: str | None, label: str, allowed) -> str:
    if value not in allowed:
        raise FormError(f"{label} must be one of: {', '.join(allowed)}")
    return value
