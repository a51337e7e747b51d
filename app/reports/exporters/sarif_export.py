"""SARIF 2.1.0 of the open findings, so other tools (code scanning UIs) can show Vigil's view."""

from __future__ import annotations

from typing import Any

import orjson

from app.reports.compliance import ComplianceData, OpenFinding
from app.reports.exporters.base import Exporter

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def _result(finding: OpenFinding) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.title or finding.rule_id},
        "partialFingerprints": {"vigilFindingId/v1": str(finding.id)},
        "properties": {
            "project": finding.project,
            "scanner": finding.scanner,
            "severity": finding.severity,
            "category": finding.category,
            "firstSeen": finding.first_seen.isoformat(),
            "overdue": finding.overdue,
        },
    }
    if finding.path:
        location: dict[str, Any] = {"artifactLocation": {"uri": finding.path}}
        if finding.line and finding.line > 0:
            location["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": location}]
    elif finding.package:
        result["locations"] = [{"logicalLocations": [{"name": finding.package, "kind": "package"}]}]
    if finding.advisory_ids:
        result["properties"]["advisories"] = finding.advisory_ids
    return result


def render(data: ComplianceData) -> bytes:
    rules: dict[str, dict[str, Any]] = {}
    for finding in data.open_findings:
        rules.setdefault(
            finding.rule_id,
            {
                "id": finding.rule_id,
                "shortDescription": {"text": finding.title or finding.rule_id},
                "properties": {"security-severity": SECURITY_SEVERITY[finding.severity]},
            },
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Vigil",
                        "rules": list(rules.values()),
                    }
                },
                "results": [_result(f) for f in data.open_findings],
                "properties": {"asOf": data.as_of.isoformat(), "projects": data.projects},
            }
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


EXPORTER = Exporter("sarif", "application/sarif+json", "sarif", render, "Open findings as SARIF 2.1.0")
