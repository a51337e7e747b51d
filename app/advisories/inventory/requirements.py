"""pip requirements files and ``pip freeze`` output.

Handles what pip itself accepts: ``-r``/``-c`` includes (relative to the including file and
confined to the repository, cycles ignored), line continuations, comments, ``--hash`` and other
per-line options, environment markers, extras, editable and URL requirements (recorded, but
unpinned: their version cannot be known from the file). Constraint files pin versions of packages
the requirements name without adding packages of their own. pip-compile's ``# via`` annotations tell
transitive pins (``# via somepackage``) from direct ones (``# via -r requirements.in``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from packaging.utils import canonicalize_name

from app.advisories.inventory.base import Dependency, InventoryError, from_requirement, read_text, relative

MAX_INCLUDE_DEPTH = 10
INCLUDE_RE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(\S.*)$")
EDITABLE_RE = re.compile(r"^(-e|--editable)(?:\s*=\s*|\s+)(\S.*)$")
EGG_RE = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
LINE_OPTION_RE = re.compile(r"\s--(hash|config-settings|global-option|install-option)(?:\s*=\s*|\s+)\S+")
COMMENT_RE = re.compile(r"(^|\s+)#.*$")


def _logical_lines(text: str) -> list[tuple[int, str, list[str]]]:
    """(first line number, requirement text, its pip-compile '# via' entries) per logical line."""
    result: list[tuple[int, str, list[str]]] = []
    buffer = ""
    start = 0
    in_via = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and stripped.startswith("#"):
            body = stripped[1:].strip()
            if result and body.startswith("via") and (len(body) == 3 or body[3] == " "):
                in_via = True
                if body[3:].strip():
                    result[-1][2].append(body[3:].strip())
            elif result and in_via and body and (" " not in body or body.startswith(("-r ", "-c "))):
                result[-1][2].append(body)
            else:
                in_via = False
            continue
        in_via = False
        if not buffer:
            start = number
        if raw.rstrip().endswith("\\"):
            buffer += raw.rstrip()[:-1] + " "
            continue
        buffer += raw
        line = buffer.strip()
        buffer = ""
        if line:
            result.append((start, line, []))
    if buffer.strip():
        result.append((start, buffer.strip(), []))
    return result


def _direct_from_via(via: list[str], default: bool | None) -> bool | None:
    if not via:
        return default
    return any(v.startswith(("-r ", "-c ")) for v in via)


class _Reader:
    def __init__(self, root: Path, dev: bool, direct: bool | None) -> None:
        self.root = root.resolve()
        self.dev = dev
        self.direct = direct
        self.seen: set[Path] = set()
        self.deps: list[Dependency] = []
        self.constraints: dict[str, str] = {}
        self.problems: list[str] = []
        self.files: list[str] = []

    def _target(self, including: Path, raw: str) -> Path | None:
        name = raw.strip().strip("'\"")
        if "://" in name:
            self.problems.append(
                f"{relative(including, self.root)}: remote include {name[:80]!r} not followed"
            )
            return None
        target = (including.parent / name).resolve()
        if not target.is_relative_to(self.root):
            raise InventoryError(
                f"{relative(including, self.root)}: include {name[:80]!r} leaves the repository"
            )
        return target

    def read(self, path: Path, *, constraint: bool, depth: int) -> None:
        resolved = path.resolve()
        if resolved in self.seen:
            return
        if depth > MAX_INCLUDE_DEPTH:
            raise InventoryError(
                f"{relative(path, self.root)}: includes nested deeper than {MAX_INCLUDE_DEPTH}"
            )
        self.seen.add(resolved)
        text = read_text(path, self.root)
        source = relative(resolved, self.root)
        self.files.append(source)
        for number, line, via in _logical_lines(text):
            line = COMMENT_RE.sub("", line).strip()
            if not line:
                continue
            include = INCLUDE_RE.match(line)
            if include:
                target = self._target(resolved, include.group(2))
                if target is not None:
                    self.read(
                        target,
                        constraint=constraint or include.group(1) in ("-c", "--constraint"),
                        depth=depth + 1,
                    )
                continue
            editable = EDITABLE_RE.match(line)
            if editable:
                self._editable(editable.group(2), source, number, constraint)
                continue
            if line.startswith("-"):
                continue  # index, find-links, --pre, --require-hashes ...: not dependencies
            self._requirement(line, source, number, via, constraint)

    def _editable(self, target: str, source: str, number: int, constraint: bool) -> None:
        egg = EGG_RE.search(target)
        if egg is None or constraint:
            return  # a local project ("-e .") is the repository itself, not a dependency
        self.deps.append(
            Dependency(
                name=canonicalize_name(egg.group(1)),
                version=None,
                source=source,
                direct=self.direct,
                dev=self.dev,
                line=number,
                note="editable",
            )
        )

    def _requirement(self, line: str, source: str, number: int, via: list[str], constraint: bool) -> None:
        hashes = "--hash" in line
        text = LINE_OPTION_RE.sub("", " " + line).strip()
        try:
            dep = from_requirement(
                text,
                source,
                direct=_direct_from_via(via, self.direct),
                dev=self.dev,
                line=number,
                hashes=hashes,
            )
        except InventoryError as exc:
            self.problems.append(str(exc))
            return
        if constraint:
            if dep.version is not None:
                self.constraints.setdefault(dep.name, dep.version)
            return
        self.deps.append(dep)


def parse_requirements(path: Path, root: Path) -> tuple[list[Dependency], list[str], list[str]]:
    """(dependencies, files read, problems) for one requirements file and everything it includes.

    The file name says what it holds: ``requirements-dev.txt``, ``requirements/test.txt`` and the
    like are development dependencies; ``pip freeze`` output or a ``*.lock`` file lists everything
    installed, so whether an entry is direct is unknown (None) unless pip-compile annotated it.
    """
    words = set(re.split(r"[^a-z]+", relative(path, root).lower()))
    dev = bool(words & {"dev", "test", "tests", "lint", "docs", "ci"})
    direct: bool | None = None if words & {"freeze", "frozen", "lock", "installed"} else True
    reader = _Reader(root, dev, direct)
    reader.read(path, constraint=False, depth=0)
    deps = []
    for dep in reader.deps:
        pin = reader.constraints.get(dep.name)
        if dep.version is None and pin is not None and dep.note is None:
            dep = replace(dep, version=pin, note="constraint")
        deps.append(dep)
    return deps, reader.files, reader.problems
