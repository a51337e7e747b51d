"""``vigil bench load``: the scaled deployment under load, end to end, with real processes.

A scratch PostgreSQL database is seeded with a realistic portfolio, users and a CI key are
created, and gunicorn serves it exactly as in production (several gthread workers, PostgreSQL,
Redis for the rate limits). Client processes sign users in through the real form and drive the
findings list, the dashboard and the CI gate for a fixed time; then bursts of wrong passwords show
whether the sign-in limits hold across workers. The run passes only with zero errors (any 5xx,
connection error or unexpected status) and exact limit counts. Everything it creates (database,
Redis counters, processes, files) is removed at the end.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import select, text

from app.bench.load_client import KINDS, ClientPlan, UserPlan, client_process
from app.bench.load_http import user_address
from app.bench.load_limits import LimitCheck, run_limit_checks
from app.bench.load_server import (
    Gunicorn,
    clear_limit_counters,
    cpu_seconds,
    postgres_backends,
    scratch_postgres,
)
from app.bench.seed import seed
from app.db import Database
from app.migrate import upgrade
from app.models import Project, Role
from app.security.passwords import generate_password
from app.services import api_keys
from app.services import users as user_service
from app.services.actor import Actor

SMALL_TEAM = 5  # projects of an analyst who is not on the whole portfolio


class LoadFailed(RuntimeError):
    """The load could not be driven at all (a client could not sign in, the server did not start)."""


@dataclass(frozen=True)
class LoadOptions:
    database_url: str  # a PostgreSQL server; the run creates and drops its own database there
    redis_url: str
    seconds: float = 60.0
    projects: int = 20
    findings: int = 100_000
    days: int = 90
    users: int = 16
    clients: int = 4
    workers: int = 4
    threads: int = 4


@dataclass(frozen=True)
class Setup:
    users: list[UserPlan]
    api_key: str
    project_ids: tuple[int, ...]
    limit_accounts: tuple[str, str]
    seeded: str


@dataclass(frozen=True)
class KindStats:
    name: str
    latencies: list[float]
    errors: int

    def pct(self, q: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


@dataclass
class LoadReport:
    options: LoadOptions
    database_url: str = ""  # the scratch database (dropped by the time the report is returned)
    versions: str = ""
    seeded: str = ""
    sign_in_ms: list[float] = field(default_factory=list)
    kinds: list[KindStats] = field(default_factory=list)
    elapsed: float = 0.0
    error_samples: list[str] = field(default_factory=list)
    reconnects: int = 0
    server_cpu: float = 0.0
    database_cpu: float = 0.0  # PostgreSQL backends serving the workers (same machine only)
    client_cpu: float = 0.0
    limit_checks: list[LimitCheck] = field(default_factory=list)
    server_problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(k.latencies) for k in self.kinds)

    @property
    def errors(self) -> int:
        return sum(k.errors for k in self.kinds)

    @property
    def failures(self) -> list[str]:
        reasons = [f"{self.errors} request errors"] if self.errors else []
        reasons += [f"limit check failed: {c.name}" for c in self.limit_checks if not c.passed]
        reasons += (
            [f"{len(self.server_problems)} worker failures in gunicorn's log"] if self.server_problems else []
        )
        return reasons + ([] if self.requests else ["no requests were made"])

    @property
    def passed(self) -> bool:
        return not self.failures


def _server_env(database_url: str, redis_url: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        VIGIL_ENV="production",
        VIGIL_SECRET_KEY=secrets.token_urlsafe(48),
        VIGIL_DATABASE_URL=database_url,
        VIGIL_REDIS_URL=redis_url,
        VIGIL_INSTANCE_PATH=str(folder / "instance"),
        VIGIL_WORK_DIR=str(folder / "work"),
        VIGIL_SCHEDULER_ENABLED="false",
        VIGIL_LOG_LEVEL="WARNING",
        # The account lockout in the database is a second, durable defence that also answers 429
        # after 5 failures; it is put out of reach so the limit checks see the shared limiter alone.
        VIGIL_LOGIN_LOCKOUT_FAILURES="100000",
    )
    return env


def prepare(database_url: str, options: LoadOptions, run_tag: str) -> Setup:
    """Schema, a seeded portfolio, analysts (some on every project, some on a few) and a gate key."""
    upgrade(database_url)
    database = Database(database_url)
    try:
        summary = seed(database, projects=options.projects, findings=options.findings, days=options.days)
        with database.engine.begin() as conn:  # committed: a rolled-back ANALYZE leaves no statistics
            conn.execute(text("ANALYZE"))
        actor = Actor.cli("bench")
        users: list[UserPlan] = []
        with database.transaction() as session:
            project_ids = tuple(session.scalars(select(Project.id).order_by(Project.id)))
            for n in range(options.users):
                team = [project_ids[(n + k) % len(project_ids)] for k in range(SMALL_TEAM)]
                visible = project_ids if n % 2 == 0 else tuple(sorted(set(team)))
                password = generate_password()
                name = f"analyst-{run_tag}-{n}"
                user_service.create_user(session, actor, username=name, password=password, role=Role.ANALYST)
                user_service.set_projects(session, actor, name, visible)
                users.append(UserPlan(name, password, user_address(n), tuple(visible)))
            limit_accounts = (f"target-{run_tag}", f"target2-{run_tag}")
            for name in limit_accounts:
                user_service.create_user(
                    session, actor, username=name, password=generate_password(), role=Role.ANALYST
                )
            key = api_keys.create(session, actor, name=f"load-{run_tag}", scopes=["gate"], expires_days=1)
            versions = session.scalar(text("SHOW server_version"))
    finally:
        database.dispose()
    seeded = (
        f"{summary.projects} projects, {summary.findings:,} findings, {summary.history:,} status-history "
        f"rows, {summary.snapshots:,} daily snapshot rows (PostgreSQL {versions})"
    )
    return Setup(users, key.secret, project_ids, limit_accounts, seeded)


def _plans(setup: Setup, options: LoadOptions, port: int) -> list[ClientPlan]:
    count = max(1, min(options.clients, len(setup.users)))
    return [
        ClientPlan(
            index=i,
            host="127.0.0.1",
            port=port,
            users=tuple(setup.users[i::count]),
            api_key=setup.api_key,
            gate_project_ids=setup.project_ids,
            seconds=options.seconds,
        )
        for i in range(count)
    ]


def _collect(messages: Any, processes: list[Any], kind: str, timeout: float) -> list[Any]:
    """Wait for every client process to report ``kind``; a process that died silently fails the run."""
    received: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    while len(received) < len(processes):
        if time.monotonic() > deadline:
            raise LoadFailed(
                f"only {len(received)} of {len(processes)} client processes were {kind!r} in time"
            )
        try:
            status, index, payload = messages.get(timeout=1.0)
        except queue.Empty:
            dead = [i for i, p in enumerate(processes) if i not in received and p.exitcode is not None]
            if dead:
                raise LoadFailed(
                    f"client process {dead[0]} exited with {processes[dead[0]].exitcode}"
                ) from None
            continue
        if status == "failed":
            raise LoadFailed(f"client process {index} failed:\n{payload}")
        if status == kind:
            received[index] = payload
    return list(received.values())


def drive(server: Gunicorn, setup: Setup, options: LoadOptions, report: LoadReport) -> None:
    """Client processes sign in and warm up, then all start together and load for the set time."""
    context = multiprocessing.get_context("spawn")
    start, messages = context.Event(), context.Queue()
    plans = _plans(setup, options, server.port)
    processes = [
        context.Process(target=client_process, args=(p, start, messages), daemon=True) for p in plans
    ]
    for process in processes:
        process.start()
    try:
        _collect(messages, processes, "ready", timeout=300 + 5 * options.users)
        # The workers' pooled connections; one opened during the load counts from its start.
        db_before = {pid: cpu_seconds([pid]) for pid in postgres_backends(report.database_url)}
        cpu_before, started = server.worker_cpu_seconds(), time.perf_counter()
        start.set()
        results = _collect(messages, processes, "done", timeout=options.seconds + 180)
        report.elapsed = time.perf_counter() - started
        report.server_cpu = server.worker_cpu_seconds() - cpu_before
        report.database_cpu = sum(
            cpu_seconds([pid]) - db_before.get(pid, 0.0) for pid in postgres_backends(report.database_url)
        )
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    for kind in KINDS:
        latencies = [ms for r in results for ms in r["latencies"][kind]]
        report.kinds.append(KindStats(kind, latencies, sum(r["errors"][kind] for r in results)))
    report.sign_in_ms = [ms for r in results for ms in r["sign_in_ms"]]
    report.error_samples = [s for r in results for s in r["error_samples"]]
    report.reconnects = sum(r["reconnects"] for r in results)
    report.client_cpu = sum(r["cpu_seconds"] for r in results)


def _redis_version(redis_url: str) -> str:
    redis = Redis.from_url(redis_url)
    try:
        info: dict[str, Any] = redis.info("server")  # type: ignore[assignment]  # sync client
        return str(info.get("redis_version", "?"))
    finally:
        redis.close()


def run(options: LoadOptions, log: Callable[[str], None] = print) -> LoadReport:
    report = LoadReport(options)
    run_tag = secrets.token_hex(4)
    with (
        tempfile.TemporaryDirectory(prefix="vigil-load-") as tmp,
        scratch_postgres(options.database_url) as url,
    ):
        folder, report.database_url = Path(tmp), url
        try:
            log(f"seeding {options.findings:,} findings over {options.projects} projects...")
            started = time.perf_counter()
            setup = prepare(url, options, run_tag)
            report.seeded = f"{setup.seeded}, in {time.perf_counter() - started:.0f} s"
            report.versions = f"Redis {_redis_version(options.redis_url)}"
            log(f"starting gunicorn: {options.workers} workers x {options.threads} threads...")
            server = Gunicorn(
                _server_env(url, options.redis_url, folder), folder, options.workers, options.threads
            )
            try:
                server.wait_ready()
                log(f"signing {options.users} users in, then {options.seconds:.0f} s of load...")
                try:
                    drive(server, setup, options, report)
                except LoadFailed as exc:
                    raise LoadFailed(f"{exc}\ngunicorn's log ends:\n{server.log_tail()}") from exc
                report.limit_checks = run_limit_checks(server, setup.limit_accounts, run_tag)
                report.server_problems = server.log_problems()
            finally:
                server.stop()
        finally:
            clear_limit_counters(options.redis_url, url)
    return report
