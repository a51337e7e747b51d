"""Ruff JSON (``ruff check --output-format json``): a list of violations.

Security rules (``S``) are security findings; everything else Vigil asks ruff for (B904, SIM102 ...)
is a quality violation, counted for trends. Syntax errors (no code) are kept as quality findings so
Vigil's count always equals ruff's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.canonical import canonical_rule_id
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import as_list, maps, opt_map, opt_text, pos_int, text
from app.scanners.severity import map_severity

FORMAT = "ruff"
SYNTAX_ERROR = "syntax-error"
_KEYS = {"code", "message", "filename", "location"}


def sniff(document: Any) -> bool:
    if not isinstance(document, list) or not document:
        return False
    first = document[0]
    return isinstance(first, Mapping) and set(first) >= _KEYS and ("noqa_row" in first or "url" in first)


def is_security(code: str) -> bool:
    return code.startswith("S") and code[1:].isdigit()


def _finding(item: Mapping[str, Any]) -> NormalizedFinding:
    raw_code = opt_text(item.get("code"))
    code = raw_code.upper() if raw_code else SYNTAX_ERROR
    location = opt_map(item, "location", FORMAT, "location")
    end = opt_map(item, "end_location", FORMAT, "end_location")
    security = is_security(code)
    message = text(item.get("message"))
    return NormalizedFinding(
        scanner="ruff",
        rule_id=canonical_rule_id("ruff", code),
        tool_rule_id=code,
        category="security" if security else "quality",
        severity=map_severity("ruff", "SECURITY" if security else "QUALITY", code),
        title=message.split("\n", 1)[0][:300] or code,
        message=message,
        path=opt_text(item.get("filename")),
        line=pos_int(location.get("row")),
        column=pos_int(location.get("column")),
        end_line=pos_int(end.get("row")),
        extras={"url": text(item.get("url"))} if item.get("url") else {},
    )


def parse(document: Any) -> ParsedReport:
    if not isinstance(document, list):
        raise ReportError(FORMAT, "expected a list of violations")
    items = maps(as_list(document, FORMAT, "report"), FORMAT, "violations")
    return ParsedReport(format=FORMAT, scanner="ruff", findings=[_finding(item) for item in items])


IMPORTER = Importer(
    name=FORMAT,
    scanner="ruff",
    media="json",
    sniff=sniff,
    parse=parse,
    description="ruff check --output-format json",
)
