"""Dependency declarations: ``pyproject.toml`` (PEP 621, PEP 735 groups, Poetry) and ``Pipfile``.

Declarations are direct by definition. They rarely pin exact versions, so most entries end up
unpinned; a lock file next to them supplies the installed versions, and the declarations then tell
which locked packages are direct.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from app.advisories.inventory.base import (
    DEV_GROUPS,
    Dependency,
    InventoryError,
    from_requirement,
    read_text,
    relative,
    table,
)

EXACT_RE = re.compile(r"^\s*(?:==\s*)?(\d[0-9A-Za-z.+!-]*)\s*$")


def load_toml(path: Path, root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path, root))
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{relative(path, root)}: not valid TOML ({exc})") from None


def _requirements(
    values: Any, source: str, *, dev: bool, group: str | None, problems: list[str]
) -> list[Dependency]:
    if not isinstance(values, list):
        problems.append(f"{source}: dependency list for {group or 'project'} is not a list")
        return []
    deps = []
    for value in values:
        if not isinstance(value, str):
            continue  # PEP 735 {include-group = ...} tables: the included group is read on its own
        try:
            deps.append(from_requirement(value, source, direct=True, dev=dev, group=group))
        except InventoryError as exc:
            problems.append(str(exc))
    return deps


def _poetry_entry(name: str, spec: Any, source: str, *, dev: bool, group: str | None) -> Dependency | None:
    if canonicalize_name(name) == "python":
        return None
    if isinstance(spec, list):  # multiple constraints by marker: unpinned unless all agree
        entries = [_poetry_entry(name, s, source, dev=dev, group=group) for s in spec]
        versions = {e.version for e in entries if e is not None}
        first = next((e for e in entries if e is not None), None)
        if first is None:
            return None
        return first if len(versions) == 1 else replace(first, version=None)
    note = None
    extras: tuple[str, ...] = ()
    markers = None
    if isinstance(spec, dict):
        if {"git", "path", "url"} & spec.keys():
            note = "vcs" if "git" in spec else "url"
        extras = tuple(sorted(str(e) for e in spec.get("extras") or ()))
        markers = spec.get("markers") if isinstance(spec.get("markers"), str) else None
        spec = spec.get("version", "")
    text = str(spec) if spec is not None else ""
    exact = EXACT_RE.match(text) if note is None else None
    return Dependency(
        name=canonicalize_name(name),
        version=exact.group(1) if exact else None,
        source=source,
        specifier=text[:200],
        direct=True,
        dev=dev,
        markers=markers,
        extras=extras,
        group=group,
        note=note,
    )


def parse_pyproject(path: Path, root: Path) -> tuple[list[Dependency], list[str]]:
    data = load_toml(path, root)
    source = relative(path, root)
    problems: list[str] = []
    deps: list[Dependency] = []
    project = table(data.get("project"))
    if "dependencies" in project:
        deps += _requirements(project["dependencies"], source, dev=False, group=None, problems=problems)
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        for group, values in optional.items():
            deps += _requirements(
                values, source, dev=group.lower() in DEV_GROUPS, group=group, problems=problems
            )
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):  # PEP 735: development groups by definition
        for group, values in groups.items():
            deps += _requirements(values, source, dev=True, group=group, problems=problems)
    poetry = table(table(data.get("tool")).get("poetry"))
    if poetry:
        sections: list[tuple[Any, bool, str | None]] = [
            (poetry.get("dependencies"), False, None),
            (poetry.get("dev-dependencies"), True, "dev"),
        ]
        for group, group_table in table(poetry.get("group")).items():
            sections.append((table(group_table).get("dependencies"), group != "main", group))
        for section, dev, group in sections:
            for name, spec in table(section).items():
                entry = _poetry_entry(str(name), spec, source, dev=dev, group=group)
                if entry is not None:
                    deps.append(entry)
    return deps, problems


def parse_pipfile(path: Path, root: Path) -> tuple[list[Dependency], list[str]]:
    data = load_toml(path, root)
    source = relative(path, root)
    deps: list[Dependency] = []
    for section, dev in (("packages", False), ("dev-packages", True)):
        for name, spec in table(data.get(section)).items():
            if isinstance(spec, str) and spec.strip() == "*":
                spec = ""
            entry = _poetry_entry(str(name), spec, source, dev=dev, group=section)
            if entry is not None:
                deps.append(entry)
    return deps, []


def declared_names(deps: list[Dependency]) -> set[str]:
    return {d.name for d in deps}
