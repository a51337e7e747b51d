"""A report's findings in chunks of distinct, fingerprinted findings, in bounded memory.

A code finding's identity includes its occurrence index among the results with the same key in the
same file, so every result of a file must be fingerprinted together. Scanners write their results
file by file, so a stream is cut only where the file changes: each chunk holds whole files and its
identities are exactly those of the whole report. A stream that comes back to a file already
written (results ordered some other way) raises :class:`ScatteredReport` before anything of that
file is decided wrongly; the caller then ingests the report in one piece. A sequence is already in
memory: it is fingerprinted whole and only written in chunks.

Findings whose identity has no occurrence index (dependencies, secrets, tool fingerprints) may be
cut anywhere; the same one seen in two chunks is recognised by ingestion through the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from app.ingestion.fingerprint import Identified, fingerprints, keyed_by_position
from app.scanners.base import NormalizedFinding

CHUNK_SIZE = 10_000


class ScatteredReport(Exception):
    """A streamed report came back to a file whose results were already ingested."""

    def __init__(self, path: str) -> None:
        super().__init__(f"results for {path[:200]!r} are not contiguous in the report")
        self.path = path


class TimedIterator:
    """Counts the time spent producing items (reading and parsing the report), apart from the rest."""

    def __init__(self, items: Iterable[NormalizedFinding]) -> None:
        self._items = iter(items)
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __iter__(self) -> Iterator[NormalizedFinding]:
        return self

    def __next__(self) -> NormalizedFinding:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return next(self._items)
        finally:
            self.seconds += time.perf_counter() - start
            self.cpu_seconds += time.process_time() - cpu


def chunked(
    findings: Iterable[NormalizedFinding], checkout: Path | None = None, size: int = CHUNK_SIZE
) -> Iterator[list[Identified]]:
    """Distinct findings in chunks of about ``size`` (whole files: a chunk may run over)."""
    size = max(1, size)
    if isinstance(findings, Sequence):
        items = fingerprints(findings, checkout)
        for start in range(0, len(items), size):
            yield items[start : start + size]
        return
    yield from _stream(iter(findings), checkout, size)


def _stream(
    findings: Iterator[NormalizedFinding], checkout: Path | None, size: int
) -> Iterator[list[Identified]]:
    buffer: list[NormalizedFinding] = []
    paths: set[str] = set()  # files with code findings in the buffer
    written: set[int] = set()  # hashes of the files already handed out (a hash keeps it small)
    current: str | None = None
    for finding in findings:
        code = keyed_by_position(finding)
        path = (finding.path or "") if code else None
        if len(buffer) >= size and (path is None or path != current):
            yield fingerprints(buffer, checkout)
            written.update(hash(p) for p in paths)
            buffer, paths = [], set()
        if path is not None:
            if path not in paths:
                if hash(path) in written:
                    raise ScatteredReport(path)
                paths.add(path)
            current = path
        buffer.append(finding)
    if buffer:
        yield fingerprints(buffer, checkout)
