"""Semgrep JSON (``semgrep scan --json``): Vigil's shipped-rule runs and uploaded semgrep reports.

Semgrep exits 0 even when it could not parse files or rules; those land in ``errors``. A report with
errors is incomplete: the files it skipped may hold findings, so nothing may be closed on it.
Semgrep's ``fingerprint`` is used as the tool fingerprint, except the placeholder ``requires login``
that semgrep OSS writes there (and in ``lines``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.canonical import canonical_rule_id, semgrep_rule_name
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import as_map, cwe_ids, maps, opt_map, opt_text, pos_int, text
from app.scanners.severity import map_severity

FORMAT = "semgrep"
PLACEHOLDER = "requires login"
QUALITY_CATEGORIES = frozenset(
    {"best-practice", "maintainability", "correctness", "performance", "portability"}
)
# Rules whose matched lines are the secret: the snippet is not kept.
SECRET_RULE_HINTS = ("secret", "password", "token", "credential", "api-key", "private-key")


def sniff(document: Any) -> bool:
    return (
        isinstance(document, Mapping)
        and isinstance(document.get("results"), list)
        and isinstance(document.get("errors"), list)
        and "metrics" not in document
        and "runs" not in document
        and all(isinstance(r, Mapping) and "check_id" in r for r in document["results"][:5])
    )


def _real(value: Any) -> str | None:
    result = opt_text(value)
    return None if result is None or result == PLACEHOLDER else result


def _finding(item: Mapping[str, Any]) -> NormalizedFinding:
    check_id = text(item.get("check_id")).strip()
    if not check_id:
        raise ReportError(FORMAT, "a result has no check_id")
    extra = opt_map(item, "extra", FORMAT, "results[].extra")
    metadata = opt_map(extra, "metadata", FORMAT, "results[].extra.metadata")
    start = opt_map(item, "start", FORMAT, "results[].start")
    end = opt_map(item, "end", FORMAT, "results[].end")
    category = text(metadata.get("category")).lower()
    rule = semgrep_rule_name(check_id)
    message = text(extra.get("message")).strip()
    secretish = any(hint in check_id.lower() for hint in SECRET_RULE_HINTS)
    confidence = opt_text(metadata.get("confidence"))
    return NormalizedFinding(
        scanner="semgrep",
        rule_id=canonical_rule_id("semgrep", check_id),
        tool_rule_id=rule,
        category="quality" if category in QUALITY_CATEGORIES else "security",
        severity=map_severity("semgrep", opt_text(extra.get("severity"))),
        confidence=confidence.lower() if confidence else None,
        title=(message.split("\n", 1)[0][:300] or rule),
        message=message,
        path=opt_text(item.get("path")),
        line=pos_int(start.get("line")),
        column=pos_int(start.get("col")),
        end_line=pos_int(end.get("line")),
        snippet=None if secretish else _real(extra.get("lines")),
        cwe=cwe_ids(metadata.get("cwe")),
        tool_fingerprint=_real(extra.get("fingerprint")),
        suppressed=extra.get("is_ignored") is True,
        extras={"check_id": check_id} if check_id != rule else {},
    )


def parse(document: Any) -> ParsedReport:
    doc = as_map(document, FORMAT, "report")
    if not isinstance(doc.get("results"), list):
        raise ReportError(FORMAT, "no 'results' list: not a semgrep JSON report")
    findings = [_finding(item) for item in maps(doc.get("results"), FORMAT, "results")]
    errors = maps(doc.get("errors"), FORMAT, "errors")
    problems = tuple(
        f"{text(e.get('level')) or 'error'}: {(text(e.get('message')) or text(e.get('type')))[:200]}"
        for e in errors[:20]
    )
    return ParsedReport(
        format=FORMAT,
        scanner="semgrep",
        findings=findings,
        tool_version=opt_text(doc.get("version")),
        complete=not errors,
        problems=problems,
        extras=_scanned(doc),
    )


def _scanned(doc: Mapping[str, Any]) -> dict[str, Any]:
    """How many files semgrep says it scanned, when it says (used to catch a silent zero)."""
    paths = doc.get("paths")
    if isinstance(paths, Mapping) and isinstance(paths.get("scanned"), list):
        return {"scanned": len(paths["scanned"])}
    return {}


IMPORTER = Importer(
    name=FORMAT,
    scanner="semgrep",
    media="json",
    sniff=sniff,
    parse=parse,
    description="semgrep scan --json",
)
