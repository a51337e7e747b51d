"""Parsers for the tools Vigil runs, used for uploads too: both pip-audit layouts, incomplete
reports, placeholders, hostile shapes (one clear error), and format auto-detection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.scanners.base import ReportError
from app.scanners.importers import IMPORTERS
from app.scanners.importers.loader import parse_bytes

DEP_VULN = {
    "name": "django",
    "version": "3.2.9",
    "vulns": [
        {
            "id": "PYSEC-2021-439",
            "fix_versions": ["2.2.25", "3.1.14", "3.2.10"],
            "aliases": ["CVE-2021-44420", "GHSA-v6rh-hp5x-86rv"],
            "description": "In Django 2.2 before 2.2.25 ...",
        }
    ],
}
DEP_CLEAN = {"name": "idna", "version": "3.7", "vulns": []}
DEP_SKIPPED = {"name": "internal-lib", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def parse(fmt: str, document: Any) -> Any:
    return IMPORTERS[fmt].parse(document)


@pytest.mark.parametrize("layout", ["old", "new"])
def test_pip_audit_both_layouts(layout: str) -> None:
    deps = [DEP_CLEAN, DEP_VULN]
    document: Any = deps if layout == "old" else {"dependencies": deps, "fixes": []}
    report = parse("pip-audit", document)
    assert report.complete and len(report.findings) == 1
    finding = report.findings[0]
    assert finding.title == "PYSEC-2021-439 in django:3.2.9"
    assert finding.advisory_ids == ("PYSEC-2021-439", "CVE-2021-44420", "GHSA-v6rh-hp5x-86rv")
    assert (finding.package, finding.installed_version) == ("django", "3.2.9")
    assert finding.fixed_versions == ("2.2.25", "3.1.14", "3.2.10")
    assert finding.category == "dependency" and finding.severity == "medium" and finding.cwe == (1395,)
    assert IMPORTERS["pip-audit"].sniff(document)
    assert parse_bytes(json.dumps(document).encode()).format == "pip-audit"


def test_pip_audit_skip_reason_makes_the_report_incomplete() -> None:
    report = parse("pip-audit", {"dependencies": [DEP_VULN, DEP_SKIPPED]})
    assert not report.complete and len(report.findings) == 1
    assert "internal-lib" in report.problems[0]


def test_semgrep_errors_make_the_report_incomplete_and_placeholders_are_dropped() -> None:
    result = {
        "check_id": "home.me.rules.vigil-unsafe-pickle",
        "path": "a.py",
        "start": {"line": 3, "col": 1},
        "end": {"line": 3, "col": 20},
        "extra": {
            "message": "pickle",
            "severity": "ERROR",
            "metadata": {"cwe": ["CWE-502: Deserialization of Untrusted Data"]},
            "fingerprint": "requires login",
            "lines": "requires login",
        },
    }
    report = parse(
        "semgrep", {"results": [result], "errors": [{"level": "warn", "message": "b.py: parse error"}]}
    )
    assert not report.complete and "parse error" in report.problems[0]
    finding = report.findings[0]
    assert finding.tool_rule_id == "vigil-unsafe-pickle" and finding.rule_id == "py.pickle"
    assert finding.tool_fingerprint is None and finding.snippet is None
    assert finding.severity == "high" and finding.cwe == (502,)


def test_detect_secrets_keeps_hashes_and_marks_audited_false_positives() -> None:
    document = {
        "version": "1.5.0",
        "plugins_used": [],
        "results": {
            "cfg.py": [
                {"type": "Secret Keyword", "filename": "cfg.py", "hashed_secret": "a" * 40, "line_number": 3},
                {
                    "type": "Secret Keyword",
                    "filename": "cfg.py",
                    "hashed_secret": "b" * 40,
                    "line_number": 9,
                    "is_secret": False,
                },
            ]
        },
    }
    report = parse("detect-secrets", document)
    assert [f.secret_hash for f in report.findings] == ["sha1:" + "a" * 40, "sha1:" + "b" * 40]
    assert [f.suppressed for f in report.findings] == [False, True]
    assert {f.category for f in report.findings} == {"secret"}
    assert parse_bytes(json.dumps(document).encode()).format == "detect-secrets"


def test_bandit_masks_the_hard_coded_value() -> None:
    item = {
        "code": '4 SECRET_KEY = "hunter2hunter2"\n',
        "filename": "./cfg.py",
        "issue_confidence": "MEDIUM",
        "issue_severity": "LOW",
        "issue_text": "Possible hardcoded password: 'hunter2hunter2'",
        "line_number": 4,
        "line_range": [4],
        "test_id": "B105",
        "test_name": "hardcoded_password_string",
    }
    document = {"errors": [], "generated_at": "2026-01-01T00:00:00Z", "metrics": {}, "results": [item]}
    finding = parse("bandit", document).findings[0]
    assert "hunter2" not in repr(finding)
    assert finding.path == "cfg.py" and finding.rule_id == "py.hardcoded_password_string"
    assert parse_bytes(json.dumps(document).encode()).format == "bandit"


def test_ruff_syntax_errors_count_as_quality_findings() -> None:
    document = [
        {
            "code": None,
            "message": "SyntaxError: Expected an expression",
            "filename": "/r/x.py",
            "location": {"row": 1, "column": 5},
            "end_location": {"row": 1, "column": 6},
            "noqa_row": None,
            "url": None,
        },
        {
            "code": "S301",
            "message": "pickle",
            "filename": "/r/y.py",
            "location": {"row": 2, "column": 1},
            "end_location": {"row": 2, "column": 9},
            "noqa_row": 2,
            "url": "https://docs.astral.sh/ruff/rules/suspicious-pickle-usage",
        },
    ]
    report = parse("ruff", document)
    assert [(f.tool_rule_id, f.category) for f in report.findings] == [
        ("syntax-error", "quality"),
        ("S301", "security"),
    ]
    assert report.findings[1].rule_id == "py.pickle"
    assert parse_bytes(json.dumps(document).encode()).format == "ruff"


def test_mypy_list_is_read() -> None:
    document = [
        {
            "file": "a.py",
            "line": 2,
            "column": 4,
            "message": "bad",
            "hint": "try this",
            "code": "arg-type",
            "severity": "error",
        }
    ]
    report = parse("mypy", document)
    assert report.findings[0].rule_id == "mypy:arg-type" and report.findings[0].message == "bad\ntry this"
    assert parse_bytes(json.dumps(document).encode()).format == "mypy"


@pytest.mark.parametrize(
    ("fmt", "document"),
    [
        ("bandit", {"results": "nope", "errors": []}),
        ("bandit", {"errors": []}),
        ("bandit", [1, 2]),
        ("semgrep", {"results": [{"path": "x"}], "errors": []}),
        ("semgrep", {"results": [[]], "errors": []}),
        ("pip-audit", {"deps": []}),
        ("pip-audit", [{"name": "x", "version": "1", "vulns": "bad"}]),
        ("detect-secrets", {"results": []}),
        ("ruff", {"a": 1}),
        ("mypy", [1]),
    ],
)
def test_hostile_shapes_give_one_clear_error(fmt: str, document: Any) -> None:
    with pytest.raises(ReportError) as caught:
        parse(fmt, document)
    message = str(caught.value)
    assert message.startswith(f"{fmt}: ") and "\n" not in message
