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

CHUNK_SIZE = 5_000


class ScatteredReport(Exception):
    """A streamed report came back to a file whose results were already ingested."""

    def __init__(self, path: str) -> None:
        super().__init__(f"results for {path[:200]!r} are not contiguous in the report")
        self.path = path


class TimedIterator:
    """Counts the time spent producing items (reading and parsing the report), apart from the rest.

    Wall time only: the monotonic clock is read in user space, whereas the process CPU clock is a
    system call, which for every one of a million results would cost more than it measures.
    """

    def __init__(self, items: Iterable[NormalizedFinding]) -> None:
        self._items = iter(items)
        self.seconds = 0.0

    def __iter__(self) -> Iterator[NormalizedFinding]:
        return self

    def __next__(self) -> NormalizedFinding:
        start = time.perf_counter()
        try:
            return next(self._items)
        finally:
            self.seconds += time.perf_counter() - start


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


class WrittenFiles:
    """Hashes of the files already handed out, as one sorted int64 array (8 bytes a file: a set of
    Python ints would cost about 70, which for a report of millions of files is the whole budget).
    A hash collision only sends the report to the whole-report path, never to a wrong identity."""

    def __init__(self) -> None:
        import numpy  # a dependency already (pandas); loaded only for reports longer than a chunk

        self._np = numpy
        self._hashes = numpy.empty(0, dtype=numpy.int64)

    def add_new(self, paths: set[str]) -> None:
        """Record ``paths``; ScatteredReport if one of them was handed out before."""
        np = self._np
        new = np.fromiter((hash(p) for p in paths), dtype=np.int64, count=len(paths))
        if self._hashes.size and new.size:
            at = np.minimum(np.searchsorted(self._hashes, new), self._hashes.size - 1)
            seen = self._hashes[at] == new
            if seen.any():
                hits = set(new[seen].tolist())
                raise ScatteredReport(next(p for p in sorted(paths) if hash(p) in hits))
        # Two sorted runs: the stable sort (timsort) merges them in linear time, in place.
        new.sort()
        merged = np.concatenate((self._hashes, new))
        self._hashes = merged  # the old array is freed before the sort, not after
        merged.sort(kind="stable")


def _stream(
    findings: Iterator[NormalizedFinding], checkout: Path | None, size: int
) -> Iterator[list[Identified]]:
    buffer: list[NormalizedFinding] = []
    paths: set[str] = set()  # files with code findings in the buffer
    written: WrittenFiles | None = None
    current: str | None = None
    for finding in findings:
        code = keyed_by_position(finding)
        path = (finding.path or "") if code else None
        if len(buffer) >= size and (path is None or path != current):
            # Checked before anything of this chunk is decided: a file seen in an earlier chunk
            # would get occurrence indexes that ignore its earlier results.
            written = written or WrittenFiles()
            written.add_new(paths)
            yield fingerprints(buffer, checkout)
            buffer, paths = [], set()
        if path is not None:
            paths.add(path)
            current = path
        buffer.append(finding)
    if buffer:
        if written is not None:
            written.add_new(paths)
        yield fingerprints(buffer, checkout)
