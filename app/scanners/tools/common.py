"""Small checks shared by the tool scanners: exit-code/output agreement and safe relative paths."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from app.scanners.importers.base import ParsedReport
from app.scanners.runner import RunResult, UnsafePathError

DEFAULT_EXCLUDES = (
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
)


def exit_agrees(binary: str, run: RunResult, report: ParsedReport) -> str | None:
    """For tools that exit 1 exactly when they report something (bandit, ruff, mypy): a mismatch
    means the output Vigil read is not the output the tool meant, so the run cannot be trusted."""
    reported = [f for f in report.findings if not f.suppressed]
    if run.exit_code == 1 and not reported:
        return f"{binary} exited 1 (findings) but its output lists none"
    if run.exit_code == 0 and reported:
        return f"{binary} exited 0 (clean) but its output lists {len(reported)} results"
    return None


def relative_file(checkout: Path, name: str) -> str:
    """A project-configured file (dependency file) as a safe path inside the checkout."""
    path = PurePosixPath(name.strip())
    if (
        not name.strip()
        or path.is_absolute()
        or ".." in path.parts
        or any(p.startswith("-") for p in path.parts)
    ):
        raise UnsafePathError(f"unsafe dependency file path {name!r}: must be relative, inside the checkout")
    if not (checkout / path).is_file():
        raise UnsafePathError(f"dependency file {name!r} not found in the checkout")
    return str(path)
