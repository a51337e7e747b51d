"""Decoding the elements of a huge JSON array a slice at a time with orjson, under the same limits.

The streaming SARIF reader spends nearly all of its time in ``results[]``. Building each result from
ijson events costs a Python call per event (some 45 per result); orjson decodes a whole slice of
results in C, ten times faster. orjson is laxer than :mod:`safe_load` in three ways, and a slice is
only accepted when none of them can matter:

- duplicate keys (orjson keeps the last): the slice's keys are counted in the raw bytes and in
  orjson's re-encoding of what it built; a difference means a key was dropped;
- integers beyond 64 bits (orjson makes them floats) and exponents of three digits or more: the
  slice is refused when its bytes hold a number like that;
- nesting (orjson allows 1,024 levels): the slice is wrapped in enough extra arrays that orjson's own
  limit falls exactly on the caller's limit for the elements.

:func:`decode_document` applies the same checks to a whole document, which is how
:func:`~app.scanners.importers.safe_load.loads_json` reads every JSON report before falling back to
the careful (and several times slower) standard-library decoder.

A refused or undecodable slice returns ``None`` and the caller decodes it the exact way, which also
produces the precise error message. Slices are cut after an element's closing brace; a wrong guess
cannot go unnoticed, because orjson then sees an unbalanced document and fails.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from app.gc_pause import collector_paused

WHITESPACE = b" \t\r\n"
# Digits all become "0" and "E" becomes "e"; signs are dropped, so "-1E+400" reads "00e000".
_NUMBER_SHAPES = (bytes.maketrans(b"123456789E", b"000000000e"), b"+-")
_LONG_NUMBER = b"0" * 19  # 19 digits may already be past 2**63; orjson turns those into floats
_BIG_EXPONENT = b"0e000"  # three exponent digits: past the float range, or below it
_LONG_FLOAT_RUN = 60  # two runs under this, a sign and a 2-digit exponent stay within 128 characters
_NUMBER_START = b":,["


def _orjson_accepts_depth(depth: int) -> bool:
    try:
        orjson.loads(b"[" * depth + b"]" * depth)
    except orjson.JSONDecodeError:
        return False
    return True


@functools.cache
def _orjson_depth() -> int | None:
    """The deepest nesting orjson accepts (1,024 levels today), measured rather than assumed so a
    release that changes it changes the padding with it; None if it seems to have no limit."""
    low, high = 1, 1 << 16
    if not _orjson_accepts_depth(low) or _orjson_accepts_depth(high):
        return None
    while low + 1 < high:  # orjson accepts ``low`` levels and refuses ``high``
        middle = (low + high) // 2
        if _orjson_accepts_depth(middle):
            low = middle
        else:
            high = middle
    return low


def count_keys(data: bytes) -> int:
    """Object keys in JSON text without whitespace: ``":`` whose quote is not escaped.

    Inside a string a quote is always preceded by an odd run of backslashes, so counting ``":``,
    minus ``\\":``, plus ``\\\\":`` and so on leaves exactly the quotes that end a key.
    """
    total, sign, needle = 0, 1, b'":'
    while True:
        found = data.count(needle)
        if not found:
            return total
        total += sign * found
        sign = -sign
        needle = b"\\" + needle


def _number_kind(shapes: bytes, first: int, end: int) -> str:
    """What the digit run ``shapes[first:end]`` (in :data:`_NUMBER_SHAPES` text) belongs to: ``"int"``
    or ``"float"`` when it is part of a number token (which follows ``:``, ``,`` or ``[`` through
    digits, a dot and blanks), ``""`` when it sits in a string."""
    before, dotted = first - 1, False
    while before >= 0 and shapes[before] in b"0.":
        dotted = dotted or shapes[before] == 0x2E
        before -= 1
    while before >= 0 and shapes[before] in WHITESPACE:
        before -= 1
    if before >= 0 and shapes[before] not in _NUMBER_START:
        return ""
    return "float" if dotted or (end < len(shapes) and shapes[end] in b".e") else "int"


def has_exotic_numbers(data: bytes) -> bool:
    """Whether ``data`` may hold a number orjson reads differently from the exact decoders: an integer
    of 19 digits or more (orjson makes it a float), a float written with a run of 60 digits (the
    careful decoder refuses number tokens over 128 characters) or an exponent of three digits
    (outside the float range, or refused by the streaming reader). Digit runs inside strings (hashes,
    ids) are told apart by what precedes them; a false alarm only costs speed."""
    shapes = data.translate(*_NUMBER_SHAPES)
    found = shapes.find(_BIG_EXPONENT)
    while found != -1:
        if _number_kind(shapes, found, found + 1):
            return True
        found = shapes.find(_BIG_EXPONENT, found + len(_BIG_EXPONENT))
    found = shapes.find(_LONG_NUMBER)
    while found != -1:
        end = found + len(_LONG_NUMBER)
        while end < len(shapes) and shapes[end] == 0x30:
            end += 1
        kind = _number_kind(shapes, found, end)
        if kind == "int" or (kind == "float" and end - found >= _LONG_FLOAT_RUN):
            return True
        found = shapes.find(_LONG_NUMBER, end)
    return False


def _checked_loads(data: bytes, wrap: int, unwrap: int) -> tuple[Any] | None:
    """``(value,)`` of ``data`` wrapped in ``wrap`` arrays, ``unwrap`` of them taken off again; None
    when orjson refuses it or could read it differently from the exact decoder."""
    if has_exotic_numbers(data):
        return None
    try:
        with collector_paused():
            decoded = orjson.loads(b"[" * wrap + data + b"]" * wrap)
        for _ in range(unwrap):
            # one element per level, or ``data`` closed some of the added brackets ("1]], [[2")
            if type(decoded) is not list or len(decoded) != 1:
                return None
            decoded = decoded[0]
        if count_keys(data.translate(None, WHITESPACE)) != count_keys(orjson.dumps(decoded)):
            return None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    return (decoded,)


def decode_elements(data: bytes, max_depth: int) -> list[Any] | None:
    """The elements of ``data`` (``e1, e2, ...`` without brackets), or None if they need the exact
    decoder: invalid or unusual JSON, a duplicate key, an unusual number, an element nesting deeper
    than ``max_depth`` levels (the element itself being the first)."""
    limit = _orjson_depth()
    if limit is None or limit - 1 - max_depth < 0:
        return None
    padding = limit - 1 - max_depth  # the slice's own array is one more level
    found = _checked_loads(data, padding + 1, padding)
    return found[0] if found is not None and isinstance(found[0], list) else None


def decode_document(data: bytes, max_depth: int) -> tuple[Any] | None:
    """``(document,)`` of UTF-8 JSON text, or None if it needs the exact decoder (same refusals as
    :func:`decode_elements`, the document itself being the first level)."""
    limit = _orjson_depth()
    if limit is None or limit - max_depth < 0:
        return None
    return _checked_loads(data, limit - max_depth, limit - max_depth)


def _balance(data: bytes, start: int, end: int) -> int:
    """Opening minus closing braces in ``data[start:end]``, strings not told apart. Arrays do not
    matter: an element's closing brace is the one that brings the braces back to zero."""
    return data.count(b"{", start, end) - data.count(b"}", start, end)


def _closes_element(data: bytes, brace: int, end: int) -> bool:
    """Whether the next non-blank byte after ``brace`` separates array elements (``,`` or ``]``)."""
    after = brace + 1
    while after < end and data[after] in WHITESPACE:
        after += 1
    return after < end and data[after] in b",]"


def quick_cut(data: bytes, start: int, end: int) -> int | None:
    """A likely end (index of the ``}``) of the last complete element in ``data[start:end]``.

    ``data[start]`` opens an element. Braces inside strings are counted as structure, so the guess
    can be wrong (the decoder then fails and :func:`exact_cut` is asked); looking only at the
    second half of the window bounds the work.
    """
    total = _balance(data, start, end)
    right = 0  # balance of data[brace + 1:end]
    limit = start + (end - start) // 2
    brace, previous = end, end
    while True:
        brace = data.rfind(b"}", limit, previous)
        if brace == -1:
            return None
        right += _balance(data, brace + 1, previous) - (0 if previous == end else 1)
        if total - right == 0 and _closes_element(data, brace, end):
            return brace
        previous = brace


def exact_cut(data: bytes, start: int, end: int) -> int | None:
    """The end (index of the ``}``) of the last complete element in ``data[start:end]``, with
    strings told apart: escapes are masked without moving anything, then quotes alternate."""
    masked = data[start:end].replace(b"\\\\", b"__").replace(b'\\"', b"__")
    depth, offset, found = 0, start, None
    for index, part in enumerate(masked.split(b'"')):
        if index % 2 == 0 and (b"{" in part or b"[" in part or b"}" in part or b"]" in part):
            for position, byte in enumerate(part):
                if byte in b"{[":
                    depth += 1
                elif byte in b"}]":
                    depth -= 1
                    if depth == 0 and byte == 0x7D and _closes_element(data, offset + position, end):
                        found = offset + position
                    elif depth < 0:
                        return found
        offset += len(part) + 1
    return found
