"""Where a scan reads code from: a local folder scanned in place, or a git URL cloned per run.

Each run of a git project gets its own shallow clone (``<scans_dir>/runs/<run id>/src``), removed
when the run ends, so two scanners of the same project running at once never see a tree being
fetched under them. Every URL and ref is validated before it reaches git, git is always told where
its options end (``--``), the ``ext::`` transport (which runs commands) is disabled, and symlinks
are checked out as plain files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.errors import VigilError
from app.services.projects import validate_git_url, validate_local_path

GIT_TIMEOUT_SECONDS = 600
REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
GIT_SAFETY = (
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    # A symlink in a scanned repository must not make a tool read the server's files.
    "-c",
    "core.symlinks=false",
)


class SourceError(VigilError):
    """The project's code could not be made available (bad URL, clone failed, path gone)."""


@dataclass(frozen=True)
class Checkout:
    """A folder to scan, the commit it holds (None when unknown) and whether Vigil owns the folder."""

    path: Path
    commit: str | None
    temporary: bool

    def cleanup(self) -> None:
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def validate_ref(ref: str) -> str:
    """A branch or tag name git cannot read as an option or a revision expression."""
    if not REF_RE.match(ref) or ".." in ref or ref.endswith((".lock", "/")) or "//" in ref:
        raise SourceError(f"unsafe git ref {ref!r}")
    return ref


def _git_env() -> dict[str, str]:
    """Git gets no Vigil secrets, never prompts, and ignores system/global configuration."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TZ") if key in os.environ}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": os.devnull,
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
        }
    )
    return env


def _git(args: list[str], *, cwd: Path | None = None) -> str:
    git = shutil.which("git")
    if git is None:
        raise SourceError("git is not installed")
    try:
        done = subprocess.run(  # noqa: S603 - argument list, validated inputs, no shell
            [git, *GIT_SAFETY, *args],
            cwd=str(cwd) if cwd else None,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise SourceError(f"git {args[0]} failed: {tail[0][:300]}")
    return done.stdout.decode("utf-8", "replace").strip()


def local_commit(path: Path) -> str | None:
    """The HEAD commit of a local folder when it is a git work tree (None otherwise)."""
    try:
        sha = _git(["-c", f"safe.directory={path}", "-C", str(path), "rev-parse", "--verify", "HEAD"])
    except SourceError:
        return None
    return sha if re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def clone(url: str, dest: Path, ref: str | None = None) -> str:
    """Shallow-clone ``url`` (at ``ref``) into ``dest``; return the commit checked out."""
    url = validate_git_url(url)
    args = ["clone", "--quiet", "--depth", "1", "--no-tags"]
    if ref:
        args += ["--branch", validate_ref(ref)]
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git([*args, "--", url, str(dest)])
    return _git(["-C", str(dest), "rev-parse", "--verify", "HEAD"])


def prepare_checkout(
    *, local_path: str | None, git_url: str | None, git_ref: str | None, scans_dir: Path, run_id: int
) -> Checkout:
    """Make the project's code available for one run and say which commit it is."""
    if local_path:
        try:
            path = Path(validate_local_path(local_path))
        except VigilError as exc:
            raise SourceError(str(exc)) from None
        return Checkout(path=path, commit=local_commit(path), temporary=False)
    if git_url:
        dest = run_dir(scans_dir, run_id) / "src"
        if dest.exists():
            shutil.rmtree(dest)
        try:
            commit = clone(git_url, dest, git_ref)
        except VigilError:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return Checkout(path=dest, commit=commit, temporary=True)
    raise SourceError("the project has neither a local path nor a git URL")


def run_dir(scans_dir: Path, run_id: int) -> Path:
    """The folder of one run's clone and raw tool output (kept for the retention period)."""
    return scans_dir / "runs" / str(int(run_id))
