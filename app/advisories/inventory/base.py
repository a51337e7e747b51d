"""What a project depends on, as read from its dependency files.

A :class:`Dependency` is one mention of a package in one file. ``version`` is set only when the
file pins an exact release (``==1.2.3``, a lock entry, an SBOM component); everything else is
``pinned=False`` and is never guessed as vulnerable. ``direct`` is None when the file cannot tell
(``pip freeze`` output, a lock file without its manifest) and ``dev`` marks development-only
dependencies; both are shown as triage hints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from app.errors import VigilError

MAX_FILE_BYTES = 16 * 1024 * 1024
DEV_GROUPS = frozenset(
    {"dev", "develop", "development", "test", "tests", "testing", "lint", "linting", "docs", "doc", "typing"}
)


class InventoryError(VigilError, ValueError):
    """A dependency file Vigil cannot read; one line naming the file and the problem."""


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    version: str | None
    source: str
    specifier: str = ""
    direct: bool | None = True
    dev: bool = False
    line: int | None = None
    markers: str | None = None
    extras: tuple[str, ...] = ()
    hashes: bool = False
    group: str | None = None
    note: str | None = None

    @property
    def pinned(self) -> bool:
        return self.version is not None

    def as_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "specifier": self.specifier[:1000],
            "pinned": self.pinned,
            "direct": self.direct,
            "dev": self.dev,
            "source": self.source[:1024],
            "line": self.line,
            "markers": self.markers,
            "extras": list(self.extras),
            "group_name": self.group,
            "note": self.note,
        }


@dataclass
class Inventory:
    """Every dependency found in a checkout, plus the files read and the problems met."""

    dependencies: list[Dependency] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Files that could not be read at all: their findings must not be closed as if fixed.
    failed: list[str] = field(default_factory=list)


def table(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one: parsed files are never trusted to be well-formed."""
    return value if isinstance(value, dict) else {}


def pinned_version(requirement: Requirement) -> str | None:
    """The exact release a requirement pins (``==1.2`` or ``===1.2``), never a wildcard or range."""
    specs = list(requirement.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and not specs[0].version.endswith(".*"):
        return specs[0].version
    return None


def from_requirement(
    text: str,
    source: str,
    *,
    direct: bool | None = True,
    dev: bool = False,
    line: int | None = None,
    group: str | None = None,
    hashes: bool = False,
) -> Dependency:
    """One PEP 508 requirement string as a Dependency; raises InventoryError when unparsable."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        where = f"{source}:{line}" if line else source
        raise InventoryError(f"{where}: not a valid requirement ({str(exc).splitlines()[0][:80]})") from None
    return Dependency(
        name=canonicalize_name(requirement.name),
        version=None if requirement.url else pinned_version(requirement),
        source=source,
        specifier=str(requirement.specifier),
        direct=direct,
        dev=dev,
        line=line,
        markers=str(requirement.marker) if requirement.marker else None,
        extras=tuple(sorted(requirement.extras)),
        hashes=hashes,
        group=group,
        note="url" if requirement.url else None,
    )


def read_text(path: Path, root: Path) -> str:
    """Read a dependency file that must live inside the checkout, under a size cap."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InventoryError(f"{_rel(path, root)}: file not found") from None
    if not resolved.is_relative_to(root.resolve()):
        raise InventoryError(f"{_rel(path, root)}: points outside the repository; refused")
    if not resolved.is_file():
        raise InventoryError(f"{_rel(path, root)}: not a regular file")
    if resolved.stat().st_size > MAX_FILE_BYTES:
        raise InventoryError(f"{_rel(path, root)}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return resolved.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InventoryError(f"{_rel(path, root)}: not UTF-8 text") from None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def relative(path: Path, root: Path) -> str:
    return _rel(path, root)
