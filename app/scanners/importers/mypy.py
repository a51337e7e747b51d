"""mypy JSON (``mypy -O json``): type errors as quality violations.

mypy writes one JSON object per line; Vigil's own runs gather the lines into a list, and an
uploaded report may be that list. Each entry is one finding so the count equals mypy's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.canonical import canonical_rule_id
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import maps, opt_text, pos_int, text
from app.scanners.severity import map_severity

FORMAT = "mypy"
_KEYS = {"file", "line", "message", "severity"}


def sniff(document: Any) -> bool:
    if not isinstance(document, list) or not document:
        return False
    first = document[0]
    return isinstance(first, Mapping) and set(first) >= _KEYS and "code" in first and "hint" in first


def _finding(item: Mapping[str, Any]) -> NormalizedFinding:
    code = opt_text(item.get("code")) or "misc"
    message = text(item.get("message"))
    hint = opt_text(item.get("hint"))
    return NormalizedFinding(
        scanner="mypy",
        rule_id=canonical_rule_id("mypy", code),
        tool_rule_id=code,
        category="quality",
        severity=map_severity("mypy", opt_text(item.get("severity"))),
        title=message.split("\n", 1)[0][:300] or code,
        message=message + (f"\n{hint}" if hint else ""),
        path=opt_text(item.get("file")),
        line=pos_int(item.get("line")),
        column=pos_int(item.get("column")),
        end_line=pos_int(item.get("end_line")),
    )


def parse(document: Any) -> ParsedReport:
    if not isinstance(document, list):
        raise ReportError(FORMAT, "expected a list of mypy messages")
    return ParsedReport(
        format=FORMAT,
        scanner="mypy",
        findings=[_finding(item) for item in maps(document, FORMAT, "messages")],
    )


IMPORTER = Importer(
    name=FORMAT,
    scanner="mypy",
    media="json",
    sniff=sniff,
    parse=parse,
    description="mypy -O json (as a list)",
)
