"""Fuzz targets for the importers (issue 11 item 3): mutated documents give findings or a ReportError.

Each family starts from a valid fixture report and replaces random parts of it with random JSON
values (or, for XML and raw bytes, random byte edits), then imports it. Any exception other than
ReportError is a bug: on the web it would be a 500, in a worker a crashed import. The CI run is short;
``VIGIL_FUZZ_EXAMPLES`` raises the number of examples for long runs.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scanners.base import ReportError
from app.scanners.importers import IMPORTERS
from app.scanners.importers.base import ParsedReport
from app.scanners.importers.loader import decode, detect

REPORTS = Path(__file__).parent / "fixtures" / "reports"
EXAMPLES = int(os.environ.get("VIGIL_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JSON_FAMILIES = {
    "sarif": "sarif_codeql.sarif",
    "trivy": "trivy_results.json",
    "osv-scanner": "osv_scanner.json",
    "cyclonedx": "cyclonedx.json",
    "npm-audit": "npm_audit_v7.json",
    "gitleaks": "gitleaks_v8.json",
    "trufflehog3": "trufflehog3.json",
    "safety": "safety.json",
    # The tools Vigil runs itself: real output for tests/samples/vulnerable_project (pip-audit,
    # which needs the network, written in its documented layout).
    "bandit": "bandit.json",
    "semgrep": "semgrep.json",
    "ruff": "ruff.json",
    "detect-secrets": "detect_secrets.json",  # pragma: allowlist secret - a format name
    "pip-audit": "pip_audit.json",
    "mypy": "mypy.json",
}
BYTE_FAMILIES = [
    "dependency_check.xml",
    "cyclonedx.xml",
    "cyclonedx_ext.xml",
    "trufflehog_v3.jsonl",
    "npm_audit_v6.json",
]
# Importers whose target is a byte family only (the file name says which importer reads it).
BYTE_TARGETS = {
    "dependency-check": "dependency_check.xml",
    "cyclonedx-xml": "cyclonedx.xml",
    "trufflehog": "trufflehog_v3.jsonl",
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def test_every_importer_has_a_fuzz_target() -> None:
    """A new importer without a target fails here, so hostile input is fuzzed for every format."""
    assert set(BYTE_TARGETS.values()) <= set(BYTE_FAMILIES)
    assert set(IMPORTERS) == set(JSON_FAMILIES) | set(BYTE_TARGETS)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in node.items()}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(node)]


def _import(document: Any, fmt: str) -> None:
    """Calls the importer itself, not the loader: the loader's last-resort conversion of stray
    TypeErrors into ReportError must not hide an importer that forgot to validate a type."""
    try:
        result = IMPORTERS[fmt].parse(document)
    except ReportError:
        return
    assert isinstance(result, ParsedReport)


@pytest.mark.parametrize("fmt", sorted(JSON_FAMILIES))
@FUZZ
@given(data=st.data())
def test_mutated_json_documents(fmt: str, data: st.DataObject) -> None:
    document = json.loads((REPORTS / JSON_FAMILIES[fmt]).read_text())
    paths = _paths(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(paths))
        document = _replace(document, path, data.draw(json_values))
        paths = _paths(document)
    _import(document, fmt)


@pytest.mark.parametrize("fmt", sorted(JSON_FAMILIES))
@FUZZ
@given(document=json_values)
def test_random_json_documents(fmt: str, document: Any) -> None:
    _import(document, fmt)


@pytest.mark.parametrize("name", BYTE_FAMILIES)
@FUZZ
@given(data=st.data())
def test_byte_mutations(name: str, data: st.DataObject) -> None:
    raw = bytearray((REPORTS / name).read_bytes())
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            raw[position] = data.draw(st.integers(min_value=0, max_value=255))
        elif action == "delete":
            del raw[position : position + data.draw(st.integers(min_value=1, max_value=40))]
        else:
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=20))
        if not raw:
            raw = bytearray(b"x")
    try:
        media, document = decode(bytes(raw), "auto")
        importer = detect(media, document)
    except ReportError:
        return
    with contextlib.suppress(ReportError):
        assert isinstance(importer.parse(document), ParsedReport)
