"""The one entry point from a report file to findings: size check, safe decoding, format detection.

``parse_report`` is what uploads, the CLI and scanners call; ``iter_report`` is the same for files
too large to hold decoded in memory (SARIF is streamed with ijson, other formats fall back to
``parse_report``). Detection decodes the document once and asks each importer's ``sniff`` in
registry order, so a format is recognised by its structure, never by the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers import IMPORTERS
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.safe_load import (
    DEFAULT_MAX_BYTES,
    loads_json,
    loads_json_lines,
    loads_xml,
    read_bytes,
)
from app.scanners.importers.sarif_stream import StreamState, stream_sarif

AUTO = "auto"
_PEEK_BYTES = 64 * 1024


def importer_for(fmt: str) -> Importer:
    """The importer registered under ``fmt`` or a ReportError listing the known formats."""
    try:
        return IMPORTERS[fmt]
    except KeyError:
        known = ", ".join(sorted(IMPORTERS)) or "none"
        raise ReportError(fmt, f"unknown report format (known: {known})") from None


def decode(data: bytes, fmt: str) -> tuple[str, Any]:
    """Decode as XML when the document starts with ``<``, else as JSON: ``(media, document)``."""
    head = data[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml", loads_xml(data, fmt)
    try:
        return "json", loads_json(data, fmt)
    except ReportError as exc:
        # JSON Lines (trufflehog): several documents, one per line.
        if head.startswith(b"{") and exc.problem.startswith("not valid JSON: Extra data"):
            return "json", loads_json_lines(data, fmt)
        raise


def detect(media: str, document: Any) -> Importer:
    """The first importer (registry order) whose sniffer recognises the decoded document."""
    candidates = [imp for imp in IMPORTERS.values() if imp.media == media]
    if document == [] or document == {}:
        raise ReportError(AUTO, "an empty document is a valid report for several formats: name the format")
    for importer in candidates:
        try:
            if importer.sniff(document):
                return importer
        except (ReportError, AttributeError, TypeError, KeyError, IndexError, ValueError):
            continue
    tried = ", ".join(imp.name for imp in candidates) or "none"
    raise ReportError(AUTO, f"not a recognised report format (tried {tried})")


def parse_document(media: str, document: Any, fmt: str = AUTO) -> ParsedReport:
    """Run one importer over an already-decoded document (used by scanners on their own output)."""
    importer = detect(media, document) if fmt == AUTO else importer_for(fmt)
    if importer.media != media:
        raise ReportError(importer.name, f"expected a {importer.media.upper()} document, got {media.upper()}")
    try:
        return importer.parse(document)
    except ReportError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # Importers validate types; anything slipping through is still the report's fault, not a 500.
        raise ReportError(importer.name, f"unexpected report structure ({type(exc).__name__})") from None


def parse_report(path: Path, fmt: str = AUTO, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedReport:
    """Read ``path`` as ``fmt`` (or detect it): size-checked, safely decoded, one ReportError on failure."""
    label = fmt if fmt == AUTO else importer_for(fmt).name
    data = read_bytes(Path(path), label, max_bytes)
    media, document = decode(data, label)
    return parse_document(media, document, fmt)


def parse_bytes(data: bytes, fmt: str = AUTO, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedReport:
    """Same as :func:`parse_report` for a body already in memory (API uploads)."""
    label = fmt if fmt == AUTO else importer_for(fmt).name
    if len(data) > max_bytes:
        raise ReportError(label, f"report is {len(data):,} bytes, larger than the {max_bytes:,}-byte limit")
    media, document = decode(data, label)
    return parse_document(media, document, fmt)


def looks_like_sarif(path: Path) -> bool:
    """Cheap check on the first 64 KiB, so a 1 GB SARIF file is streamed without decoding it whole."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_PEEK_BYTES)
    except OSError:
        return False
    lowered = head.lower()
    return lowered.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and (
        b"sarif-schema" in lowered or b"sarif-2" in lowered or b'"runs"' in lowered and b'"2.1.0"' in lowered
    )


@dataclass
class ReportStream:
    """Findings of one report, produced lazily. Iterate it once; the metadata fields are final
    after the iteration ends (for a streamed SARIF file the tool is known only as it is read)."""

    format: str
    findings: Iterator[NormalizedFinding]
    scanner: str = ""
    tool_version: str | None = None
    complete: bool = True
    problems: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[NormalizedFinding]:
        return self.findings


def iter_report(path: Path, fmt: str = AUTO, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ReportStream:
    """Findings of a report one at a time; SARIF is streamed so memory stays flat on huge files.

    Errors surface as ReportError while iterating; a caller that must be all-or-nothing (ingestion)
    keeps its transaction open until the iterator is exhausted.
    """
    path = Path(path)
    if fmt == "sarif" or (fmt == AUTO and looks_like_sarif(path)):
        stream = ReportStream(format="sarif", findings=iter(()), scanner="sarif")
        stream.findings = _sarif_findings(path, max_bytes, stream)
        return stream
    report = parse_report(path, fmt, max_bytes=max_bytes)
    return ReportStream(
        format=report.format,
        findings=iter(report.findings),
        scanner=report.scanner,
        tool_version=report.tool_version,
        complete=report.complete,
        problems=list(report.problems),
    )


def _sarif_findings(path: Path, max_bytes: int, stream: ReportStream) -> Iterator[NormalizedFinding]:
    state = StreamState()
    yield from stream_sarif(path, max_bytes=max_bytes, state=state)
    distinct = list(dict.fromkeys(state.scanners))
    stream.scanner = distinct[0] if len(distinct) == 1 else "sarif"
    stream.tool_version = state.tool_version
    stream.problems = list(state.problems)
    stream.complete = not state.problems
