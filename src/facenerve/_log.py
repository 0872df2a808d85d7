"""The package logger. The library never prints; it logs and warns."""

from __future__ import annotations

import logging

logger = logging.getLogger("facenerve")
logger.addHandler(logging.NullHandler())
