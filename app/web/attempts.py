"""One sign-in attempt at a time per account (and per session for codes), across every web worker.

Flask-Limiter checks a limit that counts only failures ("5 failures per 15 minutes per account")
before the view and records the failure after it. Attempts sent in parallel therefore all pass the
check before any failure is recorded: 20 parallel wrong passwords for one account, on 4 gunicorn
workers sharing Redis, got 9 guesses through a limit of 5. Holding a lock on the limit's key from
before the check until after the failure is recorded makes the count exact, and also serializes
the database lockout's read-modify-write of the account's failure counter.

With Redis the lock is a Redis lock (it expires, so a killed worker cannot wedge an account); in
the embedded single-process default it is one of a fixed set of thread locks picked by the key's
hash (a bounded set: the keys are names an attacker chooses). A second attempt for the same key
while one is in flight is refused at once with 429, without reaching the password check or
counting against any limit: waiting for the lock instead would let a burst of parallel attempts
for one account hold every server thread (a denial of service of the whole dashboard), while a
person signing in never sends two attempts at the same moment. So a parallel burst gets at most
the limit through, usually fewer.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask, abort, current_app, g, request
from redis import Redis
from redis.exceptions import LockError

from app.security.rate_limits import limit_key_prefix

LOCK_SECONDS = 30  # longest an attempt may hold its key (a dead worker's lock lapses after this)
STRIPES = 64
EXTENSION_KEY = "vigil.attempt_locks"


class _Lock(Protocol):
    def take(self) -> bool: ...

    def give_back(self) -> None: ...


class _ThreadLock:
    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock

    def take(self) -> bool:
        return self.lock.acquire(blocking=False)

    def give_back(self) -> None:
        self.lock.release()


class _RedisLock:
    def __init__(self, redis: Redis, name: str) -> None:
        self.lock = redis.lock(name, timeout=LOCK_SECONDS)

    def take(self) -> bool:
        return bool(self.lock.acquire(blocking=False))

    def give_back(self) -> None:
        with contextlib.suppress(LockError):  # held longer than LOCK_SECONDS: it has lapsed already
            self.lock.release()


class _Locks:
    """Where an installation's attempt locks live: Redis when configured, else this process."""

    def __init__(self, redis_url: str, database_url: str) -> None:
        self.redis = Redis.from_url(redis_url, socket_timeout=5) if redis_url else None
        self.prefix = f"{limit_key_prefix(database_url)}/attempt/"
        self.stripes = [threading.Lock() for _ in range(STRIPES)]

    def lock_for(self, key: str) -> _Lock:
        if self.redis is not None:
            return _RedisLock(self.redis, self.prefix + key)
        stripe = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % STRIPES
        return _ThreadLock(self.stripes[stripe])


def one_at_a_time(key_func: Callable[[], str]) -> Callable[[Any], Any]:
    """Wrap a rate-limited POST view (outside its limits) so attempts with one key run one by one."""

    def decorate(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method == "POST":
                lock = current_app.extensions[EXTENSION_KEY].lock_for(key_func())
                if not lock.take():
                    abort(429)
                g.setdefault("attempt_locks", []).append(lock)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    settings = app.config["VIGIL"]
    app.extensions[EXTENSION_KEY] = _Locks(settings.redis_url, settings.database_url)

    @app.teardown_request
    def _release(_exc: BaseException | None) -> None:
        # Teardown runs after every after_request function, so the limiter has recorded the failure.
        for lock in g.pop("attempt_locks", []):
            lock.give_back()
