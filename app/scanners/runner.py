"""The one way Vigil starts an external tool: safely, under limits, with nothing of Vigil's inherited.

A scanner runs over code Vigil does not trust, nightly, with nobody watching. So every tool runs:

- from an argument list, never a shell (a path with ``;rm -rf`` stays a path);
- in its own session / process group, and the *whole group* is killed at timeout, on cancel, when
  the output cap is hit, and after the tool exits (stray children of a tool do not outlive it);
- under CPU-time, address-space and file-size limits set in the child before ``exec``;
- with stdout written to a file (never a pipe held in memory) whose size is capped: exceeding the
  cap stops the tool and the run fails, so a runaway tool cannot fill the disk or the worker's RAM;
- with an environment built from an allow-list: no ``VIGIL_*``, secret key, database URL or
  ``REDIS_*`` reaches the tool, and ``HOME`` is a private temporary directory.

The result says what happened (exit code, timed out, capped, cancelled); deciding whether that is
a clean, a findings or a failed run is each scanner's job (per-tool exit-code semantics).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.errors import VigilError

MiB = 1024 * 1024
STDERR_TAIL_BYTES = 4096
STDERR_CAP_BYTES = 8 * MiB
POLL_SECONDS = 0.05
MEMORY_SAMPLE_EVERY = 10  # polls between two samples of the group's peak RSS (every 0.5 s)

# Environment variables a tool may inherit. Everything else (VIGIL_*, SECRET_KEY, DATABASE_URL,
# REDIS_*, cloud credentials, ...) is dropped. The CA-bundle and proxy variables stay: pip-audit needs
# them to reach its vulnerability service through an operator's proxy.
ENV_ALLOWLIST = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
)
# Names never allowed in a tool's environment, even when a scanner passes them explicitly.
_FORBIDDEN_ENV = re.compile(
    r"^(VIGIL_.*|REDIS_.*|.*SECRET.*|.*PASSWORD.*|.*TOKEN.*|DATABASE_URL|.*_DSN)$", re.I
)
# Characters with a meaning to a shell or a terminal: never in a checkout path Vigil hands a tool.
_UNSAFE_PATH_CHARS = re.compile(r"[;&|$`<>\n\r\t\x00*?!{}\\\"']")


class RunnerError(VigilError):
    """A tool could not be started at all (missing binary, bad checkout path)."""


class UnsafePathError(RunnerError, ValueError):
    """A checkout path that could be read as an option, escapes its base, or carries shell syntax."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one tool run. Built from ``Settings`` by the caller, never read globally."""

    timeout_seconds: float = 1800
    output_cap_bytes: int = 512 * MiB
    memory_mb: int = 4096
    cpu_seconds: int = 3600

    @classmethod
    def from_settings(cls, settings: object) -> Limits:
        """Limits from a :class:`app.config.Settings` (its ``scan_*`` fields)."""
        return cls(
            timeout_seconds=float(getattr(settings, "scan_timeout_seconds", 1800)),
            output_cap_bytes=int(getattr(settings, "scan_output_cap_mb", 512)) * MiB,
            memory_mb=int(getattr(settings, "scan_memory_mb", 4096)),
            cpu_seconds=int(getattr(settings, "scan_cpu_seconds", 3600)),
        )


@dataclass(frozen=True)
class RunResult:
    """What happened to one tool process. ``exit_code`` is None when Vigil killed it."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout_path: Path
    stdout_bytes: int
    stderr_tail: str
    timed_out: bool
    capped: bool
    cancelled: bool
    duration_seconds: float
    signal: int | None = None
    # Largest peak RSS (VmHWM) seen among the tool's processes, sampled while it ran; 0 if unknown.
    peak_rss_bytes: int = 0

    @property
    def stopped(self) -> bool:
        """True when the tool did not finish on its own terms: its output cannot be trusted whole."""
        return self.timed_out or self.capped or self.cancelled or self.signal is not None

    @property
    def reason(self) -> str | None:
        """One line saying why a stopped run stopped, for the scan run's error column."""
        if self.timed_out:
            return "timed out and was killed"
        if self.capped:
            return f"output exceeded the cap ({self.stdout_bytes} bytes) and the tool was stopped"
        if self.cancelled:
            return "cancelled"
        if self.signal is not None:
            name = signal.Signals(self.signal).name if self.signal in signal.valid_signals() else self.signal
            return f"killed by signal {name} (resource limit?)"
        return None

    def read_stdout(self) -> bytes:
        return self.stdout_path.read_bytes() if self.stdout_path.exists() else b""


def validate_checkout(path: str | os.PathLike[str]) -> Path:
    """The checkout as a safe absolute directory path, or :class:`UnsafePathError`.

    Tools get the path as an argument, so it must not look like an option (leading ``-``), must not
    walk out of where it claims to be (``..``), and must not carry shell syntax even though no shell
    is ever used: a path like that is a sign of an attack, and rejecting it is cheaper than being
    right about every tool's argument parsing.
    """
    raw = os.fspath(path)
    if not raw or raw.startswith("-"):
        raise UnsafePathError(f"unsafe checkout path {raw!r}: must not be empty or start with '-'")
    if _UNSAFE_PATH_CHARS.search(raw):
        raise UnsafePathError(f"unsafe checkout path {raw!r}: contains shell or control characters")
    candidate = Path(raw)
    if not candidate.is_absolute():
        raise UnsafePathError(f"unsafe checkout path {raw!r}: must be absolute")
    if ".." in candidate.parts:
        raise UnsafePathError(f"unsafe checkout path {raw!r}: must not contain '..'")
    if any(part.startswith("-") for part in candidate.parts):
        raise UnsafePathError(f"unsafe checkout path {raw!r}: a component starts with '-'")
    if not candidate.is_dir():
        raise UnsafePathError(f"checkout path {raw!r} does not exist or is not a directory")
    return candidate


def tool_path(name: str) -> str:
    """Absolute path of a tool: the one installed beside Vigil's interpreter first, then ``PATH``.

    An absolute path is taken as is (tests point scanners at fake tools this way).
    """
    if os.path.isabs(name):
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise RunnerError(f"scanner tool {name!r} is not an executable file")
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RunnerError(f"scanner tool {name!r} is not installed")
    return found


def scrubbed_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a tool gets: the allow-list, a private HOME/TMPDIR, and the scanner's extras."""
    env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH") or "/usr/local/bin:/usr/bin:/bin"])
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home / "tmp")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    for key, value in (extra or {}).items():
        if _FORBIDDEN_ENV.match(key):
            raise RunnerError(f"refusing to pass {key} to a scanner tool")
        env[key] = value
    return env


def _limit_child(limits: Limits) -> None:
    """Runs in the child between fork and exec: the limits then apply to the tool and its children."""
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    memory = int(limits.memory_mb) * MiB
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # A file-size limit is the backstop to the polling below: a tool writing gigabytes per second
    # gets SIGXFSZ at the cap instead of between two polls. One byte over, so "capped" is visible.
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_cap_bytes + 1, limits.output_cap_bytes + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _tail(path: Path, size: int = STDERR_TAIL_BYTES) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            length = handle.tell()
            handle.seek(max(0, length - size))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def group_peak_rss(pgid: int) -> int:
    """The largest VmHWM (peak resident set) among live processes of a process group, in bytes.

    Read from /proc, so it is exact for each process since its ``exec`` (``ru_maxrss`` of a child
    would also count the memory it shared with Vigil before ``exec``). Returns 0 where /proc is
    unavailable. A process that lives less than one sample interval is not seen.
    """
    peak = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            # fields after the ")" closing the command name: state, ppid, pgrp, ...
            if int(stat.rsplit(b")", 1)[1].split()[2]) != pgid:
                continue
            with open(f"/proc/{entry}/status", "rb") as handle:
                for line in handle:
                    if line.startswith(b"VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
                        break
        except (OSError, ValueError, IndexError):
            continue
    return peak


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path,
    work_dir: Path,
    limits: Limits,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run one tool to completion (or until a limit) and return what happened.

    ``work_dir`` receives ``stdout`` and ``stderr`` files and the tool's private HOME; the caller
    owns it (and decides how long raw output is kept). ``cancel`` is checked while waiting: setting
    it kills the tool's process group and the result is marked cancelled.
    """
    if isinstance(argv, str | bytes) or not argv:
        raise RunnerError("a tool command must be a non-empty argument list")
    args = tuple(str(arg) for arg in argv)
    work_dir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work_dir))
    (home / "tmp").mkdir()
    stdout_path = work_dir / "stdout"
    stderr_path = work_dir / "stderr"
    cap = limits.output_cap_bytes
    started = time.monotonic()
    timed_out = capped = cancelled = False
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        try:
            process = subprocess.Popen(  # noqa: S603 - argv list, no shell, absolute tool path
                args,
                cwd=str(cwd),
                env=scrubbed_env(home, env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
                preexec_fn=lambda: _limit_child(limits),  # limits must be set before exec
            )
        except OSError as exc:
            raise RunnerError(f"cannot start {Path(args[0]).name}: {exc.strerror or exc}") from exc
        pgid = process.pid  # start_new_session: the tool leads its own group
        peak_rss = 0
        polls = 0
        try:
            while True:
                try:
                    process.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    pass
                polls += 1
                if polls % MEMORY_SAMPLE_EVERY == 1:
                    peak_rss = max(peak_rss, group_peak_rss(pgid))
                if _size(stdout_path) > cap or _size(stderr_path) > max(cap, STDERR_CAP_BYTES):
                    capped = True
                elif time.monotonic() - started > limits.timeout_seconds:
                    timed_out = True
                elif cancel is not None and cancel.is_set():
                    cancelled = True
                if capped or timed_out or cancelled:
                    _kill_group(pgid)
                    process.wait()
                    break
        finally:
            # The leader is gone; whatever it left behind in its group goes too.
            _kill_group(pgid)
            if process.poll() is None:
                process.kill()
                process.wait()
    duration = time.monotonic() - started
    returncode = process.returncode
    stdout_bytes = _size(stdout_path)
    if stdout_bytes > cap:
        capped = True
    killed_by = -returncode if returncode is not None and returncode < 0 else None
    if killed_by == signal.SIGXFSZ:
        capped = True
    stopped_by_us = timed_out or capped or cancelled
    shutil.rmtree(home, ignore_errors=True)
    return RunResult(
        argv=args,
        exit_code=None if stopped_by_us or killed_by is not None else returncode,
        stdout_path=stdout_path,
        stdout_bytes=stdout_bytes,
        stderr_tail=_tail(stderr_path),
        timed_out=timed_out,
        capped=capped,
        cancelled=cancelled,
        duration_seconds=duration,
        peak_rss_bytes=peak_rss,
        signal=None if stopped_by_us else killed_by,
    )


_VERSIONS: dict[tuple[str, float], str | None] = {}


def tool_version(
    argv: Sequence[str],
    work_dir: Path,
    pattern: str = r"(\d+\.\d+(?:\.\d+)?)",
    env: Mapping[str, str] | None = None,
) -> str | None:
    """A tool's version from its ``--version`` output (first match of ``pattern``), or None.

    Cached per binary path and modification time: semgrep takes a second to print its version, and
    an upgraded tool (new mtime) is asked again, so the recorded version is never stale.
    """
    binary = str(argv[0])
    try:
        key = (binary, os.stat(binary).st_mtime)
    except OSError:
        key = (binary, 0.0)
    if key not in _VERSIONS:
        result = run_tool(
            argv,
            cwd=work_dir,
            work_dir=work_dir / "version",
            limits=Limits(timeout_seconds=60, cpu_seconds=60),
            env=env,
        )
        text = result.read_stdout().decode("utf-8", "replace") + "\n" + result.stderr_tail
        match = re.search(pattern, text)
        if result.stopped:
            return None
        _VERSIONS[key] = match.group(1) if match else None
    return _VERSIONS[key]
