"""Finding identity: which reported result is which living finding, across runs and tools.

A line number is never part of the identity, because inserting a line above a finding would
otherwise close it and open a "new" one, resetting its age, its SLA and its triage. Instead:

- a code finding is (canonical rule, path, hash of its normalized source line(s), occurrence index
  among results with the same key in the same file, counted per scanner in line order). The source
  is read from the checkout when there is one (so every tool hashes the same text), else taken from
  the tool's snippet;
- a dependency finding is (PEP 503 package name, advisory alias group);
- a secret is (path, hash of the secret);
- a tool fingerprint (SARIF ``partialFingerprints``, gitleaks' fingerprint) wins when present: the
  tool knows its own results best.

The project is not hashed in: the table's unique key is (project_id, fingerprint).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from app.advisories.findings import preferred_id
from app.scanners.base import NormalizedFinding

VERSION = "v1"
SEP = "\x1f"
_WS = re.compile(r"\s+")
# Bandit and some others prefix each snippet line with its line number: drop it, it moves.
_NUMBERED = re.compile(r"^\s*\d+[\s:|]")
MAX_CONTEXT_LINES = 5
MAX_FILE_BYTES = 5 * 1024 * 1024


def _digest(*parts: str) -> str:
    return hashlib.sha256(SEP.join((VERSION, *parts)).encode("utf-8", "surrogatepass")).hexdigest()


def normalize_source(text: str) -> str:
    """Whitespace-insensitive source text: re-indenting or re-wrapping spaces keeps the identity."""
    if "\n" not in text and "\r" not in text and not text.lstrip()[:1].isdigit():
        return " ".join(text.split())  # the common one-line snippet, without the regexes
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(_NUMBERED.match(line) for line in lines):
        lines = [_NUMBERED.sub("", line, count=1) for line in lines]
    return "\n".join(_WS.sub(" ", line).strip() for line in lines)


def package_key(name: str) -> str:
    """PEP 503 normal form: ``Django``, ``django`` and ``DJANGO`` are one package."""
    return canonicalize_name(name)


def alias_group(ids: Iterable[str]) -> str:
    """The advisory a group is known by: the preferred id (CVE, then GHSA, then PYSEC)."""
    cleaned = {i.strip().upper() for i in ids if i and i.strip()}
    return preferred_id(cleaned) if cleaned else ""


@dataclass
class SourceReader:
    """Reads the lines around a finding from the checkout, each file once, never outside it."""

    root: Path | None
    _cache: dict[str, list[str] | None] = field(default_factory=dict)

    def lines(self, path: str | None, start: int | None, end: int | None) -> str | None:
        if self.root is None or not path or not start or start < 1:
            return None
        if path not in self._cache:
            self._cache[path] = self._read(path)
        content = self._cache[path]
        if content is None or start > len(content):
            return None
        stop = min(max(end or start, start), start + MAX_CONTEXT_LINES - 1, len(content))
        return "\n".join(content[start - 1 : stop])

    def _read(self, path: str) -> list[str] | None:
        assert self.root is not None
        root = self.root.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        try:
            if target.stat().st_size > MAX_FILE_BYTES:
                return None
            return target.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None


def _context(finding: NormalizedFinding, source: SourceReader) -> str:
    # The checkout's own line(s) first: tools disagree on how much context a snippet carries
    # (bandit adds neighbouring lines), and the same text for every tool keeps one finding one.
    text = source.lines(finding.path, finding.line, finding.end_line)
    if text is None and finding.snippet and finding.snippet.strip():
        text = finding.snippet
    return normalize_source(text) if text else ""


def keyed_by_position(finding: NormalizedFinding) -> bool:
    """Whether the finding's identity needs its occurrence index (a code finding): the only kind
    whose fingerprint depends on the other results of the same file."""
    if finding.tool_fingerprint or (finding.category == "secret" and finding.secret_hash):
        return False
    return not (finding.package and (finding.advisory_ids or finding.category == "dependency"))


def base_key(finding: NormalizedFinding, source: SourceReader) -> tuple[str, ...]:
    """The identity before the occurrence index (which only code findings need)."""
    if finding.tool_fingerprint:
        return ("tool", finding.scanner, finding.rule_id, finding.tool_fingerprint)
    if finding.category == "secret" and finding.secret_hash:
        return ("secret", finding.path or "", finding.secret_hash)
    if finding.package and finding.advisory_ids:
        return ("dep", package_key(finding.package), alias_group(finding.advisory_ids))
    if finding.package and finding.category == "dependency":
        return ("dep", package_key(finding.package), finding.rule_id)
    return ("code", finding.rule_id, finding.path or "", _context(finding, source))


def _position(key: tuple[str, ...], finding: NormalizedFinding) -> tuple[int, int, str]:
    """Where a code finding is, to order and dedupe occurrences. Without source text (no snippet, no
    checkout) two results on one line differ only by their message (a Kubernetes misconfiguration
    per container, say), so the message tells them apart there; it never enters the identity."""
    message = "" if key[3] else (finding.message or finding.title)
    return (finding.line or 0, finding.column or 0, message)


@dataclass
class Identified:
    """One distinct finding of a report: its fingerprint, and every scanner that reported it."""

    fingerprint: str
    finding: NormalizedFinding
    detections: dict[str, str] = field(default_factory=dict)  # scanner -> tool rule id
    # Filled in ahead on the report reader's thread (app.ingestion.ingest.Ingestion._prepare):
    shown: str = ""  # display hash (app.ingestion.rows)
    row: dict[str, Any] | None = None  # its row's reported columns, when the finding is likely new


def fingerprints(findings: Sequence[NormalizedFinding], checkout: Path | None = None) -> list[Identified]:
    """Each distinct finding of a report with its fingerprint; exact duplicates are dropped.

    Code findings with the same key in one file are told apart by their order in the file (per
    scanner, so bandit's second ``eval`` and ruff's second ``eval`` are the same finding). Two results
    at the same line and column with the same key are one result reported twice.
    """
    source = SourceReader(checkout)
    Spots = set[tuple[int, int, str]]
    keyed: list[tuple[tuple[str, ...], NormalizedFinding, tuple[int, int, str] | None, Spots | None]] = []
    groups: dict[tuple[str, tuple[str, ...]], Spots] = {}
    for finding in findings:
        key = base_key(finding, source)
        position = spots = None
        if key[0] == "code":
            position = _position(key, finding)
            group = (finding.scanner, key)
            spots = groups.get(group)
            if spots is None:
                groups[group] = spots = {position}
            else:
                spots.add(position)
        keyed.append((key, finding, position, spots))
    # Ranks only for the rare groups with several positions; a lone occurrence is index 0.
    ranks: dict[int, dict[tuple[int, int, str], int]] = {}
    result: dict[str, Identified] = {}
    for key, finding, position, spots in keyed:
        if spots is not None:
            index = 0
            if len(spots) > 1:
                rank = ranks.get(id(spots))
                if rank is None:
                    rank = ranks[id(spots)] = {pos: i for i, pos in enumerate(sorted(spots))}
                index = rank[position]  # type: ignore[index]
            fingerprint = _digest(*key, str(index))
        else:
            fingerprint = _digest(*key)
        item = result.get(fingerprint)
        if item is None:
            item = result[fingerprint] = Identified(fingerprint, finding)
        item.detections.setdefault(finding.scanner, finding.tool_rule_id)
    return list(result.values())
