"""osv-scanner JSON (``--format json``): one finding per (package, vulnerability group).

osv-scanner already groups aliases (``groups[].ids``); Vigil keeps one finding per group so an
advisory published under a GHSA and a PYSEC id is one finding, whichever id is primary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.advisories.severity import record_severity
from app.scanners.base import NormalizedFinding
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import dependency_finding
from app.scanners.importers.fields import as_list, cwe_ids, maps, opt_map, opt_text, text
from app.scanners.importers.levels import level

FORMAT = "osv-scanner"


def sniff(doc: Any) -> bool:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("results"), list):
        return False
    results = doc["results"]
    if not results:
        return "experimental_config" in doc
    first = results[0]
    return isinstance(first, Mapping) and "packages" in first and "source" in first


def _fixed(vuln: Mapping[str, Any], package: str) -> list[str]:
    fixed = []
    for affected in maps(vuln.get("affected"), FORMAT, "affected"):
        name = text(opt_map(affected, "package", FORMAT).get("name"), 300)
        if name and name != package:
            continue
        for range_ in maps(affected.get("ranges"), FORMAT, "ranges"):
            for event in maps(range_.get("events"), FORMAT, "events"):
                if event.get("fixed") is not None:
                    fixed.append(text(event.get("fixed"), 100))
    return fixed


def _cwes(vuln: Mapping[str, Any]) -> tuple[int, ...]:
    values: list[Any] = [opt_map(vuln, "database_specific", FORMAT).get("cwe_ids")]
    for affected in maps(vuln.get("affected"), FORMAT, "affected"):
        specific = opt_map(affected, "database_specific", FORMAT)
        for cwe in as_list(specific.get("cwes"), FORMAT, "cwes"):
            values.append(cwe.get("cweId") if isinstance(cwe, Mapping) else cwe)
    return cwe_ids(*values)


def _severity(vulns: list[Mapping[str, Any]]) -> str:
    """The worst level among the group's records (see app.advisories.severity for the evidence order)."""
    order = ["info", "low", "medium", "high", "critical"]
    levels = []
    for vuln in vulns:
        found, _ = record_severity(dict(vuln))
        if found:
            levels.append(found)
    return max(levels, key=order.index) if levels else level(FORMAT, None)


def _package_findings(source: str, entry: Mapping[str, Any]) -> list[NormalizedFinding]:
    package = opt_map(entry, "package", FORMAT)
    name = opt_text(package.get("name"), 300)
    version = opt_text(package.get("version"), 200)
    vulns = {text(v.get("id"), 200): v for v in maps(entry.get("vulnerabilities"), FORMAT, "vulnerabilities")}
    groups = [
        [text(i, 200) for i in as_list(group.get("ids"), FORMAT, "groups[].ids")]
        for group in maps(entry.get("groups"), FORMAT, "groups")
    ]
    grouped = {i for group in groups for i in group}
    groups += [[vid] for vid in vulns if vid not in grouped]
    findings = []
    for ids in groups:
        records = [vulns[i] for i in ids if i in vulns]
        if not records:
            continue
        primary = records[0]
        aliases = [text(a, 200) for r in records for a in as_list(r.get("aliases"), FORMAT, "aliases")]
        cwes: tuple[int, ...] = ()
        for record in records:
            cwes += tuple(c for c in _cwes(record) if c not in cwes)
        findings.append(
            dependency_finding(
                scanner=FORMAT,
                advisory=text(primary.get("id"), 200),
                aliases=[*ids, *aliases],
                package=name,
                version=version,
                severity=_severity(records),
                summary=text(primary.get("summary"), 500),
                message=text(primary.get("details")),
                path=source or None,
                fixed_versions=[f for r in records for f in _fixed(r, name or "")],
                cwe=cwes,
                extras={"ecosystem": opt_text(package.get("ecosystem"), 50)},
            )
        )
    return findings


def parse(doc: Any) -> ParsedReport:
    root: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
    findings: list[NormalizedFinding] = []
    for result in maps(root.get("results"), FORMAT, "results"):
        source = text(opt_map(result, "source", FORMAT).get("path"), 2000)
        for entry in maps(result.get("packages"), FORMAT, "packages"):
            findings.extend(_package_findings(source, entry))
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=findings)


IMPORTER = Importer(
    name=FORMAT, scanner=FORMAT, media="json", sniff=sniff, parse=parse, description="osv-scanner JSON"
)
