"""Settings of the web app: where its data lives, which database, limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

DEFAULT_MAX_UPLOAD_MB = 500


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(os.environ.get("FACENERVE_DATA_DIR") or user_data_dir("facenerve", appauthor=False))


@dataclass
class WebConfig:
    """``data_dir`` holds the SQLite database (unless ``database_url`` names another), the
    videos (``media/``) and the analysis outputs (``results/``)."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    workers: int = 1  # analysis workers started with the app; 0 runs none (use `facenerve worker`)
    secure_cookies: bool = False  # set behind HTTPS
    login_attempts: str = "5/minute"  # failed logins allowed per account, and x4 per address
    session_hours: float = 12.0  # a login lasts at most this long (ASVS 3.3.2, level 2)...
    idle_minutes: float = 30.0  # ...and ends after this long without a request
    # Host header names answered (others get 400): where the app is reached from
    allowed_hosts: list[str] = field(default_factory=lambda: ["localhost", "127.0.0.1", "::1"])
    stale_job_s: float = 30.0  # a running job with no heartbeat for this long is picked up again

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise InputError(f"--data-dir {self.data_dir} is a file; give a folder (it is created if missing)")
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / 'facenerve.db'}"
        if not (self.database_url.startswith("sqlite") or self.database_url.startswith("postgresql")):
            raise InputError("--database-url must be sqlite:///FILE or postgresql+psycopg://USER:PASS@HOST/DB")
        if self.max_upload_mb <= 0:
            raise InputError("the upload limit must be a positive number of megabytes")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    def prepare(self) -> None:
        for d in (self.data_dir, self.media_dir, self.results_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)  # health data: this user only
