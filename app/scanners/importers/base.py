"""What an importer is: a format name, a sniffer and a parser from a decoded document to findings.

Importers receive an already safely-decoded document (JSON through the limited decoder, XML through
defusedxml), so each one only maps fields. Scanners that Vigil runs reuse the same parsers on their
own tool output, so an uploaded bandit report and a bandit run Vigil made produce the same findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.scanners.base import NormalizedFinding


@dataclass(frozen=True)
class ParsedReport:
    format: str
    scanner: str
    findings: list[NormalizedFinding]
    tool_version: str | None = None
    # False when the report itself says the tool did not finish (errors, skipped targets):
    # ingestion then closes nothing.
    complete: bool = True
    problems: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Importer:
    name: str
    scanner: str
    media: str  # "json" or "xml"
    sniff: Callable[[Any], bool]
    parse: Callable[[Any], ParsedReport]
    description: str = ""
