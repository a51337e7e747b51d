"""Defensive field access for decoded reports.

A hostile or simply broken report can put a list where a string belongs, a string where an object
belongs, or a 40-digit number in a line field. Importers read every value through these helpers,
which either return the expected type or raise a :class:`ReportError` naming the format, so the
caller sees one clear line and never an ``AttributeError`` from deep inside a parser.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.scanners.base import ReportError

MAX_TEXT = 20_000
MAX_LINE = 10_000_000
_CWE_RE = re.compile(r"CWE[-_ :]?(\d{1,6})", re.IGNORECASE)
_DIGITS_RE = re.compile(r"^\d{1,6}$")


def as_map(value: Any, fmt: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReportError(fmt, f"{what} should be an object, found {_kind(value)}")
    return value


def as_list(value: Any, fmt: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(fmt, f"{what} should be a list, found {_kind(value)}")
    return value


def maps(value: Any, fmt: str, what: str) -> list[Mapping[str, Any]]:
    """A list whose every item must be an object."""
    return [as_map(item, fmt, f"{what}[{index}]") for index, item in enumerate(as_list(value, fmt, what))]


def opt_map(obj: Mapping[str, Any], key: str, fmt: str, what: str = "") -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    return as_map(value, fmt, what or key)


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """Any scalar as text (numbers become their decimal form); containers and None become ''."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)[:limit]


def opt_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    result = text(value, limit).strip()
    return result or None


def pos_int(value: Any) -> int | None:
    """A line or column number: a positive int (or numeric string) within a sane range, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS_RE.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and 0 < value <= MAX_LINE:
        return value
    return None


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def cwe_ids(*values: Any) -> tuple[int, ...]:
    """CWE numbers from ints, ``"CWE-79"`` strings, ``"79"`` strings or lists of those, deduplicated."""
    found: list[int] = []

    def add(item: Any) -> None:
        if isinstance(item, bool):
            return
        if isinstance(item, int):
            if 0 < item < 1_000_000:
                found.append(item)
        elif isinstance(item, str):
            matches = _CWE_RE.findall(item)
            if matches:
                found.extend(int(m) for m in matches if int(m) > 0)
            elif _DIGITS_RE.match(item.strip()) and int(item.strip()) > 0:
                found.append(int(item.strip()))
        elif isinstance(item, list | tuple):
            for sub in item[:100]:
                add(sub)

    for value in values:
        add(value)
    return tuple(dict.fromkeys(found))


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def secret_digest(secret: str) -> str:
    """What Vigil stores instead of a secret: enough to recognise it again, useless to an attacker."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def redact(snippet: str | None, *secrets: str | None) -> str | None:
    """A snippet with every occurrence of the secret(s) replaced, so the clear value is never stored."""
    if snippet is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 1:
            snippet = snippet.replace(secret, redacted(secret))
    return snippet


def redacted(secret: str) -> str:
    """A short marker standing in for a secret: its first characters for recognition, then stars."""
    keep = 4 if len(secret) >= 16 else 0
    return secret[:keep] + "*" * 8


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )
