"""Checklist 39: each tool's exit code and output -> clean / findings / failed, never clean for a
failure; semgrep and pip-audit argument lists always carry their safety flags.

The tools here are fake executables (real processes) printing what the real tool prints in each
situation, so every cell of the matrix is exercised without depending on the network."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from app.scanners.registry import SCANNERS, Outcome, ScanOptions
from app.scanners.tool import ToolScanner
from app.scanners.tools.bandit import BanditScanner
from app.scanners.tools.detect_secrets import DetectSecretsScanner
from app.scanners.tools.mypy import MypyScanner
from app.scanners.tools.pip_audit import PipAuditScanner
from app.scanners.tools.ruff import RuffScanner
from app.scanners.tools.semgrep import SemgrepScanner
from tests.scanner_helpers import make_fake_tool

BANDIT_RESULT = {
    "code": "1 import pickle\n",
    "filename": "./app.py",
    "issue_confidence": "HIGH",
    "issue_cwe": {"id": 502, "link": "https://cwe.mitre.org/data/definitions/502.html"},
    "issue_severity": "LOW",
    "issue_text": "Consider possible security implications associated with pickle module.",
    "line_number": 1,
    "line_range": [1],
    "more_info": "https://bandit.readthedocs.io/",
    "test_id": "B403",
    "test_name": "blacklist",
}


def bandit_doc(results: list[Any], errors: list[Any] | None = None) -> str:
    return json.dumps(
        {"errors": errors or [], "generated_at": "2026-11-24T08:00:00Z", "metrics": {}, "results": results}
    )


RUFF_RESULT = {
    "code": "S602",
    "message": "`subprocess` call with `shell=True` identified, security issue",
    "filename": "/repo/app.py",
    "location": {"row": 3, "column": 5},
    "end_location": {"row": 3, "column": 40},
    "noqa_row": 3,
    "url": "https://docs.astral.sh/ruff/rules/subprocess-popen-with-shell-equals-true",
    "fix": None,
}
SEMGREP_RESULT = {
    "check_id": "vigil-eval-used",
    "path": "app.py",
    "start": {"line": 4, "col": 1},
    "end": {"line": 4, "col": 9},
    "extra": {"message": "eval", "severity": "WARNING", "metadata": {}, "lines": "requires login"},
}


def semgrep_doc(results: list[Any], errors: list[Any] | None = None, scanned: int = 1) -> str:
    return json.dumps(
        {
            "version": "1.182.0",
            "results": results,
            "errors": errors or [],
            "paths": {"scanned": ["app.py"] * scanned},
        }
    )


def pip_doc(deps: list[Any]) -> str:
    return json.dumps({"dependencies": deps, "fixes": []})


VULN_DEP = {
    "name": "pyyaml",
    "version": "5.3",
    "vulns": [
        {"id": "PYSEC-2020-96", "fix_versions": ["5.3.1"], "aliases": ["CVE-2020-1747"], "description": "x"}
    ],
}
CLEAN_DEP = {"name": "idna", "version": "3.7", "vulns": []}
SKIPPED_DEP = {
    "name": "flask",
    "skip_reason": "Dependency not found on PyPI and could not be audited: flask (0.12.2)",
}
SECRETS_DOC = {
    "version": "1.5.0",
    "plugins_used": [],
    "filters_used": [],
    "results": {
        "app.py": [
            {
                "type": "Secret Keyword",
                "filename": "app.py",
                "hashed_secret": "ab" * 20,
                "is_verified": False,
                "line_number": 2,
            }
        ]
    },
}
MYPY_LINE = json.dumps(
    {
        "file": "app.py",
        "line": 2,
        "column": 4,
        "message": "Incompatible return value type",
        "hint": None,
        "code": "return-value",
        "severity": "error",
    }
)

CASES: list[tuple[type[ToolScanner], int, str, Outcome, str]] = [
    # bandit: 0 clean, 1 findings, 2 error; errors[] or disagreement between exit code and output fail
    (BanditScanner, 0, bandit_doc([]), Outcome.CLEAN, ""),
    (BanditScanner, 1, bandit_doc([BANDIT_RESULT]), Outcome.FINDINGS, ""),
    (BanditScanner, 2, "", Outcome.FAILED, "exited with code 2"),
    (
        BanditScanner,
        0,
        bandit_doc([], [{"filename": "./bad.py", "reason": "syntax error while parsing AST"}]),
        Outcome.FAILED,
        "incomplete",
    ),
    (BanditScanner, 1, bandit_doc([]), Outcome.FAILED, "lists none"),
    (BanditScanner, 0, "Traceback (most recent call last):", Outcome.FAILED, "unreadable"),
    (BanditScanner, 0, "", Outcome.FAILED, "no output"),
    # ruff: 0 clean, 1 violations, 2 error
    (RuffScanner, 0, "[]", Outcome.CLEAN, ""),
    (RuffScanner, 1, json.dumps([RUFF_RESULT]), Outcome.FINDINGS, ""),
    (RuffScanner, 2, "", Outcome.FAILED, "exited with code 2"),
    (RuffScanner, 0, json.dumps([RUFF_RESULT]), Outcome.FAILED, "exited 0"),
    # semgrep: 0 ran (findings or not); errors[] -> failed; 2 and 7 are errors
    (SemgrepScanner, 0, semgrep_doc([]), Outcome.CLEAN, ""),
    (SemgrepScanner, 0, semgrep_doc([SEMGREP_RESULT]), Outcome.FINDINGS, ""),
    (
        SemgrepScanner,
        0,
        semgrep_doc([SEMGREP_RESULT], [{"level": "error", "type": "Syntax error", "message": "x.py"}]),
        Outcome.FAILED,
        "incomplete",
    ),
    (
        SemgrepScanner,
        2,
        semgrep_doc([], [{"level": "error", "message": "boom"}]),
        Outcome.FAILED,
        "exited with code 2",
    ),
    (SemgrepScanner, 7, "", Outcome.FAILED, "exited with code 7"),
    (SemgrepScanner, 0, semgrep_doc([], scanned=0), Outcome.FAILED, "scanned no files"),
    # pip-audit: 0 no vulns, 1 vulns; missing JSON, skip_reason, nothing audited -> failed
    (PipAuditScanner, 0, pip_doc([CLEAN_DEP]), Outcome.CLEAN, ""),
    (PipAuditScanner, 1, pip_doc([VULN_DEP, CLEAN_DEP]), Outcome.FINDINGS, ""),
    (PipAuditScanner, 1, "", Outcome.FAILED, "no report written: tool said: boom"),
    (PipAuditScanner, 0, pip_doc([CLEAN_DEP, SKIPPED_DEP]), Outcome.FAILED, "not audited"),
    (PipAuditScanner, 1, pip_doc([SKIPPED_DEP]), Outcome.FAILED, "not audited"),
    (PipAuditScanner, 0, pip_doc([]), Outcome.FAILED, "audited no dependency"),
    (
        PipAuditScanner,
        0,
        '{"dependencies": [{"name": "idna", "version": "3.7", "vulns": [',
        Outcome.FAILED,
        "unreadable",
    ),
    (PipAuditScanner, 2, "", Outcome.FAILED, "pip-audit failed"),
    # detect-secrets: 0 only
    (DetectSecretsScanner, 0, json.dumps({**SECRETS_DOC, "results": {}}), Outcome.CLEAN, ""),
    (DetectSecretsScanner, 0, json.dumps(SECRETS_DOC), Outcome.FINDINGS, ""),
    (DetectSecretsScanner, 1, "", Outcome.FAILED, "exited with code 1"),
    # mypy: 0 clean, 1 errors, 2 crash
    (MypyScanner, 0, "", Outcome.CLEAN, ""),
    (MypyScanner, 1, MYPY_LINE + "\n", Outcome.FINDINGS, ""),
    (MypyScanner, 2, "", Outcome.FAILED, "exited with code 2"),
    (MypyScanner, 1, "", Outcome.FAILED, "lists none"),
]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("import pickle\n")
    (repo / "requirements.txt").write_text("pyyaml==5.3\nidna==3.7\n")
    return repo


@pytest.mark.parametrize(
    ("scanner_class", "exit_code", "stdout", "expected", "reason"),
    CASES,
    ids=[f"{c[0].__name__}-exit{c[1]}-{c[3].value}-{i}" for i, c in enumerate(CASES)],
)
def test_checklist_39_exit_and_output_matrix(
    tmp_path: Path,
    checkout: Path,
    scanner_class: type[ToolScanner],
    exit_code: int,
    stdout: str,
    expected: Outcome,
    reason: str,
) -> None:
    stdout = stdout.replace('"/repo/', f'"{checkout}/')  # ruff reports absolute paths
    tool = make_fake_tool(
        tmp_path / "bin", mode="output", stdout=stdout, exit=exit_code, stderr="tool said: boom\n"
    )
    scanner = type("Fake", (scanner_class,), {"binary": str(tool)})()
    result = scanner.run(checkout, ScanOptions(work_dir=tmp_path / "work"))
    assert result.outcome is expected, result.error
    assert result.exit_code == exit_code
    assert result.tool_version == "9.9.9"
    if expected is Outcome.FAILED:
        assert not result.complete and result.status == "failed"
        assert reason in (result.error or "")
    else:
        assert result.complete and result.status == "succeeded" and result.error is None
        assert bool(result.findings) == (expected is Outcome.FINDINGS)
    if result.findings:
        assert all(f.path == "app.py" for f in result.findings if f.path)  # relative to the checkout


def test_checklist_39_failure_is_never_clean() -> None:
    from app.scanners.scan import ScanResult

    with pytest.raises(ValueError):
        ScanResult(scanner="bandit", outcome=Outcome.FAILED, error="x")  # complete defaults to True
    with pytest.raises(ValueError):
        ScanResult(scanner="bandit", outcome=Outcome.CLEAN, complete=False)
    with pytest.raises(ValueError):
        ScanResult(scanner="bandit", outcome=Outcome.FAILED, complete=False)  # no reason
    failed = ScanResult.failure("bandit", "exited 2")
    assert failed.outcome is Outcome.FAILED and not failed.complete


ALL_OPTIONS = [
    ScanOptions(honour_repo_config=h, ignore_inline_suppressions=i, exclude_paths=e)
    for h, i, e in itertools.product([False, True], [False, True], [(), ("tests", "docs/*")])
]


@pytest.mark.parametrize("options", ALL_OPTIONS)
def test_checklist_39_semgrep_argv_always_offline_and_local(
    checkout: Path, tmp_path: Path, options: ScanOptions
) -> None:
    argv = SemgrepScanner().argv("/usr/bin/semgrep", checkout, options, tmp_path)
    assert "--metrics=off" in argv
    assert "--disable-version-check" in argv
    assert "auto" not in argv and "--config=auto" not in argv
    configs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--config"]
    assert configs and all(Path(c).is_absolute() and Path(c).is_dir() for c in configs)
    assert not any(arg.startswith(("p/", "r/", "http")) for arg in argv)
    assert ("--disable-nosem" in argv) == options.ignore_inline_suppressions
    env = SemgrepScanner().env(options)
    assert env["SEMGREP_SEND_METRICS"] == "off" and env["SEMGREP_ENABLE_VERSION_CHECK"] == "0"


@pytest.mark.parametrize("options", ALL_OPTIONS)
def test_checklist_39_pip_audit_argv_always_strict_and_pip_free(
    checkout: Path, tmp_path: Path, options: ScanOptions
) -> None:
    argv = PipAuditScanner().argv("/usr/bin/pip-audit", checkout, options, tmp_path)
    for flag in ("--no-deps", "--disable-pip", "--strict"):
        assert flag in argv
    assert argv[argv.index("-f") + 1] == "json"
    assert argv[argv.index("-r") + 1] == "requirements.txt"


@pytest.mark.parametrize("bad", ["../requirements.txt", "/etc/passwd", "-rrequirements.txt", "missing.txt"])
def test_pip_audit_refuses_unsafe_or_missing_dependency_files(
    checkout: Path, tmp_path: Path, bad: str
) -> None:
    result = SCANNERS["pip-audit"].run(
        checkout, ScanOptions(dependency_files=(bad,), work_dir=tmp_path / "w")
    )
    assert result.outcome is Outcome.FAILED and "dependency file" in (result.error or "")


def test_repo_config_switches(checkout: Path, tmp_path: Path) -> None:
    default = ScanOptions()
    honour = ScanOptions(honour_repo_config=True, ignore_inline_suppressions=True)
    bandit_default = BanditScanner().argv("bandit", checkout, default, tmp_path)
    assert "--ini" in bandit_default and "--ignore-nosec" not in bandit_default
    bandit_honour = BanditScanner().argv("bandit", checkout, honour, tmp_path)
    assert "--ini" not in bandit_honour and "--ignore-nosec" in bandit_honour
    assert "--isolated" in RuffScanner().argv("ruff", checkout, default, tmp_path)
    ruff_honour = RuffScanner().argv("ruff", checkout, honour, tmp_path)
    assert "--isolated" not in ruff_honour and "--ignore-noqa" in ruff_honour
    # mypy config can load plugins (code from the scanned repository): never read
    assert "--config-file=" in MypyScanner().argv("mypy", checkout, honour, tmp_path)


def test_semgrep_keeps_an_address_space_it_can_start_in_and_caps_memory_itself(
    checkout: Path, tmp_path: Path
) -> None:
    options = ScanOptions().with_limits(memory_mb=512)
    assert SemgrepScanner().limits(options).memory_mb == 4096
    argv = SemgrepScanner().argv("/usr/bin/semgrep", checkout, options, tmp_path)
    assert argv[argv.index("--max-memory") + 1] == "384"
    assert BanditScanner().limits(options).memory_mb == 512
