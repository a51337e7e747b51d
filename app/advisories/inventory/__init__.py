"""Find and read a checkout's dependency files into one :class:`Inventory`.

A project either lists its dependency files (``Project.dependency_files``, paths relative to the
repository) or Vigil looks for the usual names a few folders deep. Each file is read by the parser
its name calls for; a file that cannot be read is a problem on the inventory, not a crash, so one
broken lock file does not hide the findings of the others. A lock file is read together with the
manifest beside it, which says which locked packages are direct.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from pathlib import Path

from app.advisories.inventory.base import Dependency, Inventory, InventoryError, relative
from app.advisories.inventory.locks import parse_pipfile_lock, parse_poetry_lock, parse_uv_lock
from app.advisories.inventory.manifests import declared_names, parse_pipfile, parse_pyproject
from app.advisories.inventory.requirements import parse_requirements
from app.advisories.inventory.sbom import parse_cyclonedx
from app.scanners.suppressions import excluded

DISCOVER_PATTERNS = (
    "requirements*.txt",
    "*requirements.txt",
    "requirements/*.txt",
    "requirements*.in.lock",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "*.cdx.json",
    "bom.json",
    "sbom.json",
)
SKIP_DIRS = frozenset({"node_modules", "venv", "site-packages", "__pycache__", "build", "dist"})
MAX_DEPTH = 3
MAX_FILES = 200

__all__ = ["Dependency", "Inventory", "InventoryError", "collect", "discover"]


def _dev_first_key(path: str) -> tuple[bool, str]:
    words = set(re.split(r"[^a-z]+", path.lower()))
    return (bool(words & {"dev", "test", "tests", "lint", "docs", "ci"}), path)


def discover(root: Path, exclude_paths: Sequence[str] = ()) -> list[str]:
    """Dependency files under ``root`` (a few levels deep, no hidden or vendored folders), outside
    the project's excluded paths: the other scanners skip those folders, so must this one."""
    found: list[str] = []
    root = root.resolve()
    for current, dirs, files in os.walk(root, followlinks=False):
        rel_dir = Path(current).relative_to(root)
        depth = len(rel_dir.parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIP_DIRS
            and depth < MAX_DEPTH
            and not excluded((rel_dir / d).as_posix(), exclude_paths)
        )
        for name in files:
            rel = (rel_dir / name).as_posix()
            tail = "/".join(rel.split("/")[-2:])
            wanted = any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(tail, p) for p in DISCOVER_PATTERNS)
            if wanted and not excluded(rel, exclude_paths) and not (Path(current) / name).is_symlink():
                found.append(rel)
        if len(found) > MAX_FILES:
            break
    return sorted(found[:MAX_FILES], key=_dev_first_key)


def _safe_path(root: Path, rel: str) -> Path:
    if not rel or rel.startswith(("/", "\\")) or ".." in Path(rel).parts or "\x00" in rel:
        raise InventoryError(f"dependency file {rel[:80]!r} must be a path inside the repository")
    return root / rel


def _manifest_names(path: Path, root: Path, manifest: str) -> set[str] | None:
    other = path.parent / manifest
    if not other.is_file():
        return None
    try:
        deps, _ = parse_pipfile(other, root) if manifest == "Pipfile" else parse_pyproject(other, root)
    except InventoryError:
        return None
    return declared_names(deps)


def read_file(root: Path, rel: str) -> tuple[list[Dependency], list[str], list[str]]:
    """(dependencies, files read, problems) for one dependency file, by its name."""
    path = _safe_path(root, rel)
    name = path.name
    if name == "poetry.lock":
        deps, problems = parse_poetry_lock(path, root, _manifest_names(path, root, "pyproject.toml"))
    elif name == "uv.lock":
        deps, problems = parse_uv_lock(path, root, _manifest_names(path, root, "pyproject.toml"))
    elif name == "Pipfile.lock":
        deps, problems = parse_pipfile_lock(path, root, _manifest_names(path, root, "Pipfile"))
    elif name == "Pipfile":
        deps, problems = parse_pipfile(path, root)
    elif name == "pyproject.toml":
        deps, problems = parse_pyproject(path, root)
    elif name.endswith(".json"):
        deps, problems = parse_cyclonedx(path, root)
    else:
        return parse_requirements(path, root)
    return deps, [relative(path.resolve(), root.resolve())], problems


def collect(root: Path, files: Sequence[str] | None = None, exclude_paths: Sequence[str] = ()) -> Inventory:
    """Read the given dependency files (or the discovered ones) of the checkout at ``root``."""
    root = root.resolve()
    inventory = Inventory()
    seen_lines: set[tuple[str, str, int | None, str | None]] = set()
    for rel in list(files) if files else discover(root, exclude_paths):
        try:
            deps, read, problems = read_file(root, rel)
        except InventoryError as exc:
            inventory.problems.append(str(exc))
            inventory.failed.append(rel)
            continue
        inventory.problems.extend(p for p in problems if p not in inventory.problems)
        for source in read:
            if source not in inventory.files:
                inventory.files.append(source)
        for dep in deps:
            key = (dep.name, dep.source, dep.line, dep.group)
            if dep.line is not None and key in seen_lines:
                continue  # a requirements file included by two others is one declaration
            seen_lines.add(key)
            inventory.dependencies.append(dep)
    return inventory
