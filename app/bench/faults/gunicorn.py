"""A real gunicorn master with sync workers, and the loopback HTTP a fault scenario needs around it.

Which worker serves a connection is the kernel's choice, so to kill "the worker serving this
request" the scenario looks the connection up: the client's port in ``/proc/net/tcp`` gives the
socket's inode, and the worker whose file descriptors include that socket is the one serving it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.bench.faults.harness import wait_for
from app.bench.ports import free_port
from app.config import ROOT


def start(env: dict[str, str], log: Path, workers: int = 2) -> tuple[subprocess.Popen[bytes], int]:
    """``gunicorn -w N 'app:create_app()'`` on a free loopback port, once every worker answers."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "600",  # a long import must not be mistaken for a hung worker
        "--graceful-timeout",
        "5",
        "--no-control-socket",  # two gunicorns on one host would share the default control socket
        "app:create_app()",
    ]
    with log.open("ab") as handle:
        master = subprocess.Popen(  # noqa: S603  # nosec B603 - fixed argv, this interpreter
            args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
        )
    ready = wait_for(
        lambda: len(workers_of(master.pid)) == workers and request(port, "GET", "/healthz")[0] == 200,
        timeout=90,
        interval=0.1,
    )
    if not ready:
        master.kill()
        master.wait(timeout=10)
        raise RuntimeError(f"gunicorn did not start: {log.read_text(errors='replace')[-500:]}")
    return master, port


@contextmanager
def serving(
    env: dict[str, str], log: Path, workers: int = 2
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """:func:`start`, then a clean stop: SIGTERM to the master (it stops its workers), then SIGKILL
    to whatever is left by pid. A SIGKILLed master would orphan its workers, and with a long
    ``--timeout`` they notice only minutes later."""
    master, port = start(env, log, workers)
    seen = set(workers_of(master.pid))
    try:
        yield master, port
    finally:
        seen |= workers_of(master.pid)
        if master.poll() is None:
            master.terminate()
            try:
                master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait(timeout=10)
        for pid in seen:  # only a worker of this server (its command line names our port)
            with contextlib.suppress(OSError):
                if f"127.0.0.1:{port}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)


def workers_of(master_pid: int) -> set[int]:
    """Pids whose parent is the master (its workers), from ``/proc``."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == master_pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def _socket_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return inode
    return None


def serving_worker(master_pid: int, server_port: int, client_port: int) -> int | None:
    """The worker holding the server side of the connection from ``client_port``."""
    inode = _socket_inode(server_port, client_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in workers_of(master_pid):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


def request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, bytes]:
    """One request on its own connection; connection errors propagate (they are what is counted)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def multipart(field: str, path: Path) -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its content type."""
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return (
        head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )
