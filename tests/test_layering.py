"""The pure layers never import Flask: they run in workers, the CLI and benchmarks alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.config import ROOT

PURE_LAYERS = ["scanners", "ingestion", "advisories", "metrics", "reports"]
FORBIDDEN = ("flask", "flask_login", "flask_wtf", "flask_limiter", "werkzeug")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_pure_layer_never_imports_flask(layer: str) -> None:
    package = ROOT / "app" / layer
    files = list(package.rglob("*.py"))
    assert files, f"app/{layer} has no modules"
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if n.split(".")[0] in FORBIDDEN)
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_services_never_read_flask_globals() -> None:
    offenders = []
    for path in (ROOT / "app" / "services").rglob("*.py"):
        imports = _imports(path)
        if any(n.split(".")[0] in FORBIDDEN for n in imports):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
