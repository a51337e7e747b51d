"""Each real tool, run through Vigil on the deliberately vulnerable sample project, gives exactly what
the same tool reports in its own JSON when run directly: same count, same rule ids and locations.

Also: the sample repository's own ``.bandit`` / ``pyproject.toml`` cannot switch checks off unless
the project honours repository config; inline suppressions are counted; secrets never appear in clear;
the same line flagged by bandit, ruff and semgrep carries one canonical rule id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.scanners.canonical import canonical_rule_id
from app.scanners.registry import SCANNERS, Outcome, ScanOptions, ScanResult
from app.scanners.tool import RULES_DIR
from app.scanners.tools.semgrep import RULE_PACK

SAMPLE = Path(__file__).resolve().parent / "samples" / "vulnerable_project"
BIN = Path(sys.executable).parent
SAMPLE_SECRETS = (
    "sample-insecure-9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
    "hunter2-super-secret-jwt-signing-key",
    "AKIAIOSFODNN7EXAMPLE",
    "Tr0ub4dor&3-sample-not-real",
    "Zx9-sample-allowlisted-pass",
)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the sample project, so tool caches never land in the repository."""
    target = tmp_path_factory.mktemp("scan") / "vulnerable_project"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")


_RESULTS: dict[tuple[str, bool, bool], ScanResult] = {}


def vigil(name: str, checkout: Path, work: Path, honour: bool = False, ignore: bool = False) -> ScanResult:
    key = (name, honour, ignore)
    if key not in _RESULTS:
        options = ScanOptions(
            honour_repo_config=honour,
            ignore_inline_suppressions=ignore,
            work_dir=work / f"{name}-{honour}-{ignore}",
        )
        _RESULTS[key] = SCANNERS[name].run(checkout, options)
    return _RESULTS[key]


def direct(args: list[str], cwd: Path) -> tuple[int, str]:
    env = dict(os.environ, SEMGREP_SEND_METRICS="off", SEMGREP_ENABLE_VERSION_CHECK="0")
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout


def located(result: ScanResult) -> Counter[tuple[str, str | None, int | None]]:
    return Counter((f.tool_rule_id, f.path, f.line) for f in result.findings)


def test_bandit_matches_bandit_json(checkout: Path, work: Path) -> None:
    code, out = direct(
        [str(BIN / "bandit"), "-r", ".", "-f", "json", "-q", "--ini", str(RULES_DIR / "bandit.ini")], checkout
    )
    own = json.loads(out)["results"]
    result = vigil("bandit", checkout, work)
    assert code == 1 and result.outcome is Outcome.FINDINGS and result.complete
    assert len(result.findings) == len(own) >= 15
    assert located(result) == Counter(
        (r["test_id"], r["filename"].removeprefix("./"), r["line_number"]) for r in own
    )
    for rule in ("B102", "B301", "B307", "B506", "B602", "B605"):
        assert rule in {f.tool_rule_id for f in result.findings}
    assert result.tool_version and result.exit_code == 1


def test_bandit_ignores_the_repository_config_unless_honoured(checkout: Path, work: Path) -> None:
    _, out = direct([str(BIN / "bandit"), "-r", ".", "-f", "json", "-q"], checkout)  # reads ./.bandit
    repo_configured = json.loads(out)["results"]
    default = vigil("bandit", checkout, work)
    honoured = vigil("bandit", checkout, work, honour=True)
    assert len(honoured.findings) == len(repo_configured) < len(default.findings)
    assert "B602" in {f.tool_rule_id for f in default.findings}
    assert "B602" not in {f.tool_rule_id for f in honoured.findings}


def test_bandit_counts_and_can_ignore_nosec(checkout: Path, work: Path) -> None:
    default = vigil("bandit", checkout, work)
    assert [(s.kind, s.path, s.line) for s in default.suppressions] == [("nosec", "webapp/suppressed.py", 5)]
    ignoring = vigil("bandit", checkout, work, honour=False, ignore=True)
    assert len(ignoring.findings) == len(default.findings) + 1
    assert ("B602", "webapp/suppressed.py", 5) in located(ignoring)


def test_ruff_matches_ruff_json(checkout: Path, work: Path) -> None:
    result = vigil("ruff", checkout, work)
    select = result.ruleset_version or ""
    code, out = direct(
        [
            str(BIN / "ruff"),
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            select,
            "--output-format",
            "json",
            ".",
        ],
        checkout,
    )
    own = json.loads(out)
    assert code == 1 and result.outcome is Outcome.FINDINGS
    assert len(result.findings) == len(own)
    assert located(result) == Counter(
        (r["code"], str(Path(r["filename"]).relative_to(checkout)), r["location"]["row"]) for r in own
    )
    rules = {f.tool_rule_id for f in result.findings}
    assert {"S301", "S602", "S307", "B904", "SIM102", "SIM116"} <= rules
    assert {f.category for f in result.findings if f.tool_rule_id == "SIM102"} == {"quality"}
    assert [(s.kind, s.line) for s in result.suppressions] == [("noqa", 9)]


def test_ruff_repository_config_only_counts_when_honoured(checkout: Path, work: Path) -> None:
    select = vigil("ruff", checkout, work).ruleset_version or ""
    _, out = direct(
        [str(BIN / "ruff"), "check", "--no-cache", "--select", select, "--output-format", "json", "."],
        checkout,
    )
    honoured = vigil("ruff", checkout, work, honour=True)
    assert len(honoured.findings) == len(json.loads(out))
    assert len(honoured.findings) < len(vigil("ruff", checkout, work).findings)


def test_semgrep_matches_semgrep_json(checkout: Path, work: Path) -> None:
    result = vigil("semgrep", checkout, work)
    code, out = direct(
        [
            str(BIN / "semgrep"),
            "scan",
            "--config",
            str(RULE_PACK),
            "--json",
            "--metrics=off",
            "--disable-version-check",
            "--no-rewrite-rule-ids",
            "--project-root",
            ".",
            ".",
        ],
        checkout,
    )
    own = json.loads(out)
    assert code == 0 and own["errors"] == [] and result.outcome is Outcome.FINDINGS and result.complete
    assert len(result.findings) == len(own["results"])
    assert located(result) == Counter((r["check_id"], r["path"], r["start"]["line"]) for r in own["results"])
    # every shipped rule fires on the sample
    from app.scanners.canonical import SHIPPED_SEMGREP_RULES

    assert {f.tool_rule_id for f in result.findings} == set(SHIPPED_SEMGREP_RULES)
    assert [(s.kind, s.line) for s in result.suppressions] == [("nosemgrep", 13)]
    assert result.ruleset_version and result.ruleset_version.startswith("vigil-")
    assert "--metrics=off" in result.argv


def test_detect_secrets_matches_its_json_and_keeps_no_secret(checkout: Path, work: Path) -> None:
    result = vigil("detect-secrets", checkout, work)
    _, out = direct([str(BIN / "detect-secrets"), "scan", "--all-files", "."], checkout)
    own = [item for items in json.loads(out)["results"].values() for item in items]
    assert result.outcome is Outcome.FINDINGS and len(result.findings) == len(own) >= 4
    assert Counter((f.tool_rule_id, f.path, f.line) for f in result.findings) == Counter(
        (i["type"], i["filename"], i["line_number"]) for i in own
    )
    assert all(
        f.secret_hash and f.secret_hash.startswith("sha1:") and f.snippet is None for f in result.findings
    )
    assert [(s.kind, s.line) for s in result.suppressions] == [("allowlist-secret", 16)]
    ignoring = vigil("detect-secrets", checkout, work, ignore=True)
    assert len(ignoring.findings) == len(result.findings) + 1


def test_mypy_matches_mypy_json(checkout: Path, work: Path) -> None:
    result = vigil("mypy", checkout, work)
    code, out = direct(
        [
            str(BIN / "mypy"),
            "-O",
            "json",
            "--config-file=",
            "--ignore-missing-imports",
            "--cache-dir",
            str(work / "mypy-False-False" / "mypy" / "mypy-cache"),  # reuse the warm cache
            ".",
        ],
        checkout,
    )
    own = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert code == 1 and result.outcome is Outcome.FINDINGS
    assert len(result.findings) == len(own) == 2
    assert located(result) == Counter((m["code"], m["file"], m["line"]) for m in own)
    assert {f.category for f in result.findings} == {"quality"}


def test_pip_audit_equals_direct_run_or_fails_with_the_reason(checkout: Path, work: Path) -> None:
    """Without a reachable vulnerability service pip-audit cannot audit: Vigil records a failed run
    with pip-audit's reason, never 0 findings. With one, Vigil's findings equal pip-audit's."""
    result = vigil("pip-audit", checkout, work)
    code, out = direct(
        [
            str(BIN / "pip-audit"),
            "--no-deps",
            "--disable-pip",
            "--strict",
            "-f",
            "json",
            "-r",
            "requirements.txt",
        ],
        checkout,
    )
    audited: Any = json.loads(out) if out.strip() else None
    deps = audited["dependencies"] if isinstance(audited, dict) else None
    if deps and not any("skip_reason" in d for d in deps):
        own = [(v["id"], d["name"]) for d in deps for v in d.get("vulns", [])]
        assert result.outcome is (Outcome.FINDINGS if own else Outcome.CLEAN)
        assert Counter((f.tool_rule_id, f.package) for f in result.findings) == Counter(own)
    else:
        assert result.outcome is Outcome.FAILED and not result.complete and result.status == "failed"
        assert result.error and ("audited" in result.error or "pip-audit" in result.error)
        assert result.findings == []


def test_one_line_three_tools_one_rule(checkout: Path, work: Path) -> None:
    rules: dict[str, set[str]] = {}
    for name in ("bandit", "ruff", "semgrep"):
        for f in vigil(name, checkout, work).findings:
            if (f.path, f.line) == ("webapp/handlers.py", 12):
                rules.setdefault(name, set()).add(f.rule_id)
    expected = {canonical_rule_id("bandit", "B602")}
    assert rules == {"bandit": expected, "ruff": expected, "semgrep": expected}


def test_no_secret_value_is_ever_kept(checkout: Path, work: Path) -> None:
    for name in ("bandit", "ruff", "semgrep", "detect-secrets"):
        blob = repr(vigil(name, checkout, work))
        for secret in SAMPLE_SECRETS:
            assert secret not in blob, (name, secret)


def test_demo_project_produces_findings_from_every_code_and_secret_scanner(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "app" / "demo" / "sample_project"
    copy = tmp_path / "demo"
    shutil.copytree(demo, copy)
    for name in ("bandit", "ruff", "semgrep", "detect-secrets"):
        result = SCANNERS[name].run(copy, ScanOptions(work_dir=tmp_path / "work"))
        assert result.outcome is Outcome.FINDINGS, (name, result.error)
