"""Private PostgreSQL clusters and Redis servers for fault scenarios, never the machine's shared ones.

A scenario that restarts PostgreSQL or stops Redis must not disturb anything else running on the
machine, so it starts its own server in a scratch folder on a free port. The Debian PostgreSQL
binaries refuse to run as root: when we are root, they run as the ``postgres`` user (``runuser``)
in a folder owned by that user. Both servers are stopped by the process that started them, by pid.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.bench.faults import ScenarioSkipped
from app.bench.ports import free_port


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise ScenarioSkipped("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl)")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A throw-away cluster: ``initdb`` with trust auth, ``pg_ctl start/restart/stop``."""

    def __init__(self, root: Path) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [*self._as_postgres, str(self.bin / tool), *args]
        done = subprocess.run(  # noqa: S603  # nosec B603 - the distribution's PostgreSQL tools
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {(done.stderr or done.stdout)[-400:]}")

    def _ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", action, *args)

    def init(self) -> PrivatePostgres:
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._ctl("start")
        return self

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, as in a database failover."""
        self._ctl("restart", "-m", "fast")

    def outage_begins(self) -> None:
        """``pg_ctl stop -m fast``: the server is gone until :meth:`outage_ends`."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def outage_ends(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="vigil-faults-pg-"))
    server = PrivatePostgres(root)
    try:
        server.init()
        yield server
    finally:
        with contextlib.suppress(Exception):  # it may never have started
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


class PrivateRedis:
    """``redis-server`` on a free port, no persistence, as a child process that can be stopped."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ScenarioSkipped("redis-server is not installed")
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        log = (self.root / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603 - redis-server found on PATH
            [*args, "--daemonize", "no", "--dir", str(self.root)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while not port_open(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    root = Path(tempfile.mkdtemp(prefix="vigil-faults-redis-"))
    server = PrivateRedis(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
