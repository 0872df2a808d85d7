"""Passwords (argon2), login sessions, CSRF tokens and the login rate limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time

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


def password_problem(password: str, email: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if password.lower() in (email.lower(), email.split("@")[0].lower()):
        return "the password must not be your e-mail address"
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(db: Session, user: User, days: int) -> str:
    """Store a login session and return the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    db.add(AuthSession(id=_digest(token), user_id=user.id,
                       expires_at=utcnow() + dt.timedelta(days=days)))
    db.execute(delete(AuthSession).where(AuthSession.expires_at < utcnow()))
    db.commit()
    return token


def session_user(db: Session, token: str | None) -> User | None:
    if not token:
        return None
    s = db.scalar(select(AuthSession).where(AuthSession.id == _digest(token)))
    if s is None or s.expires_at < utcnow() or not s.user.active:
        return None
    return s.user


def end_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(AuthSession).where(AuthSession.id == _digest(token)))
        db.commit()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie and submitted) and secrets.compare_digest(cookie, submitted)


class LoginLimiter:
    """Failed logins per account and per client address, over a moving window."""

    def __init__(self, per_account: str) -> None:
        self.account = parse(per_account)
        self.address = parse(f"{self.account.amount * 4}/{self.account.multiples} {self.account.GRANULARITY.name}")
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def allowed(self, email: str, address: str) -> bool:
        return (self.limiter.test(self.account, "acct", email.lower())
                and self.limiter.test(self.address, "addr", address))

    def failed(self, email: str, address: str) -> None:
        self.limiter.hit(self.account, "acct", email.lower())
        self.limiter.hit(self.address, "addr", address)

    def retry_after_s(self, email: str, address: str) -> int:
        resets = [self.limiter.get_window_stats(self.account, "acct", email.lower()).reset_time,
                  self.limiter.get_window_stats(self.address, "addr", address).reset_time]
        return max(1, int(max(resets) - time.time()))
