"""Spreadsheet cell guard: text that a spreadsheet would run as a formula is neutralised.

A finding title such as ``=HYPERLINK("http://x")`` comes from scanned code, i.e. from whoever wrote
that code. Prefixing an apostrophe makes Excel and LibreOffice show it as text (OWASP CSV injection).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def guard(value: Any) -> Any:
    """Return a cell value that cannot be interpreted as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
