"""Bandit JSON (``bandit -f json``): Vigil's own bandit runs and uploaded bandit reports alike.

Bandit lists files it could not parse in ``errors``; such a report is incomplete (a file with a
syntax error hides every finding in it), so ingestion closes nothing on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.canonical import canonical_rule_id
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import as_list, as_map, cwe_ids, maps, opt_map, opt_text, pos_int, text
from app.scanners.severity import map_severity

FORMAT = "bandit"
# Checks whose reported code line and message carry the hard-coded secret itself ("Possible
# hardcoded password: '<the value>'"): the snippet is dropped and the quoted value masked.
SECRET_RULES = frozenset({"B105", "B106", "B107"})
_QUOTED = re.compile(r"""(['"]).*\1""", re.DOTALL)


def sniff(document: Any) -> bool:
    return (
        isinstance(document, Mapping)
        and isinstance(document.get("results"), list)
        and isinstance(document.get("metrics"), Mapping)
        and "generated_at" in document
    )


def clean_path(path: str | None) -> str | None:
    while path and path.startswith("./"):
        path = path[2:]
    return path


def _finding(item: Mapping[str, Any]) -> NormalizedFinding:
    test_id = text(item.get("test_id")).strip() or "unknown"
    test_name = text(item.get("test_name")).strip()
    cwe = opt_map(item, "issue_cwe", FORMAT, "results[].issue_cwe")
    line_range = [pos_int(v) for v in as_list(item.get("line_range"), FORMAT, "results[].line_range")]
    end_lines = [v for v in line_range if v is not None]
    secret = test_id in SECRET_RULES
    issue_text = text(item.get("issue_text")).strip()
    if secret:
        issue_text = _QUOTED.sub("'<redacted>'", issue_text)
    return NormalizedFinding(
        scanner="bandit",
        rule_id=canonical_rule_id("bandit", test_id),
        tool_rule_id=test_id,
        category="security",
        severity=map_severity("bandit", opt_text(item.get("issue_severity"))),
        confidence=(opt_text(item.get("issue_confidence")) or "").lower() or None,
        title=issue_text or test_name or test_id,
        message=issue_text,
        path=clean_path(opt_text(item.get("filename"))),
        line=pos_int(item.get("line_number")),
        column=pos_int(item.get("col_offset")),
        end_line=max(end_lines) if end_lines else None,
        snippet=None if secret else opt_text(item.get("code")),
        cwe=cwe_ids(cwe.get("id")),
        extras={"test_name": test_name, "more_info": text(item.get("more_info"))},
    )


def parse(document: Any) -> ParsedReport:
    doc = as_map(document, FORMAT, "report")
    if "results" not in doc:
        raise ReportError(FORMAT, "no 'results' list: not a bandit JSON report")
    findings = [_finding(item) for item in maps(doc.get("results"), FORMAT, "results")]
    errors = maps(doc.get("errors"), FORMAT, "errors")
    problems = tuple(f"{text(e.get('filename')) or '?'}: {text(e.get('reason'))[:200]}" for e in errors[:20])
    return ParsedReport(
        format=FORMAT,
        scanner="bandit",
        findings=findings,
        complete=not errors,
        problems=problems,
        extras={"generated_at": text(doc.get("generated_at"))},
    )


IMPORTER = Importer(
    name=FORMAT,
    scanner="bandit",
    media="json",
    sniff=sniff,
    parse=parse,
    description="bandit -f json",
)
