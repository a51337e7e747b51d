"""Sign-in limits across gunicorn workers: bursts of wrong passwords, counted attempt by attempt.

Sequential bursts: each attempt is a new connection (GET the form for its CSRF token, POST a wrong
password), so the kernel hands the attempts to whichever worker accepts first, and the access log
says which one served each. With the limiter's counters in Redis the number of attempts that reach
the password check (answered 401) must equal the limit exactly, however many workers served the
burst; with per-process counters it would be up to the limit times the number of workers. A
parallel burst (attempts for one account from many addresses released at the same moment) checks
that attempts racing each other on different workers cannot all pass the failure count before one
is recorded: at most the limit gets through (an attempt arriving while another for the same account
is in flight is refused at once).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from app.bench.load_http import Client, in_threads
from app.bench.load_server import AccessRecord, Gunicorn
from app.security.rate_limits import ACCOUNT_LIMIT, IP_LIMIT, allowed

WRONG_PASSWORD = "not the password of anyone 31"  # noqa: S105 - deliberately wrong
ACCOUNT_BURST_ADDRESS = "127.2.0.1"
ADDRESS_BURST_ADDRESS = "127.2.0.2"
PARALLEL_ADDRESSES = tuple(f"127.2.1.{n}" for n in range(1, 21))
log = logging.getLogger("vigil.bench")


@dataclass(frozen=True)
class LimitCheck:
    name: str
    limit: int
    statuses: tuple[int, ...]
    workers: int  # distinct worker processes that served the attempts
    workers_needed: int
    # Sequential bursts must reach the limit exactly; in a parallel burst an attempt that arrives
    # while another for the same account is in flight is refused at once, so at most the limit.
    exact: bool = True

    @property
    def got_through(self) -> int:
        return self.statuses.count(401)

    @property
    def refused(self) -> int:
        return self.statuses.count(429)

    @property
    def unexpected(self) -> dict[int, int]:
        return {s: n for s, n in Counter(self.statuses).items() if s not in (401, 429)}

    @property
    def passed(self) -> bool:
        within = self.got_through == self.limit if self.exact else 1 <= self.got_through <= self.limit
        return (
            within
            and self.refused == len(self.statuses) - self.got_through
            and self.workers >= self.workers_needed
        )

    def line(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        odd = f", unexpected {self.unexpected}" if self.unexpected else ""
        return (
            f"{self.name}: {len(self.statuses)} attempts served by {self.workers} workers, "
            f"{self.got_through} got through ({'limit' if self.exact else 'at most'} {self.limit}), "
            f"{self.refused} refused{odd}: {verdict}"
        )


def burst(host: str, port: int, source: str, usernames: Sequence[str]) -> list[int]:
    """One wrong-password attempt per name, each on a new connection from ``source``."""
    statuses = []
    for username in usernames:
        client = Client(host, port, source)
        try:
            statuses.append(client.try_sign_in(username, WRONG_PASSWORD).status)
        finally:
            client.close()
    return statuses


def parallel_burst(host: str, port: int, sources: Sequence[str], username: str) -> list[int]:
    """One wrong-password attempt for ``username`` from each address, all sent at the same moment."""
    clients = [Client(host, port, source) for source in sources]
    try:
        tokens = [client.form_token() for client in clients]
        gate = threading.Barrier(len(clients))
        statuses: list[int] = []

        def attempt(pair: tuple[Client, str]) -> None:
            client, token = pair
            fields = {"username": username, "password": WRONG_PASSWORD, "csrf_token": token}
            gate.wait()
            try:
                statuses.append(client.post_form("/login", fields).status)
            except OSError as exc:
                statuses.append(0)  # a connection error: counted as unexpected
                log.warning("parallel sign-in attempt failed: %s", exc)

        in_threads(attempt, zip(clients, tokens, strict=True))
        return statuses
    finally:
        for client in clients:
            client.close()


def _workers_serving(records: Sequence[AccessRecord], sources: Collection[str]) -> int:
    return len({r.pid for r in records if r.address in sources and r.method == "POST" and r.path == "/login"})


def run_limit_checks(server: Gunicorn, accounts: Sequence[str], run_tag: str) -> list[LimitCheck]:
    """The bursts against the running server, then who served them, read from its access log."""
    account_limit, ip_limit = allowed(ACCOUNT_LIMIT), allowed(IP_LIMIT)
    host, port = "127.0.0.1", server.port
    # One existing account from one address: within the per-IP limit, beyond the per-account one.
    one_account = burst(host, port, ACCOUNT_BURST_ADDRESS, [accounts[0]] * ip_limit)
    # One address, a different (unknown) account each time: beyond the per-IP limit.
    names = [f"nobody-{run_tag}-{n}" for n in range(ip_limit + account_limit)]
    one_address = burst(host, port, ADDRESS_BURST_ADDRESS, names)
    # Another account from many addresses at once: the attempts race each other on every worker.
    parallel = parallel_burst(host, port, PARALLEL_ADDRESSES, accounts[1])
    records = server.access_records()
    needed = min(2, server.workers)
    return [
        LimitCheck(
            f"one account ({ACCOUNT_LIMIT}), one address",
            account_limit,
            tuple(one_account),
            _workers_serving(records, {ACCOUNT_BURST_ADDRESS}),
            needed,
        ),
        LimitCheck(
            f"one address ({IP_LIMIT}), a new account each time",
            ip_limit,
            tuple(one_address),
            _workers_serving(records, {ADDRESS_BURST_ADDRESS}),
            needed,
        ),
        LimitCheck(
            f"one account ({ACCOUNT_LIMIT}), {len(PARALLEL_ADDRESSES)} addresses in parallel",
            account_limit,
            tuple(parallel),
            _workers_serving(records, set(PARALLEL_ADDRESSES)),
            needed,
            exact=False,
        ),
    ]
