"""Passwords (argon2, zxcvbn strength), e-mail syntax, login sessions, CSRF tokens bound to
the session (HMAC) and the login rate limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import AuthSession, User, utcnow

SESSION_COOKIE = "fn_session"
CSRF_COOKIE = "fn_csrf"
MIN_PASSWORD = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the account exists (no user enumeration by timing)."""
    if user is None:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


MIN_STRENGTH = 3  # zxcvbn score (0-4): 3 is "safely unguessable" against online attacks


def password_problem(password: str, email: str, name: str = "") -> str | None:
    """Why a new password is refused, or None: length, then guessability (zxcvbn, which knows
    common passwords, words, keyboard patterns and the person's own e-mail and name)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if len(password) > 200:
        return "the password is longer than 200 characters"
    if password.lower() in (email.lower(), email.split("@")[0].lower()):
        return "the password must not be your e-mail address"
    if zxcvbn(password, user_inputs=[email, email.split("@")[0], *name.split()])["score"] < MIN_STRENGTH:
        return ("the password is too easy to guess; use a few unrelated words or a longer phrase")
    return None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(db: Session, user: User, hours: float) -> str:
    """Store a login session and return the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(AuthSession(id=digest(token), user_id=user.id, expires_at=now + dt.timedelta(hours=hours),
                       last_seen_at=now))
    db.execute(delete(AuthSession).where(AuthSession.expires_at < now))
    db.commit()
    return token


TOUCH_S = 60  # the idle clock is written at most once a minute per session


def session_user(db: Session, token: str | None, idle_minutes: float | None = None) -> User | None:
    """The session's user, or None: unknown, expired, idle too long, or the account disabled."""
    if not token:
        return None
    s = db.scalar(select(AuthSession).where(AuthSession.id == digest(token)))
    if s is None or s.expires_at < utcnow() or not s.user.active:
        return None
    now = utcnow()
    seen = s.last_seen_at or s.created_at
    if idle_minutes is not None and now - seen > dt.timedelta(minutes=idle_minutes):
        db.delete(s)
        db.commit()
        return None
    if (now - seen).total_seconds() > TOUCH_S:
        s.last_seen_at = now
        db.commit()
    return s.user


def end_sessions(db: Session, user: User, keep: str | None = None) -> None:
    """Log a user out everywhere (but for the session ``keep``): after a password change, or
    when an account is disabled, so that enabling it again does not revive old sessions."""
    q = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep:
        q = q.where(AuthSession.id != digest(keep))
    db.execute(q)


def end_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(AuthSession).where(AuthSession.id == digest(token)))
        db.commit()


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_invitation_code() -> str:
    """A one-time code for an invitation, 40 bits, easy to read out: ``K7QP-2MXD``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def code_digest(code: str) -> str:
    return digest(code.strip().upper().replace("-", "").replace(" ", ""))


def load_secret(data_dir: Path) -> bytes:
    """The key that signs CSRF tokens: FACENERVE_SECRET_KEY, else ``secret.key`` in the data
    folder (made on first start, readable by this user only)."""
    env = os.environ.get("FACENERVE_SECRET_KEY")
    if env:
        return env.encode()
    path = Path(data_dir) / "secret.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def new_browser_id() -> str:
    """A random id for the anonymous browser (the CSRF cookie), until it logs in."""
    return secrets.token_urlsafe(24)


def csrf_binding(session_token: str | None, browser_id: str | None) -> str:
    """What a CSRF token is bound to: the login session, else the browser's id."""
    if session_token:
        return "s:" + digest(session_token)
    return "b:" + (browser_id or "")


def csrf_token(secret: bytes, binding: str) -> str:
    """A synchronizer token: a nonce and its HMAC with the binding. Another site cannot make
    one, even if it can set cookies for this host (another port)."""
    nonce = secrets.token_urlsafe(12)
    mac = hmac.new(secret, f"{nonce}|{binding}".encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{mac}"


def csrf_ok(secret: bytes, binding: str, submitted: str | None) -> bool:
    if not submitted or binding in ("b:", "s:") or submitted.count(".") != 1:
        return False
    nonce, mac = submitted.split(".")
    want = hmac.new(secret, f"{nonce}|{binding}".encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want.encode(), mac.encode("utf-8", "replace"))


class LoginLimiter:
    """Failed logins per account and per client address, over a moving window. The address
    allows 20 times the account's failures: several people behind one address (a clinic's
    network, or every local user on 127.0.0.1) are not locked out by one of them."""

    def __init__(self, per_account: str) -> None:
        self.account = parse(per_account)
        self.address = parse(f"{self.account.amount * 20}/{self.account.multiples} {self.account.GRANULARITY.name}")
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def allowed(self, email: str, address: str) -> bool:
        return (self.limiter.test(self.account, "acct", email.lower())
                and self.limiter.test(self.address, "addr", address))

    def failed(self, email: str, address: str) -> None:
        self.limiter.hit(self.account, "acct", email.lower())
        self.limiter.hit(self.address, "addr", address)

    def spend(self, rate: str, *keys: str) -> bool:
        """One more of something limited to ``rate`` (e.g. ``20/day``) for ``keys``; False
        once the limit is reached."""
        return self.limiter.hit(parse(rate), *keys)

    def retry_after_s(self, email: str, address: str) -> int:
        resets = [self.limiter.get_window_stats(self.account, "acct", email.lower()).reset_time,
                  self.limiter.get_window_stats(self.address, "addr", address).reset_time]
        return max(1, int(max(resets) - time.time()))
