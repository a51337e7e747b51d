"""The one shape every scanner and importer produces: a frozen, normalized finding.

Scanners and importers know nothing about the database or Flask; ingestion turns these into the
living record. Keeping the shape frozen and plain makes every parser testable in isolation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import VigilError

CATEGORIES = ("security", "quality", "dependency", "secret")
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class NormalizedFinding:
    """One result as a tool reported it, in Vigil's vocabulary.

    ``rule_id`` is the canonical rule (shared by tools that check the same thing);
    ``tool_rule_id`` is what the tool itself called it. Line numbers are kept for display but
    never take part in a finding's identity.
    """

    scanner: str
    rule_id: str
    tool_rule_id: str
    category: str
    severity: str
    title: str
    message: str = ""
    confidence: str | None = None
    path: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    snippet: str | None = None
    cwe: tuple[int, ...] = ()
    advisory_ids: tuple[str, ...] = ()
    package: str | None = None
    installed_version: str | None = None
    fixed_versions: tuple[str, ...] = ()
    tool_fingerprint: str | None = None
    secret_hash: str | None = None
    suppressed: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


class ReportError(VigilError, ValueError):
    """A report Vigil cannot read: the message names the format and the problem, for humans."""

    def __init__(self, fmt: str, problem: str) -> None:
        super().__init__(f"{fmt}: {problem}")
        self.format = fmt
        self.problem = problem
