"""gitleaks JSON: the v8 layout (``RuleID``, ``Secret``, ``StartLine``) and the v7 one (``rule``,
``offender``, ``lineNumber``). Both are a bare list, recognised by their keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import merge_occurrences, secret_finding
from app.scanners.importers.fields import as_list, maps, opt_text, pos_int, text
from app.scanners.importers.levels import level

FORMAT = "gitleaks"
_V8_KEYS = {"RuleID", "Secret", "StartLine"}
_V7_KEYS = {"offender", "rule", "commit"}


def sniff(doc: Any) -> bool:
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], Mapping):
        return False
    keys = set(doc[0])
    return keys >= _V8_KEYS or keys >= _V7_KEYS


def _tags(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [tag.strip() for tag in raw.split(",") if tag.strip()]
    return [text(tag, 100) for tag in as_list(raw, FORMAT, "Tags") if text(tag, 100)]


def _v8(item: Mapping[str, Any]) -> Any:
    rule = opt_text(item.get("RuleID"), 200) or "unknown"
    description = opt_text(item.get("Description"), 300) or rule
    path = opt_text(item.get("File"), 2000)
    secret = opt_text(item.get("Secret"), 100_000)
    return secret_finding(
        scanner=FORMAT,
        rule=rule,
        title=f"Hard-coded {description} in {path}" if path else f"Hard-coded {description}",
        secret=secret,
        severity=level(FORMAT, None),
        path=path,
        line=pos_int(item.get("StartLine")),
        column=pos_int(item.get("StartColumn")),
        snippet=opt_text(item.get("Match")),
        fingerprint=opt_text(item.get("Fingerprint"), 500),
        extras={
            "commit": opt_text(item.get("Commit"), 100),
            "tags": _tags(item.get("Tags")),
            "description": description,
        },
    )


def _v7(item: Mapping[str, Any]) -> Any:
    rule = opt_text(item.get("rule"), 200) or "unknown"
    path = opt_text(item.get("file"), 2000)
    secret = opt_text(item.get("offender"), 100_000)
    return secret_finding(
        scanner=FORMAT,
        rule=rule,
        title=f"Hard-coded {rule} in {path}" if path else f"Hard-coded {rule}",
        secret=secret,
        severity=level(FORMAT, None),
        path=path,
        line=pos_int(item.get("lineNumber")),
        snippet=opt_text(item.get("line")),
        extras={"commit": opt_text(item.get("commit"), 100), "tags": _tags(item.get("tags"))},
    )


def parse(doc: Any) -> ParsedReport:
    findings = []
    for item in maps(doc, FORMAT, "report"):
        findings.append(_v8(item) if "RuleID" in item or "Secret" in item else _v7(item))
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=merge_occurrences(findings))


IMPORTER = Importer(
    name=FORMAT, scanner=FORMAT, media="json", sniff=sniff, parse=parse, description="gitleaks JSON (v7, v8)"
)
