"""CycloneDX SBOMs (JSON): the components whose package URL says PyPI.

Only ``pkg:pypi/...`` components are taken: an SBOM also lists npm packages, operating-system
packages and files, which PyPI advisories say nothing about. The ``dependencies`` graph tells
direct components (those the root component depends on) from transitive ones; ``scope: excluded``
marks components that are not part of the shipped runtime (development-only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from packaging.utils import canonicalize_name

from app.advisories.inventory.base import Dependency, InventoryError, read_text, relative, table

MAX_COMPONENTS = 200_000


def parse_purl(purl: str) -> tuple[str, str | None] | None:
    """(name, version) of a ``pkg:pypi/name@version`` URL, or None for any other package type."""
    if not purl.lower().startswith("pkg:pypi/"):
        return None
    body = purl[len("pkg:pypi/") :].split("#", 1)[0].split("?", 1)[0]
    name, _, version = body.partition("@")
    if not name:
        return None
    return canonicalize_name(unquote(name)), (unquote(version) or None)


def _walk(components: Any, out: list[dict[str, Any]]) -> None:
    if not isinstance(components, list):
        return
    for component in components:
        if isinstance(component, dict):
            out.append(component)
            if len(out) > MAX_COMPONENTS:
                raise InventoryError(f"more than {MAX_COMPONENTS} components")
            _walk(component.get("components"), out)


def looks_like_cyclonedx(data: Any) -> bool:
    return isinstance(data, dict) and data.get("bomFormat") == "CycloneDX"


def parse_cyclonedx(path: Path, root: Path) -> tuple[list[Dependency], list[str]]:
    source = relative(path, root)
    try:
        data = orjson.loads(read_text(path, root))
    except orjson.JSONDecodeError:
        raise InventoryError(f"{source}: not valid JSON") from None
    if not looks_like_cyclonedx(data):
        raise InventoryError(f"{source}: not a CycloneDX JSON document (bomFormat is not 'CycloneDX')")
    components: list[dict[str, Any]] = []
    try:
        _walk(data.get("components"), components)
    except InventoryError as exc:
        raise InventoryError(f"{source}: {exc}") from None
    root_component = table(table(data.get("metadata")).get("component"))
    root_ref = root_component.get("bom-ref")
    direct_refs: set[str] | None = None
    for entry in data.get("dependencies") or []:
        if isinstance(entry, dict) and root_ref and entry.get("ref") == root_ref:
            direct_refs = {str(r) for r in entry.get("dependsOn") or []}
    deps: list[Dependency] = []
    problems: list[str] = []
    for component in components:
        purl = component.get("purl")
        parsed = parse_purl(purl) if isinstance(purl, str) else None
        if parsed is None:
            continue
        name, version = parsed
        if version is None and isinstance(component.get("version"), str):
            version = component["version"]
        ref = component.get("bom-ref")
        deps.append(
            Dependency(
                name=name,
                version=version,
                source=source,
                specifier=f"=={version}" if version else "",
                direct=None if direct_refs is None else ref in direct_refs,
                dev=component.get("scope") == "excluded",
                hashes=bool(component.get("hashes")),
            )
        )
    return deps, problems
