"""The event stream the streaming SARIF reader consumes: ijson for the frame, orjson for results.

ijson (yajl2 C backend) parses the whole document as ever, except the contents of each
``runs[].results`` array: those bytes are cut into slices of whole results and decoded by orjson
(:mod:`json_batches`), and ijson is shown an empty array in their place. Each decoded slice is handed
at once to the reader's ``convert(results, mentions_index)`` (``mentions_index`` telling whether any
of them may point into ``run.artifacts`` by index) and what it returns becomes one
``(RESULT_PREFIX, BATCH, converted)`` event. Decoding and converting run with the cyclic collector
paused and the decoded dicts are gone before it resumes, so it never walks them. A slice orjson cannot
take exactly as the careful
decoder would (see :mod:`json_batches`) is handed to ijson instead, so the reader builds it event by
event with every refusal and message it always had; anything unusual about the array itself (a
result that is not an object, a truncated file) hands the rest of the array to ijson the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO, Any

import ijson

from app.gc_pause import collector_paused
from app.scanners.base import ReportError
from app.scanners.importers.json_batches import WHITESPACE, decode_elements, exact_cut, quick_cut
from app.scanners.importers.safe_load import LIMITS
from app.scanners.importers.sarif_rules import FORMAT

BATCH = "results_batch"
RESULT_PREFIX = "runs.item.results.item"
_RESULTS_KEY = re.compile(rb'"results"[ \t\r\n]{0,64}:[ \t\r\n]{0,64}\[')
_KEY_EVENT = ("runs.item", "map_key", "results")
_TAIL = 160  # longer than any match of _RESULTS_KEY: kept back until more of the file is read
_BLOCK = 1 << 20
_SLICE = 1 << 18
_MAX_DIGIT_RUN = 1000
_DIGITS = b"0123456789"
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * _MAX_DIGIT_RUN

Event = tuple[str, str, Any]
Convert = Callable[[list[Any], bool], list[Any]]


class DigitGuard:
    """A file wrapper refusing any run of digits longer than :data:`_MAX_DIGIT_RUN`.

    ijson's C backend converts a number with more digits than the interpreter's int-string limit
    (4,300) by crashing the process (a segmentation fault, not an exception), so such a run must never
    reach it. No report has a legitimate thousand-digit run, inside a string or out.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.run = 0  # digits at the end of what was read so far

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        if not chunk:
            return chunk
        lead = len(chunk) - len(chunk.lstrip(_DIGITS))
        if lead == len(chunk):
            self.run += lead
        else:
            if self.run + lead >= _MAX_DIGIT_RUN or _LONG_DIGITS in chunk.translate(_DIGITS_AS_ZERO):
                raise ReportError(FORMAT, f"number or digit run longer than {_MAX_DIGIT_RUN:,} digits")
            self.run = len(chunk) - len(chunk.rstrip(_DIGITS))
        if self.run >= _MAX_DIGIT_RUN:
            raise ReportError(FORMAT, f"number or digit run longer than {_MAX_DIGIT_RUN:,} digits")
        return chunk


def sarif_events(handle: IO[bytes], convert: Convert) -> Iterator[Event]:
    """ijson ``parse`` events of the document, results arrays arriving as :data:`BATCH` events."""
    try:
        yield from _Splicer(DigitGuard(handle), convert).events()
    except ijson.JSONError as exc:
        raise ReportError(FORMAT, f"not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    except (RecursionError, MemoryError):
        raise ReportError(FORMAT, "JSON too deeply nested or too large") from None


class _Splicer:
    """Feeds the file to an ijson push parser, taking results arrays out of its way."""

    def __init__(self, source: DigitGuard, convert: Convert) -> None:
        self.source = source
        self.convert = convert
        self.buffer = b""
        self.pos = 0
        self.eof = False
        self.pending = ijson.sendable_list()
        self.parser = ijson.parse_coro(self.pending, use_float=False)
        self.last: Event | None = None

    def _send(self, data: bytes) -> Iterator[Event]:
        if data:
            self.parser.send(data)
        if self.pending:
            events = list(self.pending)
            del self.pending[:]
            self.last = events[-1]
            yield from events

    def _fill(self) -> bool:
        """Read one more block behind what is left of the buffer; False at the end of the file."""
        if self.eof:
            return False
        block = self.source.read(_BLOCK)
        if not block:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + block
        self.pos = 0
        return True

    def events(self) -> Iterator[Event]:
        while True:
            match = _RESULTS_KEY.search(self.buffer, self.pos)
            if match is None:  # pass all but a short tail on to ijson, then read on
                keep = max(self.pos, len(self.buffer) - _TAIL)
                yield from self._send(self.buffer[self.pos : keep])
                self.pos = keep
                if not self._fill():
                    yield from self._send(self.buffer[self.pos :])
                    self.pos = len(self.buffer)
                    self.parser.close()
                    yield from self._send(b"")
                    return
                continue
            bracket = match.end() - 1
            yield from self._send(self.buffer[self.pos : bracket])
            self.pos = bracket
            if self.last == _KEY_EVENT:
                yield from self._results()

    def _skip_blanks(self) -> int | None:
        """The next non-blank byte (the buffer grows as needed), or None at the end of the file."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return None

    def _results(self) -> Iterator[Event]:
        """At the ``[`` of a results array: decode it slice by slice, up to its ``]``."""
        yield from self._send(b"[")
        self.pos += 1
        given = False  # whether ijson has been given elements of this array
        first = True
        while True:
            byte = self._skip_blanks()
            if byte == 0x5D and first:  # "]": an empty array
                break
            if byte != 0x7B:  # not "{": let ijson read (or refuse) the rest of the array
                if given:
                    yield from self._send(b",")
                elif byte == 0x5D:  # "[{...},]": ijson alone would see "[]"
                    raise ReportError(FORMAT, "not valid JSON: a comma before ']'")
                return
            with collector_paused():
                end, converted = self._slice()
            if end is None:  # no complete element before the end of the file
                if given:
                    yield from self._send(b",")
                return
            if converted is None:
                data = self.buffer[self.pos : end + 1]
                yield from self._send(b"," + data if given else data)
                given = True
            else:
                yield (RESULT_PREFIX, BATCH, converted)
            self.pos = end + 1
            first = False
            byte = self._skip_blanks()
            if byte == 0x2C:  # ","
                self.pos += 1
                continue
            if byte != 0x5D:
                raise ReportError(FORMAT, "not valid JSON: expected ',' or ']' after a result")
            break
        yield from self._send(b"]")
        self.pos += 1

    def _slice(self) -> tuple[int | None, list[Any] | None]:
        """(end of the slice at ``pos``, its converted results or None for the exact decoder)."""
        found = self._slice_end()
        if found is None:
            return None, None
        end, decoded = found
        if decoded is None:
            return end, None
        mentions_index = self.buffer.find(b'"index"', self.pos, end + 1) != -1
        return end, self.convert(decoded, mentions_index)

    def _slice_end(self) -> tuple[int, list[Any] | None] | None:
        """Where the slice starting at ``pos`` ends (the ``}`` of its last whole element) and its
        decoded elements (None when they need the exact decoder); None if no element is whole."""
        size = _SLICE
        while True:
            while len(self.buffer) - self.pos < size + 1 and self._fill():
                pass
            end = min(len(self.buffer), self.pos + size)
            guess = quick_cut(self.buffer, self.pos, end)
            if guess is not None:
                decoded = decode_elements(self.buffer[self.pos : guess + 1], LIMITS.max_depth)
                if decoded is not None:
                    return guess, decoded
            cut = exact_cut(self.buffer, self.pos, end)
            if cut is not None:
                if cut == guess:  # orjson already refused exactly this slice
                    return cut, None
                return cut, decode_elements(self.buffer[self.pos : cut + 1], LIMITS.max_depth)
            if end == len(self.buffer) and self.eof:
                return None
            size *= 2  # one result larger than the slice: look further
