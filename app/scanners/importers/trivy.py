"""Trivy JSON: the ``Results`` schema (SchemaVersion 2, also inside Kubernetes ``Resources``) and the
legacy bare list of results. Each result may carry vulnerabilities, misconfigurations, secrets and
licenses; all four become findings.

A vulnerability whose vendor status is ``not_affected`` is kept but marked suppressed: the vendor's
statement is evidence an auditor wants to see, not a reason to forget the finding. ``fixed`` in Trivy
means a fixed version exists, so such a finding stays open until the package is upgraded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from app.scanners.base import NormalizedFinding
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import dependency_finding, secret_finding
from app.scanners.importers.fields import as_list, cwe_ids, maps, number, opt_map, opt_text, pos_int, text
from app.scanners.importers.levels import canonical, level

FORMAT = "trivy"
_SUPPRESSING_STATUS = {"not_affected"}


def sniff(doc: Any) -> bool:
    if isinstance(doc, Mapping):
        if "SchemaVersion" in doc and ("Results" in doc or "ArtifactName" in doc):
            return True
        if "ClusterName" in doc and any(
            isinstance(doc.get(k), list) for k in ("Resources", "Vulnerabilities")
        ):
            return True
        return isinstance(doc.get("Results"), list) and "ArtifactType" in doc
    if isinstance(doc, list) and doc and isinstance(doc[0], Mapping):
        return "Target" in doc[0] and ("Vulnerabilities" in doc[0] or "Type" in doc[0])
    return False


def _results(doc: Any) -> Iterator[tuple[Mapping[str, Any], str | None]]:
    """Every result with, for Kubernetes reports, the resource it belongs to."""
    if isinstance(doc, list):
        for result in maps(doc, FORMAT, "report"):
            yield result, None
        return
    root: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
    for result in maps(root.get("Results"), FORMAT, "Results"):
        yield result, None
    # Kubernetes reports: "Resources" (current), or "Vulnerabilities"/"Misconfigurations" lists of
    # resources at the top level (the older `trivy k8s` layout).
    for key in ("Resources", "Vulnerabilities", "Misconfigurations"):
        if key != "Resources" and "ClusterName" not in root:
            continue
        for resource in maps(root.get(key), FORMAT, key):
            name = "/".join(
                text(resource.get(k), 200) for k in ("Namespace", "Kind", "Name") if resource.get(k)
            )
            for result in maps(resource.get("Results"), FORMAT, f"{key}[].Results"):
                yield result, name or None


def _cvss(vuln: Mapping[str, Any]) -> dict[str, Any]:
    """The CVSS of the severity source, else NVD's, else the first vendor's."""
    table = opt_map(vuln, "CVSS", FORMAT, "CVSS")
    order = [text(vuln.get("SeveritySource"), 50), "nvd", *[str(k) for k in table]]
    for source in order:
        entry = table.get(source)
        if isinstance(entry, Mapping) and (entry.get("V3Vector") or entry.get("V40Vector")):
            return {
                "cvss_vector": opt_text(entry.get("V3Vector"), 200),
                "cvss_score": number(entry.get("V3Score")),
                "cvss4_vector": opt_text(entry.get("V40Vector"), 300),
                "cvss4_score": number(entry.get("V40Score")),
                "cvss_source": source,
            }
    return {}


def _vulnerability(vuln: Mapping[str, Any], target: str, resource: str | None) -> NormalizedFinding:
    vid = opt_text(vuln.get("VulnerabilityID"), 200) or "unknown"
    status = text(vuln.get("Status"), 40).lower()
    fixed = [part.strip() for part in text(vuln.get("FixedVersion"), 500).split(",")]
    aliases = [text(a, 200) for a in as_list(vuln.get("VendorIDs"), FORMAT, "VendorIDs")]
    return dependency_finding(
        scanner=FORMAT,
        advisory=vid,
        aliases=aliases,
        package=opt_text(vuln.get("PkgName"), 300),
        version=opt_text(vuln.get("InstalledVersion"), 200),
        severity=level(FORMAT, vuln.get("Severity")),
        summary=text(vuln.get("Title"), 500),
        message=text(vuln.get("Description")),
        path=opt_text(vuln.get("PkgPath"), 2000) or target or None,
        fixed_versions=fixed,
        cwe=cwe_ids(vuln.get("CweIDs")),
        suppressed=status in _SUPPRESSING_STATUS,
        extras={
            "target": target,
            "resource": resource,
            "status": status or None,
            "primary_url": opt_text(vuln.get("PrimaryURL"), 500),
            **_cvss(vuln),
        },
    )


def _misconfiguration(item: Mapping[str, Any], target: str, resource: str | None) -> NormalizedFinding | None:
    if text(item.get("Status"), 20).upper() in {"PASS", "EXCEPTION"}:
        return None
    rule = opt_text(item.get("ID"), 200) or opt_text(item.get("AVDID"), 200) or "unknown"
    cause = opt_map(item, "CauseMetadata", FORMAT, "CauseMetadata")
    title = opt_text(item.get("Title"), 300) or rule
    return NormalizedFinding(
        scanner=FORMAT,
        rule_id=canonical(FORMAT, rule),
        tool_rule_id=rule,
        category="security",
        severity=level(FORMAT, item.get("Severity")),
        title=f"{rule} - {title}",
        message=text(item.get("Message")) or text(item.get("Description")),
        path=target or None,
        line=pos_int(cause.get("StartLine")),
        end_line=pos_int(cause.get("EndLine")),
        extras={
            k: v
            for k, v in {
                "resolution": opt_text(item.get("Resolution")),
                "resource": resource,
                "avd_id": opt_text(item.get("AVDID"), 100),
                "type": opt_text(item.get("Type"), 200),
            }.items()
            if v
        },
    )


def _secret(item: Mapping[str, Any], target: str) -> NormalizedFinding:
    rule = opt_text(item.get("RuleID"), 200) or "unknown"
    match = opt_text(item.get("Match"))
    return secret_finding(
        scanner=FORMAT,
        rule=rule,
        title=opt_text(item.get("Title"), 300) or rule,
        secret=opt_text(item.get("Secret")) or match,
        severity=level(FORMAT, item.get("Severity")),
        path=target or None,
        line=pos_int(item.get("StartLine")),
        snippet=match,
        extras={"category": opt_text(item.get("Category"), 100)},
    )


def _license(item: Mapping[str, Any], target: str) -> NormalizedFinding:
    name = opt_text(item.get("Name"), 300) or "unknown"
    package = opt_text(item.get("PkgName"), 300)
    return NormalizedFinding(
        scanner=FORMAT,
        rule_id=canonical(FORMAT, f"license:{name}"),
        tool_rule_id=f"license:{name}",
        category="dependency",
        severity=level(FORMAT, item.get("Severity")),
        title=f"License {name}" + (f" in {package}" if package else ""),
        message=text(item.get("Category"), 100),
        path=opt_text(item.get("FilePath"), 2000) or target or None,
        package=package,
        extras={"license": name, "category": opt_text(item.get("Category"), 100)},
    )


def parse(doc: Any) -> ParsedReport:
    findings: list[NormalizedFinding] = []
    for result, resource in _results(doc):
        target = text(result.get("Target"), 2000)
        for vuln in maps(result.get("Vulnerabilities"), FORMAT, "Vulnerabilities"):
            findings.append(_vulnerability(vuln, target, resource))
        for misconfiguration in maps(result.get("Misconfigurations"), FORMAT, "Misconfigurations"):
            finding = _misconfiguration(misconfiguration, target, resource)
            if finding is not None:
                findings.append(finding)
        findings.extend(_secret(item, target) for item in maps(result.get("Secrets"), FORMAT, "Secrets"))
        findings.extend(_license(item, target) for item in maps(result.get("Licenses"), FORMAT, "Licenses"))
    version = None
    if isinstance(doc, Mapping):
        version = opt_text(opt_map(doc, "Trivy", FORMAT).get("Version"), 50)
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=findings, tool_version=version)


IMPORTER = Importer(
    name=FORMAT,
    scanner=FORMAT,
    media="json",
    sniff=sniff,
    parse=parse,
    description="Trivy JSON (Results and legacy)",
)
