"""Lock files: ``poetry.lock``, ``uv.lock`` and ``Pipfile.lock`` pin every installed package.

A lock file alone does not say which packages the project asked for; the manifest beside it does
(``pyproject.toml`` or ``Pipfile``), so ``declared`` names are passed in to mark direct entries.
Runtime versus development comes from the lock itself where it records it (poetry ``groups`` /
``category``, Pipfile.lock ``develop``), and for ``uv.lock`` from walking the dependency graph:
whatever the project's runtime dependencies reach is runtime, the rest is development-only.
Local packages (the project itself, path and directory sources) are not dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from packaging.utils import canonicalize_name

from app.advisories.inventory.base import Dependency, InventoryError, read_text, relative, table
from app.advisories.inventory.manifests import load_toml

LOCAL_SOURCES = frozenset({"editable", "virtual", "directory", "path"})


def _direct(name: str, declared: set[str] | None) -> bool | None:
    return None if declared is None else name in declared


def _reach(start: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(graph.get(name, ()))
    return seen


def parse_poetry_lock(
    path: Path, root: Path, declared: set[str] | None
) -> tuple[list[Dependency], list[str]]:
    data = load_toml(path, root)
    source = relative(path, root)
    packages = data.get("package")
    if not isinstance(packages, list):
        raise InventoryError(f"{source}: no [[package]] entries; not a poetry.lock")
    deps: list[Dependency] = []
    problems: list[str] = []
    for entry in packages:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{source}: a [[package]] entry without a name was skipped")
            continue
        src = table(entry.get("source"))
        kind = src.get("type")
        if kind in ("directory", "file"):
            continue
        groups = entry.get("groups")
        in_main = "main" in groups if isinstance(groups, list) and groups else entry.get("category") != "dev"
        name = canonicalize_name(entry["name"])
        version = entry.get("version") if isinstance(entry.get("version"), str) else None
        deps.append(
            Dependency(
                name=name,
                version=None if kind == "git" else version,
                source=source,
                specifier=f"=={version}" if version else "",
                direct=_direct(name, declared),
                dev=not in_main,
                markers=entry.get("markers") if isinstance(entry.get("markers"), str) else None,
                hashes=bool(entry.get("files")),
                note="vcs" if kind == "git" else None,
            )
        )
    return deps, problems


def _uv_refs(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [
        canonicalize_name(i["name"]) for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)
    ]


def parse_uv_lock(path: Path, root: Path, declared: set[str] | None) -> tuple[list[Dependency], list[str]]:
    data = load_toml(path, root)
    source = relative(path, root)
    packages = data.get("package")
    if not isinstance(packages, list):
        raise InventoryError(f"{source}: no [[package]] entries; not a uv.lock")
    graph: dict[str, set[str]] = {}
    runtime_roots: set[str] = set()
    dev_roots: set[str] = set()
    local: set[str] = set()
    entries: list[dict[str, Any]] = []
    for entry in packages:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = canonicalize_name(entry["name"])
        edges = graph.setdefault(name, set())
        edges.update(_uv_refs(entry.get("dependencies")))
        for extra in table(entry.get("optional-dependencies")).values():
            edges.update(_uv_refs(extra))
        src = table(entry.get("source"))
        if LOCAL_SOURCES & src.keys():
            local.add(name)
            runtime_roots.update(_uv_refs(entry.get("dependencies")))
            for extra in table(entry.get("optional-dependencies")).values():
                runtime_roots.update(_uv_refs(extra))
            for group in table(entry.get("dev-dependencies")).values():
                dev_roots.update(_uv_refs(group))
            continue
        entries.append(entry)
    direct_names = declared if declared is not None else (runtime_roots | dev_roots) - local
    runtime = _reach(runtime_roots, graph)
    deps = []
    for entry in entries:
        name = canonicalize_name(entry["name"])
        src = table(entry.get("source"))
        vcs = "git" in src or "url" in src
        version = entry.get("version") if isinstance(entry.get("version"), str) else None
        deps.append(
            Dependency(
                name=name,
                version=None if vcs else version,
                source=source,
                specifier=f"=={version}" if version else "",
                direct=name in direct_names if (local or declared is not None) else None,
                dev=bool(local) and name not in runtime,
                hashes=bool(entry.get("wheels") or entry.get("sdist")),
                note=("vcs" if "git" in src else "url") if vcs else None,
            )
        )
    return deps, []


def parse_pipfile_lock(
    path: Path, root: Path, declared: set[str] | None
) -> tuple[list[Dependency], list[str]]:
    source = relative(path, root)
    try:
        data = orjson.loads(read_text(path, root))
    except orjson.JSONDecodeError:
        raise InventoryError(f"{source}: not valid JSON") from None
    if not isinstance(data, dict) or not ({"default", "develop"} & data.keys()):
        raise InventoryError(f"{source}: no 'default' or 'develop' section; not a Pipfile.lock")
    deps: list[Dependency] = []
    problems: list[str] = []
    for section, dev in (("default", False), ("develop", True)):
        table = data.get(section) or {}
        if not isinstance(table, dict):
            problems.append(f"{source}: section {section!r} is not an object")
            continue
        for raw_name, entry in table.items():
            if not isinstance(entry, dict) or entry.get("editable") or "path" in entry:
                continue
            name = canonicalize_name(str(raw_name))
            spec = str(entry.get("version") or "")
            version = spec[2:].strip() if spec.startswith("==") and not spec.startswith("===") else None
            deps.append(
                Dependency(
                    name=name,
                    version=version,
                    source=source,
                    specifier=spec,
                    direct=_direct(name, declared),
                    dev=dev,
                    markers=entry.get("markers") if isinstance(entry.get("markers"), str) else None,
                    hashes=bool(entry.get("hashes")),
                    group=section,
                    note="vcs" if "git" in entry else None,
                )
            )
    return deps, problems
