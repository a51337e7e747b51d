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


# Where each field is in the v8 layout and in the v7 one (None: v7 has no such field).
_KEYS: dict[str, tuple[str, str | None]] = {
    "rule": ("RuleID", "rule"),
    "path": ("File", "file"),
    "leaked": ("Secret", "offender"),
    "line": ("StartLine", "lineNumber"),
    "column": ("StartColumn", None),
    "snippet": ("Match", "line"),
    "commit": ("Commit", "commit"),
    "tags": ("Tags", "tags"),
    "description": ("Description", None),
    "fingerprint": ("Fingerprint", None),
}
V8, V7 = 0, 1


def _finding(item: Mapping[str, Any], layout: int) -> Any:
    def field(name: str) -> Any:
        key = _KEYS[name][layout]
        return item.get(key) if key is not None else None

    rule = opt_text(field("rule"), 200) or "unknown"
    description = opt_text(field("description"), 300) or rule
    path = opt_text(field("path"), 2000)
    extras: dict[str, Any] = {"commit": opt_text(field("commit"), 100), "tags": _tags(field("tags"))}
    if layout == V8:
        extras["description"] = description
    return secret_finding(
        scanner=FORMAT,
        rule=rule,
        title=f"Hard-coded {description} in {path}" if path else f"Hard-coded {description}",
        secret=opt_text(field("leaked"), 100_000),
        severity=level(FORMAT, None),
        path=path,
        line=pos_int(field("line")),
        column=pos_int(field("column")),
        snippet=opt_text(field("snippet")),
        fingerprint=opt_text(field("fingerprint"), 500),
        extras=extras,
    )


def parse(doc: Any) -> ParsedReport:
    findings = []
    for item in maps(doc, FORMAT, "report"):
        findings.append(_finding(item, V8 if "RuleID" in item or "Secret" in item else V7))
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=merge_occurrences(findings))


IMPORTER = Importer(
    name=FORMAT, scanner=FORMAT, media="json", sniff=sniff, parse=parse, description="gitleaks JSON (v7, v8)"
)
