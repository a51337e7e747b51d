"""trufflehog v2 and v3 (JSON lines, one object per hit) and trufflehog3 (a JSON list).

v2 and trufflehog3's legacy layout report the same file once per commit and per rule, with the
matched diff lines in ``stringsFound``: Vigil keeps one finding per (file, rule) and hashes the set
of matched strings. v3 verifies credentials against the provider: a verified hit is critical.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import merge_occurrences, secret_finding
from app.scanners.importers.fields import as_list, maps, opt_map, opt_text, pos_int, text
from app.scanners.importers.levels import level

FORMAT = "trufflehog"
FORMAT3 = "trufflehog3"


def _first(doc: Any) -> Mapping[str, Any] | None:
    if isinstance(doc, Mapping):
        return doc
    if isinstance(doc, list) and doc and isinstance(doc[0], Mapping):
        return doc[0]
    return None


def sniff(doc: Any) -> bool:
    first = _first(doc)
    if first is None:
        return False
    return ("SourceMetadata" in first and "DetectorName" in first) or (
        "stringsFound" in first and "printDiff" in first
    )


def sniff3(doc: Any) -> bool:
    first = _first(doc) if isinstance(doc, list) else None
    if first is None:
        return False
    return (isinstance(first.get("rule"), Mapping) and "secret" in first and "path" in first) or (
        "stringsFound" in first and "reason" in first and "printDiff" not in first
    )


def _grouped(items: list[Mapping[str, Any]], scanner: str, severity: str) -> list[NormalizedFinding]:
    """v2 / trufflehog3 legacy: one finding per (path, reason) with every matched string hashed."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for item in items:
        key = (text(item.get("path"), 2000), text(item.get("reason"), 200) or "unknown")
        groups.setdefault(key, []).append(item)
    findings = []
    for (path, reason), hits in groups.items():
        strings = sorted(
            {
                text(s, 100_000)
                for hit in hits
                for s in as_list(hit.get("stringsFound"), scanner, "stringsFound")
            }
            - {""}
        )
        commits = [text(hit.get("commitHash"), 100) for hit in hits if hit.get("commitHash")]
        finding = secret_finding(
            scanner=scanner,
            rule=reason,
            title=f"{reason} found in {path}" if path else reason,
            secret="\n".join(strings) or None,
            severity=severity,
            path=path or None,
            extras={"occurrences": len(hits), "commits": commits[:50], "strings_found": len(strings)},
        )
        findings.append(finding)
    return findings


def _v3(item: Mapping[str, Any]) -> NormalizedFinding:
    metadata = opt_map(opt_map(item, "SourceMetadata", FORMAT), "Data", FORMAT, "SourceMetadata.Data")
    source: Mapping[str, Any] = {}
    for value in metadata.values():
        if isinstance(value, Mapping):
            source = value
            break
    detector = opt_text(item.get("DetectorName"), 200) or "unknown"
    verified = item.get("Verified") is True
    # "Redacted" is not stored: for some detectors (AWS key ids) trufflehog puts the clear value there.
    raw = text(item.get("Raw"), 100_000)
    secret = _maybe_base64(raw) or raw or None
    path = opt_text(source.get("file"), 2000) or opt_text(source.get("path"), 2000)
    return secret_finding(
        scanner=FORMAT,
        rule=detector,
        title=f"{'Verified' if verified else 'Unverified'} {detector} secret"
        + (f" in {path}" if path else ""),
        secret=secret,
        severity=level(FORMAT, "verified" if verified else "unverified"),
        path=path,
        line=pos_int(source.get("line")),
        extras={
            "verified": verified,
            "commit": opt_text(source.get("commit"), 100),
            "repository": opt_text(source.get("repository"), 500),
        },
    )


def _maybe_base64(raw: str) -> str | None:
    """Older v3 builds base64-encode ``Raw``; hash the decoded secret so both builds agree."""
    if not raw or len(raw) % 4:
        return None
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded.isprintable() or "\n" in decoded else None


def parse(doc: Any) -> ParsedReport:
    items = maps([doc] if isinstance(doc, Mapping) else doc, FORMAT, "report")
    v3 = [item for item in items if "DetectorName" in item]
    v2 = [item for item in items if "DetectorName" not in item]
    findings = [_v3(item) for item in v3]
    findings = merge_occurrences(findings) + _grouped(v2, FORMAT, level(FORMAT, "history"))
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=findings)


def _current(item: Mapping[str, Any]) -> NormalizedFinding:
    rule = opt_map(item, "rule", FORMAT3)
    rule_id = opt_text(rule.get("id"), 200) or "unknown"
    path = opt_text(item.get("path"), 2000)
    line = pos_int(item.get("line"))
    context = opt_map(item, "context", FORMAT3)
    snippet = text(context.get(text(item.get("line"), 20))) or None
    message = opt_text(rule.get("message"), 300) or rule_id
    return secret_finding(
        scanner=FORMAT3,
        rule=rule_id,
        title=f"{message} found in {path}" if path else message,
        secret=opt_text(item.get("secret"), 100_000),
        severity=level(FORMAT3, rule.get("severity")),
        path=path,
        line=line,
        snippet=snippet,
        extras={"commit": opt_text(item.get("commit"), 100), "branch": opt_text(item.get("branch"), 200)},
    )


def parse3(doc: Any) -> ParsedReport:
    items = maps(doc, FORMAT3, "report")
    current = [item for item in items if isinstance(item.get("rule"), Mapping)]
    legacy = [item for item in items if not isinstance(item.get("rule"), Mapping)]
    findings = merge_occurrences([_current(item) for item in current]) + _grouped(
        legacy, FORMAT3, level(FORMAT3, None)
    )
    return ParsedReport(format=FORMAT3, scanner=FORMAT3, findings=findings)


IMPORTER = Importer(
    name=FORMAT,
    scanner=FORMAT,
    media="json",
    sniff=sniff,
    parse=parse,
    description="trufflehog v2 and v3 (JSON lines)",
)
IMPORTER3 = Importer(
    name=FORMAT3, scanner=FORMAT3, media="json", sniff=sniff3, parse=parse3, description="trufflehog3 JSON"
)
