"""``vigil conformance DIR`` on a small corpus built in tmp_path, laid out like DefectDojo's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from app.cli import main
from app.scanners import conformance

REPORTS = Path(__file__).parent / "fixtures" / "reports"


def build_corpus(root: Path, entries: list[dict[str, Any]]) -> Path:
    for entry in entries:
        target = root / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        source = entry.pop("_source", None)
        if source is None:
            target.write_bytes(b"")
        else:
            shutil.copyfile(REPORTS / source, target)
    (root / "manifest.json").write_text(json.dumps(entries))
    return root


def entry(
    parser: str, path: str, source: str | None, expected: int | None, asserted: dict[str, Any]
) -> dict[str, Any]:
    return {
        "parser": parser,
        "path": path,
        "_source": source,
        "expected_findings": expected,
        "asserted": asserted,
    }


def passing_entries() -> list[dict[str, Any]]:
    return [
        entry(
            "trivy",
            "trivy/legacy.json",
            "trivy_legacy.json",
            1,
            {
                "findings[0].title": "CVE-2018-16840 curl 7.61.0-r0",  # DefectDojo's title convention
                "findings[0].severity": "Critical",
                "findings[0].component_name": "curl",
                "findings[0].component_version": "7.61.0-r0",
                "len(findings[0].unsaved_vulnerability_ids)": 1,
                "findings[0].unsaved_vulnerability_ids[0]": "CVE-2018-16840",
                "findings[0].date": "datetime.datetime(2021, 1, 1)",
            },
        ),
        entry(
            "sarif",
            "sarif/codeql.sarif",
            "sarif_codeql.sarif",
            5,
            {
                "findings[0].file_path": "app/views.py",
                "findings[0].line": 42,
                "findings[0].cwe": 89,
                "findings[0].unique_id_from_tool": "abc123:1",
                "findings[where finding.title == \"Import of 'os' is not used.\"].active": False,
                "len(tests)": 2,
                "tests[1].type": "Semgrep OSS",
            },
        ),
        entry(
            "cyclonedx",
            "cyclonedx/bom.xml",
            "cyclonedx.xml",
            1,
            {
                "findings[0].unsaved_cwes": [184, 502],
                "findings[0].title": "jackson-databind:2.9.4 | CVE-2018-7489",
            },
        ),
        entry(
            "npm_audit",
            "npm_audit/error.json",
            "npm_audit_error.json",
            None,
            {"raises": "ValueError", "str(exception) contains": ["ENOAUDIT"]},
        ),
        # an empty file: Vigil refuses it, and REASONS says why
        entry("osv_scanner", "osv_scanner/no_findings.json", None, 0, {}),
    ]


def test_run_compares_counts_and_fields(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, passing_entries())
    outcomes = conformance.run(corpus)
    assert [(o.path, o.status) for o in outcomes] == [
        ("trivy/legacy.json", "PASS"),
        ("sarif/codeql.sarif", "PASS"),
        ("cyclonedx/bom.xml", "PASS"),
        ("npm_audit/error.json", "PASS"),
        ("osv_scanner/no_findings.json", "DIFFERS"),
    ]
    assert "empty" in outcomes[-1].reason
    assert conformance.unexplained(outcomes) == 0


def test_cli_prints_one_line_per_entry_and_the_summary_last(tmp_path: Path) -> None:
    entries = passing_entries()
    entries.append(entry("gitleaks", "gitleaks/v8.json", "gitleaks_v8.json", 3, {}))
    entries.append(
        entry("safety", "safety/report.json", "safety.json", 2, {"findings[1].component_name": "django"})
    )
    corpus = build_corpus(tmp_path, entries)
    result = CliRunner().invoke(main, ["conformance", str(corpus)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1  # failures without a written reason
    assert lines[:4] == [
        "PASS trivy/legacy.json",
        "PASS sarif/codeql.sarif",
        "PASS cyclonedx/bom.xml",
        "PASS npm_audit/error.json",
    ]
    assert lines[4] == "FAIL gitleaks/v8.json: 2 findings, expected 3"
    assert lines[5] == "FAIL safety/report.json: component_name 'ampache', expected 'django'"
    assert lines[6].startswith("DIFFERS osv_scanner/no_findings.json: the file is empty")
    assert lines[-2] == (
        "parser entries: 4 of 7 passed outright (57.1%), 1 differ with a written reason, 2 fail without one"
    )
    assert lines[-1] == "4 passed, 3 failed"


def test_cli_json_and_clean_exit(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, passing_entries())
    result = CliRunner().invoke(main, ["conformance", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["passed"], body["failed"], body["differs"], body["failed_without_reason"]) == (4, 1, 1, 0)
    assert body["entries"][0] == {
        "path": "trivy/legacy.json",
        "status": "PASS",
        "reason": "",
        "kind": "parser",
        "format": "trivy",
    }


def test_missing_manifest_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["conformance", str(tmp_path)])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {tmp_path}: no manifest.json (expected a corpus laid out like DefectDojo's)"
    )


def test_entry_paths_cannot_leave_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (tmp_path / "outside.json").write_text("[]")
    (corpus / "manifest.json").write_text(
        json.dumps([{"parser": "safety", "path": "../outside.json", "expected_findings": 0}])
    )
    (outcome,) = conformance.run(corpus)
    assert outcome.status == "FAIL" and "leaves the corpus folder" in outcome.reason
