"""Count the inline suppression comments in a checkout, per kind.

A rising number of ``# nosec`` / ``# noqa: S...`` / ``nosemgrep`` / ``pragma: allowlist secret``
comments is how findings quietly disappear without an accepted-risk record, so every scan counts
them (the "inline suppressions" trend) even when the project lets the tools honour them.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.scanners.scan import Suppression

# kind -> pattern. The noqa kind counts only comments that can silence a security rule: a bare noqa
# (silences everything) or a code list containing an S code.
PATTERNS: dict[str, re.Pattern[str]] = {
    "nosec": re.compile(r"#\s*nosec\b", re.IGNORECASE),
    "noqa": re.compile(r"#\s*noqa(?!\s*:)|#\s*noqa\s*:[\s,A-Z0-9]*\bS\d{3}\b", re.IGNORECASE),
    "nosemgrep": re.compile(r"\bnosem(?:grep)?\b", re.IGNORECASE),
    "allowlist-secret": re.compile(r"pragma:\s*allowlist[ -]secret", re.IGNORECASE),
}
# Which scanner each kind silences, so each scanner reports only its own.
KINDS_BY_SCANNER: dict[str, tuple[str, ...]] = {
    "bandit": ("nosec",),
    "ruff": ("noqa",),
    "semgrep": ("nosemgrep",),
    "detect-secrets": ("allowlist-secret",),
}
_MARKERS = (b"nosec", b"noqa", b"nosem", b"allowlist")
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".mypy_cache",
        ".ruff_cache",
    }
)
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_COMMENT = 500


def excluded(relative: str, patterns: Iterable[str]) -> bool:
    """True when a checkout-relative path matches one of the project's exclude globs (or a parent)."""
    for pattern in patterns:
        pattern = pattern.strip().rstrip("/")
        if pattern and (
            fnmatch.fnmatch(relative, pattern)
            or fnmatch.fnmatch(relative, pattern + "/*")
            or relative.startswith(pattern + "/")
        ):
            return True
    return False


def iter_files(root: Path, exclude_paths: Iterable[str] = ()) -> Iterator[tuple[str, Path]]:
    """(relative posix path, absolute path) of every regular file a scanner would look at."""
    patterns = tuple(exclude_paths)
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS and not excluded(f"{rel_dir}/{d}" if rel_dir else d, patterns)
        )
        for name in sorted(filenames):
            relative = f"{rel_dir}/{name}" if rel_dir else name
            path = Path(dirpath) / name
            if not path.is_symlink() and not excluded(relative, patterns):
                yield relative, path


def find_suppressions(
    root: Path, kinds: Iterable[str] = tuple(PATTERNS), exclude_paths: Iterable[str] = ()
) -> list[Suppression]:
    """Every suppression comment of the given kinds under ``root``, in path and line order."""
    wanted = {kind: PATTERNS[kind] for kind in kinds}
    found: list[Suppression] = []
    for relative, path in iter_files(root, exclude_paths):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        lowered = data.lower()
        if b"\0" in data[:1024] or not any(marker in lowered for marker in _MARKERS):
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            for kind, pattern in wanted.items():
                match = pattern.search(line)
                if match:
                    # Only the comment from the marker on: the code before it may hold the very
                    # secret an allow-list pragma hides, and must not be stored in clear.
                    comment = line[match.start() :].strip()[:MAX_COMMENT]
                    found.append(Suppression(kind, relative, number, comment))
    return found
