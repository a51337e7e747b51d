"""Decoding untrusted reports without letting the report choose how much memory or stack we spend.

A report arrives from a CI job or an upload form, so its author may be hostile. Every decoder here
checks the size on disk before reading a byte, refuses JSON that the standard library would accept
but that has no business in a report (``NaN``, ``Infinity``, duplicate keys, 5,000-digit numbers,
nesting deep enough to exhaust the stack) and parses XML only through defusedxml, which refuses
entity definitions and external references. Every refusal is a :class:`ReportError` naming the format
and the problem in one line, so the CLI prints ``error: ...`` and the web answers 400.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element  # nosec B405 - the type only; parsing goes through defusedxml

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring

from app.scanners.base import ReportError
from app.scanners.importers.json_batches import decode_document

DEFAULT_MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class JsonLimits:
    """Bounds a report must respect. Real reports stay far below all of them."""

    max_depth: int = 200
    max_int_digits: int = 64


LIMITS = JsonLimits()
# json_batches leaves numbers of 19 digits or more to the careful decoder; its float tokens stay
# within 2 x 32 characters, so any limit from 32 digits up treats them alike.
_FAST_MIN_INT_DIGITS = 32


def check_size(path: Path, fmt: str, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Refuse a file larger than ``max_bytes`` from its size on disk, before anything reads it."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ReportError(fmt, f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not Path(path).is_file():
        raise ReportError(fmt, f"{path.name} is not a regular file")
    if size > max_bytes:
        raise ReportError(fmt, f"report is {size:,} bytes, larger than the {max_bytes:,}-byte limit")
    return size


def read_bytes(path: Path, fmt: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a whole report, never more than ``max_bytes`` even if the file grows while we read."""
    check_size(path, fmt, max_bytes)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ReportError(fmt, f"cannot read {path.name}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ReportError(fmt, f"report is larger than the {max_bytes:,}-byte limit")
    return data


def _decode_text(data: bytes, fmt: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReportError(fmt, "report is not valid UTF-16 text") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(fmt, f"report is not UTF-8 text (bad byte at offset {exc.start})") from None


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key[:80]!r} in an object")
            seen.add(key)
    return result


class _Refused(ValueError):
    """Raised inside the decoder's hooks; turned into a ReportError with the format's name."""


def _make_int_parser(limits: JsonLimits) -> Any:
    def parse_int(text: str) -> int:
        digits = len(text) - (1 if text[:1] == "-" else 0)
        if digits > limits.max_int_digits:
            raise _Refused(f"integer with {digits:,} digits (at most {limits.max_int_digits} allowed)")
        return int(text)

    return parse_int


def _make_float_parser(limits: JsonLimits) -> Any:
    def parse_float(text: str) -> float:
        if len(text) > limits.max_int_digits * 2:
            raise _Refused(f"number written with {len(text):,} characters")
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise _Refused(f"number {text[:40]} is out of range")
        return value

    return parse_float


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON")


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Whether the decoded document nests containers deeper than ``limit`` (iterative, no recursion).

    The C decoder already stops a 100,000-deep document at the interpreter's recursion limit (and we
    turn that RecursionError into a ReportError); this check enforces the tighter bound that the
    importers, which walk documents recursively in places, rely on.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values() if isinstance(value, dict | list))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node if isinstance(value, dict | list))
    return False


def loads_json(data: bytes | str, fmt: str, limits: JsonLimits = LIMITS) -> Any:
    """Decode a JSON document under :class:`JsonLimits`; any refusal is a one-line ReportError.

    orjson reads it first when it can only agree with the careful decoder below (see
    :mod:`json_batches`); anything else, including every refusal and its message, is the careful
    decoder's.
    """
    if isinstance(data, bytes) and limits.max_int_digits >= _FAST_MIN_INT_DIGITS:
        fast = decode_document(data[3:] if data.startswith(b"\xef\xbb\xbf") else data, limits.max_depth)
        if fast is not None:
            return fast[0]
    text = _decode_text(data, fmt) if isinstance(data, bytes) else data
    if not text.strip():
        raise ReportError(fmt, "report is empty")
    decoder = json.JSONDecoder(
        object_pairs_hook=_object_pairs,
        parse_int=_make_int_parser(limits),
        parse_float=_make_float_parser(limits),
        parse_constant=_refuse_constant,
    )
    try:
        document = decoder.decode(text)
    except _Refused as exc:
        raise ReportError(fmt, str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ReportError(fmt, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ReportError(fmt, f"JSON nested deeper than {limits.max_depth} levels") from None
    except MemoryError:
        raise ReportError(fmt, "JSON too large to decode in memory") from None
    except ValueError as exc:  # e.g. the interpreter's own int-digit limit
        raise ReportError(fmt, f"not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    if _depth_exceeds(document, limits.max_depth):
        raise ReportError(fmt, f"JSON nested deeper than {limits.max_depth} levels")
    return document


def loads_json_lines(data: bytes | str, fmt: str, limits: JsonLimits = LIMITS) -> list[Any]:
    """JSON Lines (one document per line, as trufflehog writes): each line under the same limits."""
    text = _decode_text(data, fmt) if isinstance(data, bytes) else data
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(loads_json(line, fmt, limits))
        except ReportError as exc:
            raise ReportError(fmt, f"line {number}: {exc.problem}") from None
    return documents


def load_json(path: Path, fmt: str, max_bytes: int = DEFAULT_MAX_BYTES, limits: JsonLimits = LIMITS) -> Any:
    """Size check, then :func:`loads_json`."""
    return loads_json(read_bytes(path, fmt, max_bytes), fmt, limits)


def loads_xml(data: bytes, fmt: str) -> Element:
    """Parse XML with defusedxml: DTDs with entities and external references are refused."""
    if not data.strip():
        raise ReportError(fmt, "report is empty")
    try:
        root = defused_fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ReportError(
            fmt, f"XML refused: {type(exc).__name__} (entities and DTDs are not allowed)"
        ) from None
    except ParseError as exc:
        raise ReportError(fmt, f"not well-formed XML: {str(exc)[:200]}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ReportError(fmt, "XML too deeply nested or too large to parse") from None
    if _xml_depth_exceeds(root, LIMITS.max_depth):
        raise ReportError(fmt, f"XML nested deeper than {LIMITS.max_depth} levels")
    return root


def _xml_depth_exceeds(root: Element, limit: int) -> bool:
    """Iterative depth check, so importers that walk elements recursively stay within the stack."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False


def load_xml(path: Path, fmt: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Element:
    return loads_xml(read_bytes(path, fmt, max_bytes), fmt)
