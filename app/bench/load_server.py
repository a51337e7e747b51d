"""The server side of ``vigil bench load``: a scratch PostgreSQL database and a real gunicorn.

gunicorn runs exactly as the README's "Running scaled" section says (``app:create_app()``, gthread
workers, settings from ``VIGIL_*`` variables) in its own process group, with an access log that
names the worker process serving each request, so a test can tell which workers a burst reached.
The scratch database is created on the given server and dropped afterwards: the database named in
the URL (for instance the test suite's) is never written to.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.bench.load_http import Client
from app.bench.ports import free_port
from app.config import ROOT
from app.db import normalize_url
from app.security.rate_limits import limit_keys_pattern

ACCESS_FORMAT = '%(p)s %(h)s "%(m)s %(U)s" %(s)s %(L)s'
ACCESS_LINE = re.compile(r'^<(\d+)> (\S+) "(\S+) (\S+)" (\d{3}) ')
BOOTED = re.compile(r"Booting worker with pid: (\d+)")


class ServerFailed(RuntimeError):
    """gunicorn did not start or did not become ready."""


@dataclass(frozen=True)
class AccessRecord:
    pid: int
    address: str
    method: str
    path: str
    status: int


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """Create ``vigil_load_<random>`` on the server of ``server_url``; yield its URL; drop it."""
    url = make_url(normalize_url(server_url))
    if url.get_backend_name() != "postgresql":
        raise ValueError("the load benchmark needs a PostgreSQL URL (postgresql://user@host:port/db)")
    name = f"vigil_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def clear_limit_counters(redis_url: str, database_url: str) -> int:
    """Delete this installation's rate-limit counters from Redis; returns how many keys went."""
    redis = Redis.from_url(redis_url)
    try:
        keys = list(redis.scan_iter(match=limit_keys_pattern(database_url), count=500))
        return int(redis.delete(*keys)) if keys else 0  # type: ignore[arg-type]  # sync client
    finally:
        redis.close()


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time used so far by these processes, read from /proc (0 for any that is gone or hidden)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def postgres_backends(database_url: str) -> list[int]:
    """Process ids of the server backends connected to this database (other than the asking one).

    With PostgreSQL on the same machine their CPU time is the database's share of the load.
    """
    engine = create_engine(normalize_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
            return [int(row[0]) for row in rows]
    finally:
        engine.dispose()


class Gunicorn:
    """One gunicorn master with its workers, started, awaited and stopped as a process group."""

    def __init__(self, env: dict[str, str], folder: Path, workers: int, threads: int) -> None:
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.access_log = folder / "access.log"
        self.error_log = folder / "gunicorn.log"
        command = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
            "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
            "--error-logfile", str(self.error_log), "--no-control-socket",
            "app:create_app()",
        ]  # fmt: skip
        with open(folder / "gunicorn.out", "wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def worker_pids(self) -> list[int]:
        if not self.error_log.exists():
            return []
        return [int(pid) for pid in BOOTED.findall(self.error_log.read_text(errors="replace"))]

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every worker has booted and the application answers its readiness probe."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"gunicorn exited with {self.process.returncode}: {self.log_tail()}")
            if len(self.worker_pids()) >= self.workers and self._ready():
                return
            time.sleep(0.2)
        raise ServerFailed(f"gunicorn not ready after {timeout:.0f} s: {self.log_tail()}")

    def _ready(self) -> bool:
        probe = Client("127.0.0.1", self.port, "127.0.0.1", timeout=10)
        try:
            return probe.get("/readyz").status == 200
        except OSError:
            return False
        finally:
            probe.close()

    def worker_cpu_seconds(self) -> float:
        """CPU time used so far by the live workers."""
        return cpu_seconds(self.worker_pids())

    def access_records(self) -> list[AccessRecord]:
        records = []
        for line in self.access_log.read_text(errors="replace").splitlines():
            found = ACCESS_LINE.match(line)
            if found:
                pid, address, method, path, status = found.groups()
                records.append(AccessRecord(int(pid), address, method, path, int(status)))
        return records

    def log_problems(self) -> list[str]:
        """Lines of gunicorn's own log that mean a worker failed (timeouts, crashes, tracebacks)."""
        if not self.error_log.exists():
            return []
        markers = ("Traceback", "WORKER TIMEOUT", "exited with code", "was sent SIG", "[CRITICAL]", "[ERROR]")
        lines = self.error_log.read_text(errors="replace").splitlines()
        return [line for line in lines if any(m in line for m in markers)]

    def log_tail(self, lines: int = 15) -> str:
        text_ = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        return "\n".join(text_.splitlines()[-lines:])

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master); the whole group is killed if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
