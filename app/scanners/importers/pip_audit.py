"""pip-audit JSON (``pip-audit -f json``), both layouts: the old bare list of dependencies and the
newer ``{"dependencies": [...], "fixes": [...]}``.

A dependency pip-audit could not audit carries ``skip_reason``: such a report is incomplete (the
skipped package may well be vulnerable), never a clean bill of health.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.canonical import canonical_rule_id
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import as_list, maps, opt_text, text, unique
from app.scanners.severity import map_severity

FORMAT = "pip-audit"
# CWE-1395: dependency on a vulnerable third-party component.
VULNERABLE_COMPONENT_CWE = 1395


def _dependencies(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, list):
        return maps(document, FORMAT, "dependencies")
    if isinstance(document, Mapping) and "dependencies" in document:
        return maps(document.get("dependencies"), FORMAT, "dependencies")
    raise ReportError(FORMAT, "expected a list of dependencies or an object with 'dependencies'")


def _is_dependency(item: Any) -> bool:
    return isinstance(item, Mapping) and "name" in item and ("vulns" in item or "skip_reason" in item)


def sniff(document: Any) -> bool:
    if isinstance(document, Mapping) and isinstance(document.get("dependencies"), list):
        deps = document["dependencies"]
        return not deps or _is_dependency(deps[0])
    return isinstance(document, list) and bool(document) and _is_dependency(document[0])


def parse(document: Any) -> ParsedReport:
    findings: list[NormalizedFinding] = []
    problems: list[str] = []
    dependencies = _dependencies(document)
    for dep in dependencies:
        name = text(dep.get("name")).strip()
        version = opt_text(dep.get("version"))
        skip = opt_text(dep.get("skip_reason"))
        if skip:
            problems.append(f"{name or '?'} not audited: {skip[:200]}")
            continue
        for vuln in maps(dep.get("vulns"), FORMAT, f"{name}.vulns"):
            vuln_id = text(vuln.get("id")).strip()
            if not vuln_id:
                raise ReportError(FORMAT, f"a vulnerability of {name} has no id")
            aliases = [text(a) for a in as_list(vuln.get("aliases"), FORMAT, "aliases")]
            fixes = [text(v) for v in as_list(vuln.get("fix_versions"), FORMAT, "fix_versions")]
            findings.append(
                NormalizedFinding(
                    scanner="pip-audit",
                    rule_id=canonical_rule_id("pip-audit", vuln_id),
                    tool_rule_id=vuln_id,
                    category="dependency",
                    severity=map_severity("pip-audit", "VULNERABILITY"),
                    title=f"{vuln_id} in {name}:{version or '?'}",
                    message=text(vuln.get("description")),
                    cwe=(VULNERABLE_COMPONENT_CWE,),
                    advisory_ids=unique([vuln_id, *aliases]),
                    package=name or None,
                    installed_version=version,
                    fixed_versions=unique(fixes),
                )
            )
    return ParsedReport(
        format=FORMAT,
        scanner="pip-audit",
        findings=findings,
        complete=not problems,
        problems=tuple(problems),
        extras={"audited": len(dependencies) - len(problems)},
    )


IMPORTER = Importer(
    name=FORMAT,
    scanner="pip-audit",
    media="json",
    sniff=sniff,
    parse=parse,
    description="pip-audit -f json (list or dependencies layout)",
)
