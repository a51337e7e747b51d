"""detect-secrets JSON (``detect-secrets scan`` output or a ``.secrets.baseline``).

detect-secrets never writes the secret itself, only its SHA-1 (``hashed_secret``); Vigil keeps that
hash as the finding's secret identity and stores no snippet. Entries audited as not secret
(``is_secret: false``) are kept but marked suppressed, so Vigil's count equals the tool's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.canonical import canonical_rule_id
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import as_map, maps, opt_text, pos_int, text
from app.scanners.severity import map_severity

FORMAT = "detect-secrets"
HARD_CODED_CREDENTIALS_CWE = 798


def sniff(document: Any) -> bool:
    return (
        isinstance(document, Mapping)
        and isinstance(document.get("results"), Mapping)
        and "plugins_used" in document
    )


def _finding(filename: str, item: Mapping[str, Any]) -> NormalizedFinding:
    kind = text(item.get("type")).strip() or "Secret"
    hashed = opt_text(item.get("hashed_secret"))
    return NormalizedFinding(
        scanner="detect-secrets",
        rule_id=canonical_rule_id("detect-secrets", kind),
        tool_rule_id=kind,
        category="secret",
        severity=map_severity("detect-secrets", "SECRET"),
        title=kind,
        message=f"{kind} found by detect-secrets",
        path=opt_text(item.get("filename")) or filename,
        line=pos_int(item.get("line_number")),
        cwe=(HARD_CODED_CREDENTIALS_CWE,),
        secret_hash=f"sha1:{hashed}" if hashed else None,
        suppressed=item.get("is_secret") is False,
        extras={"is_verified": item.get("is_verified") is True},
    )


def parse(document: Any) -> ParsedReport:
    doc = as_map(document, FORMAT, "report")
    if "results" not in doc:
        raise ReportError(FORMAT, "no 'results' object: not a detect-secrets report")
    results = as_map(doc.get("results"), FORMAT, "results")
    findings = [
        _finding(str(filename), item)
        for filename, items in results.items()
        for item in maps(items, FORMAT, f"results[{filename!r}]")
    ]
    return ParsedReport(
        format=FORMAT,
        scanner="detect-secrets",
        findings=findings,
        tool_version=opt_text(doc.get("version")),
        extras={"generated_at": text(doc.get("generated_at"))},
    )


IMPORTER = Importer(
    name=FORMAT,
    scanner="detect-secrets",
    media="json",
    sniff=sniff,
    parse=parse,
    description="detect-secrets scan / baseline",
)
