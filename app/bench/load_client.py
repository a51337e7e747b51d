"""The load generator of ``vigil bench load``: processes of signed-in users, outside the server.

Each client process signs its users in through the real form, warms up, reports ready, waits for
the common start signal and then drives a closed loop for the given time: every user is a thread
with its own keep-alive connection and sends its next request as soon as the previous answer has
been read (no think time). The mix is what the security team and CI do: findings lists with
various filters and their next pages, the dashboard over several windows, and the CI gate with an
API key. Every answer other than the expected status, and every connection error, is an error.
"""

from __future__ import annotations

import random
import resource
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from app.bench.load_http import Answer, Client, in_threads, next_page

KINDS = ("findings list", "findings next page", "dashboard", "API gate")
WEIGHTS = (35, 25, 20, 20)
WARMUP_KINDS = ("findings list", "dashboard", "API gate")  # templates compiled, pools filled
FINDINGS_FILTERS = (
    "",
    "severity=high",
    "severity=critical&status=any",
    "scanner=bandit",
    "category=dependency&sort=-first_seen",
    "status=fixed&sort=first_seen",
    "sort=severity",
    "rule=B105",
    "path=src/pkg7/",
    "overdue=1",
)
DASHBOARD_WINDOWS = (30, 30, 90, 365)
GATE_THRESHOLDS = ("critical", "high", "medium")
MAX_ERROR_SAMPLES = 10


@dataclass(frozen=True)
class UserPlan:
    username: str
    password: str
    source: str
    project_ids: tuple[int, ...]


@dataclass(frozen=True)
class ClientPlan:
    """What one client process does; plain data so it crosses a spawn boundary."""

    index: int
    host: str
    port: int
    users: tuple[UserPlan, ...]
    api_key: str
    gate_project_ids: tuple[int, ...]
    seconds: float
    warmup_requests: int = 3


@dataclass
class ClientResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    error_samples: list[str] = field(default_factory=list)
    sign_in_ms: list[float] = field(default_factory=list)
    reconnects: int = 0
    cpu_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, kind: str, ms: float, error: str | None) -> None:
        with self._lock:
            self.latencies[kind].append(ms)
            if error is not None:
                self.errors[kind] += 1
                if len(self.error_samples) < MAX_ERROR_SAMPLES:
                    self.error_samples.append(f"{kind}: {error}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "latencies": self.latencies,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "sign_in_ms": self.sign_in_ms,
            "reconnects": self.reconnects,
            "cpu_seconds": self.cpu_seconds,
        }


class VirtualUser:
    """One signed-in user and the API calls of a CI job, sharing one keep-alive connection."""

    def __init__(self, plan: ClientPlan, user: UserPlan, seed: int) -> None:
        self.plan, self.user = plan, user
        self.client = Client(plan.host, plan.port, user.source)
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible request mix, not a secret
        self.cursor: str | None = None

    def sign_in(self) -> float:
        started = time.perf_counter()
        self.client.sign_in(self.user.username, self.user.password)
        return (time.perf_counter() - started) * 1000

    def _findings_path(self) -> str:
        query = self.rng.choice(FINDINGS_FILTERS)
        if self.rng.random() < 0.3:
            project = f"project={self.rng.choice(self.user.project_ids)}"
            query = f"{query}&{project}" if query else project
        return f"/findings?{query}" if query else "/findings"

    def one_request(self, kind: str) -> tuple[str, Answer, bool]:
        """Send one request of the kind; returns the kind really sent, the answer and whether it is HTML."""
        if kind == "findings next page" and self.cursor is None:
            kind = "findings list"
        if kind == "findings list":
            htmx = {"HX-Request": "true"} if self.rng.random() < 0.5 else None
            answer = self.client.get(self._findings_path(), headers=htmx)
            self.cursor = next_page(answer)
        elif kind == "findings next page":
            assert self.cursor is not None
            answer = self.client.get(self.cursor, headers={"HX-Request": "true"})
            self.cursor = next_page(answer)
        elif kind == "dashboard":
            answer = self.client.get(f"/?days={self.rng.choice(DASHBOARD_WINDOWS)}")
        else:
            project = self.rng.choice(self.plan.gate_project_ids)
            path = f"/api/v1/projects/{project}/gate?fail_on={self.rng.choice(GATE_THRESHOLDS)}"
            auth = {"Authorization": f"Bearer {self.plan.api_key}", "Accept": "application/json"}
            return kind, self.client.get(path, headers=auth, cookies=False), False
        return kind, answer, True

    def timed(self, kind: str, result: ClientResult) -> None:
        started = time.perf_counter()
        error: str | None = None
        try:
            sent, answer, is_html = self.one_request(kind)
            if answer.status != 200:
                error = f"status {answer.status} {answer.location}".strip()
            elif is_html and b"Sign in to Vigil" in answer.body:
                error = "answered the sign-in page (session lost)"
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            sent, error = kind, f"{type(exc).__name__}: {exc}"
            self.cursor = None
        result.record(sent, (time.perf_counter() - started) * 1000, error)

    def drive(self, deadline: float, result: ClientResult) -> None:
        while time.monotonic() < deadline:
            self.timed(self.rng.choices(KINDS, WEIGHTS)[0], result)
        with result._lock:
            result.reconnects += self.client.reconnects
        self.client.close()


def client_process(plan: ClientPlan, start: Any, messages: Any) -> None:
    """Entry point of one client process: sign in, warm up, report ready, load, report results."""
    try:
        users = [VirtualUser(plan, u, seed=plan.index * 1000 + n) for n, u in enumerate(plan.users)]
        result = ClientResult()
        for user in users:
            result.sign_in_ms.append(user.sign_in())
        warm = ClientResult()
        for user in users:
            for _ in range(plan.warmup_requests):
                for kind in WARMUP_KINDS:
                    user.timed(kind, warm)
        for kind, count in warm.errors.items():  # errors count whenever they happen; timings do not
            result.errors[kind] += count
        result.error_samples += [f"warm-up, {sample}" for sample in warm.error_samples]
    except Exception:  # noqa: BLE001 - reported to the parent, which stops the run
        messages.put(("failed", plan.index, traceback.format_exc(limit=3)))
        return
    messages.put(("ready", plan.index, None))
    start.wait()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    deadline = time.monotonic() + plan.seconds
    in_threads(lambda u: u.drive(deadline, result), users)
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    messages.put(("done", plan.index, result.as_dict()))
