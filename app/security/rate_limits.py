"""Sign-in rate limits and where their counters live (no Flask: benchmarks and tests read them too).

Limits: 10 attempts a minute per client IP, and 5 failures per 15 minutes per account name (or per
session for the second factor and re-authentication). With ``VIGIL_REDIS_URL`` the counters are in
Redis, shared by every web worker, under a prefix derived from the database so that two
installations sharing a Redis never share counters.
"""

from __future__ import annotations

from limits import parse

from app.db import database_tag

IP_LIMIT = "10 per minute"
ACCOUNT_LIMIT = "5 per 15 minutes"
LIMIT_KEY_PREFIX = "vigil-limits"


def limit_key_prefix(database_url: str) -> str:
    """The key prefix of this installation's rate-limit counters."""
    return f"{LIMIT_KEY_PREFIX}-{database_tag(database_url)}"


def limit_keys_pattern(database_url: str) -> str:
    """A Redis ``SCAN`` pattern matching every rate-limit counter of this installation."""
    return f"*{limit_key_prefix(database_url)}/*"


def allowed(limit: str) -> int:
    """How many requests a limit string (``"10 per minute"``) lets through in its window."""
    return int(parse(limit).amount)
