"""Each imported format gives the right findings (counts and fields), and auto-detection finds it.

The fixtures under tests/fixtures/reports/ are small reports written for these tests in each tool's
documented layout.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers import IMPORTERS
from app.scanners.importers.loader import iter_report, parse_bytes, parse_report

REPORTS = Path(__file__).parent / "fixtures" / "reports"


def by_rule(findings: list[NormalizedFinding]) -> dict[str, NormalizedFinding]:
    return {f.tool_rule_id: f for f in findings}


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [
        ("sarif_codeql.sarif", "sarif", 5),
        ("gitleaks_v8.json", "gitleaks", 2),
        ("gitleaks_v7.json", "gitleaks", 1),
        ("trufflehog_v3.jsonl", "trufflehog", 2),
        ("trufflehog_v2.jsonl", "trufflehog", 1),
        ("trufflehog3.json", "trufflehog3", 1),
        ("trivy_results.json", "trivy", 5),
        ("trivy_legacy.json", "trivy", 1),
        ("trivy_k8s_legacy.json", "trivy", 2),
        ("osv_scanner.json", "osv-scanner", 1),
        ("cyclonedx.json", "cyclonedx", 2),
        ("cyclonedx.xml", "cyclonedx-xml", 1),
        ("cyclonedx_ext.xml", "cyclonedx-xml", 1),
        ("dependency_check.xml", "dependency-check", 3),
        ("npm_audit_v6.json", "npm-audit", 1),
        ("npm_audit_v7.json", "npm-audit", 1),
        ("safety.json", "safety", 2),
    ],
)
def test_auto_detection_and_explicit_format_agree(name: str, fmt: str, count: int) -> None:
    detected = parse_report(REPORTS / name)
    explicit = parse_report(REPORTS / name, fmt)
    assert IMPORTERS[fmt].scanner == detected.format
    assert len(detected.findings) == count
    assert detected.findings == explicit.findings


def test_sarif_rules_suppressions_fingerprints_and_runs() -> None:
    report = parse_report(REPORTS / "sarif_codeql.sarif")
    assert report.extras["tools"] == ["codeql", "semgrep-oss"]
    assert report.tool_version == "2.19.0"
    assert not report.complete and "unsuccessful" in report.problems[0]
    sqli, unused, key1, key2, semgrep = report.findings
    assert (sqli.severity, sqli.cwe, sqli.line, sqli.column, sqli.end_line) == ("high", (89,), 42, 9, 43)
    assert sqli.tool_fingerprint == "abc123:1" and sqli.confidence == "high"
    assert sqli.extras["help"] == "Use parameterized queries." and sqli.extras["baseline_state"] == "new"
    assert sqli.extras["cvss_score"] == 8.8 and sqli.snippet == "cursor.execute(q)"
    # message from messageStrings + arguments, path from the artifacts table, inSource suppression
    assert unused.title == "Import of 'os' is not used." and unused.path == "app/__init__.py"
    assert unused.suppressed and unused.category == "quality" and unused.severity == "info"
    # rule from an extension, CWE from relationships, one finding per location, nested fingerprint value
    assert (key1.path, key2.path) == ("/src/app/settings.py", "app/other.py")
    assert (
        key1.cwe == (798,) and key1.tool_fingerprint == "fp-nested" and key2.tool_fingerprint == "fp-nested#1"
    )
    # a rejected suppression does not suppress; absent results are not findings
    assert semgrep.scanner == "semgrep-oss" and not semgrep.suppressed and semgrep.severity == "high"


def test_sarif_streaming_yields_the_same_findings() -> None:
    stream = iter_report(REPORTS / "sarif_codeql.sarif")
    streamed = list(stream)
    assert streamed == parse_report(REPORTS / "sarif_codeql.sarif").findings
    assert stream.scanner == "sarif" and not stream.complete


def test_sarif_stream_handles_results_before_tool(tmp_path: Path) -> None:
    path = tmp_path / "late-tool.sarif"
    path.write_text(
        '{"version": "2.1.0", "runs": [{"results": [{"ruleId": "R1", "message": {"text": "m"}}],'
        ' "tool": {"driver": {"name": "Late", "rules": [{"id": "R1",'
        ' "defaultConfiguration": {"level": "error"}}]}}}]}'
    )
    (finding,) = list(iter_report(path))
    assert finding.scanner == "late" and finding.severity == "high"
    assert [finding] == parse_report(path).findings


def test_secrets_are_hashed_and_redacted() -> None:
    report = parse_report(REPORTS / "gitleaks_v8.json")
    aws = by_rule(report.findings)["aws-access-token"]
    assert aws.extras["occurrences"] == 2  # same secret in two commits: one finding
    assert aws.secret_hash and aws.secret_hash.startswith("sha256:")
    for finding in report.findings:
        assert "AKIAFAKEFAKEFAKE1234" not in repr(finding)
        assert "zq8fakefakefakefakefake" not in repr(finding)
    v3 = parse_report(REPORTS / "trufflehog_v3.jsonl").findings
    assert [(f.tool_rule_id, f.severity) for f in v3] == [("AWS", "critical"), ("Slack", "high")]
    assert all("AKIAFAKEFAKEFAKE9999" not in repr(f) and "xoxb-fake" not in repr(f) for f in v3)
    trivy_secret = by_rule(parse_report(REPORTS / "trivy_results.json").findings)["github-pat"]
    assert "ghp_fake" not in repr(trivy_secret) and trivy_secret.category == "secret"


def test_trivy_vulnerabilities_misconfigurations_secrets_licenses() -> None:
    findings = by_rule(parse_report(REPORTS / "trivy_results.json").findings)
    certifi = findings["CVE-2023-37920"]
    assert (certifi.package, certifi.installed_version, certifi.fixed_versions) == (
        "certifi",
        "2022.12.7",
        ("2023.7.22",),
    )
    assert certifi.advisory_ids == ("CVE-2023-37920", "GHSA-xqr8-7jwr-rhp7") and certifi.cwe == (345,)
    assert certifi.extras["cvss_score"] == 7.5 and not certifi.suppressed  # "fixed" = a fix exists
    assert findings["CVE-2019-18276"].suppressed  # vendor says not affected
    assert findings["KSV001"].title.startswith("KSV001 - ") and findings["KSV001"].line == 10
    assert "KSV002" not in findings  # passing checks are not findings
    assert findings["license:GPL-3.0"].package == "gcc"


def test_trivy_kubernetes_layouts_name_the_resource() -> None:
    apt, root = parse_report(REPORTS / "trivy_k8s_legacy.json").findings
    assert (apt.package, apt.extras["resource"]) == ("apt", "default/Deployment/web")
    assert root.title == "KSV012 - Runs as root user" and root.extras["resource"] == "default/Deployment/web"


def test_dependency_formats_carry_package_versions_and_aliases() -> None:
    (osv,) = parse_report(REPORTS / "osv_scanner.json").findings
    assert osv.advisory_ids == ("GHSA-462w-v97r-4m45", "PYSEC-2019-217", "CVE-2019-10906")
    assert (osv.package, osv.installed_version, osv.fixed_versions, osv.severity) == (
        "jinja2",
        "2.10",
        ("2.10.1",),
        "high",
    )
    django, sqlparse = parse_report(REPORTS / "cyclonedx.json").findings
    assert django.advisory_ids == ("CVE-2021-33203", "GHSA-68w8-qjq3-2gfm") and django.cwe == (22,)
    assert django.extras["cvss_vector"].startswith("CVSS:3.1/AV:N")
    assert sqlparse.package == "sqlparse" and sqlparse.severity == "high" and sqlparse.suppressed
    (jackson,) = parse_report(REPORTS / "cyclonedx.xml").findings
    assert (jackson.package, jackson.severity, jackson.cwe) == ("jackson-databind", "critical", (184, 502))
    (apt,) = parse_report(REPORTS / "cyclonedx_ext.xml").findings
    assert (apt.package, apt.installed_version, apt.severity) == ("apt", "1.8.2.1", "low")
    log4j, suppressed, jquery = parse_report(REPORTS / "dependency_check.xml").findings
    assert (log4j.package, log4j.installed_version) == ("org.apache.logging.log4j:log4j-core", "2.13.2")
    assert log4j.extras["cvss_vector"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H" and log4j.cwe == (
        502,
        400,
    )
    assert suppressed.suppressed and suppressed.tool_rule_id == "CVE-2021-45046"
    assert (jquery.package, jquery.installed_version, jquery.advisory_ids) == ("jquery", "1.8.0", ())
    (growl,) = parse_report(REPORTS / "npm_audit_v6.json").findings
    assert growl.advisory_ids == ("CVE-2017-16042",) and growl.tool_rule_id == "npm:146"
    assert (growl.cwe, growl.severity, growl.path) == ((94,), "critical", "mocha>censored_by_npm_audit")
    (debug,) = parse_report(REPORTS / "npm_audit_v7.json").findings
    assert debug.advisory_ids == ("GHSA-gxpj-cx7g-858c", "GHSA-9vvw-cc9w-f27h") and debug.cwe == (400, 1333)
    first, second = parse_report(REPORTS / "safety.json").findings
    assert first.advisory_ids == ("pyup.io-33063", "CVE-2011-4136") and second.installed_version == "3.8.2"


def test_npm_unclassified_advisory_cwe_follows_the_report_version() -> None:
    """npm 6 ``cwe: null`` is filed under CWE-1035; an npm 7+ empty CWE list stays empty."""
    v6 = (REPORTS / "npm_audit_v6.json").read_bytes().replace(b'"cwe": "CWE-94"', b'"cwe": null')
    v7 = orjson.loads((REPORTS / "npm_audit_v7.json").read_bytes())
    for entry in v7["vulnerabilities"].values():
        for via in entry["via"]:
            if isinstance(via, dict):
                via["cwe"] = []
    ((growl,), (debug,)) = (parse_bytes(v6).findings, parse_bytes(orjson.dumps(v7)).findings)
    assert (growl.cwe, debug.cwe) == ((1035,), ())


def test_npm_error_report_is_refused_not_read_as_clean() -> None:
    with pytest.raises(ReportError, match="npm audit report contains errors: ENOAUDIT"):
        parse_report(REPORTS / "npm_audit_error.json")


def test_unknown_format_lists_what_was_tried() -> None:
    with pytest.raises(ReportError) as caught:
        parse_bytes(b'{"hello": "world"}')
    assert caught.value.format == "auto"
    assert "not a recognised report format (tried sarif, cyclonedx" in str(caught.value)


def test_unknown_format_name() -> None:
    with pytest.raises(ReportError, match="unknown report format"):
        parse_report(REPORTS / "safety.json", "nessus")


def test_wrong_format_named_explicitly_is_a_report_error() -> None:
    with pytest.raises(ReportError) as caught:
        parse_report(REPORTS / "npm_audit_v6.json", "dependency-check")
    assert caught.value.format == "dependency-check"
    with pytest.raises(ReportError):
        parse_report(REPORTS / "safety.json", "sarif")
