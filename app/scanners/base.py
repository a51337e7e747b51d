"""The one shape every scanner and importer produces: a frozen, normalized finding.

Scanners and importers know nothing about the database or Flask; ingestion turns these into the
living record. Keeping the shape frozen and plain makes every parser testable in isolation.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from itertools import repeat
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


def finding_builder(*names: str) -> Callable[..., NormalizedFinding]:
    """A constructor taking the fields ``names`` positionally; every other field keeps its default.

    Importers of large reports build hundreds of thousands of findings, and a frozen dataclass's
    ``__init__`` pays a generic ``object.__setattr__`` per field. This sets the slots directly and
    runs the same ``__post_init__`` checks, so the result is indistinguishable from ``__init__``'s.
    """
    slots = {item.name: getattr(NormalizedFinding, item.name).__set__ for item in fields(NormalizedFinding)}
    rest = []
    for item in fields(NormalizedFinding):
        if item.name in names:
            continue
        if item.default is MISSING:
            raise TypeError(f"finding_builder needs {item.name!r}: it has no plain default")
        rest.append((slots[item.name], item.default))
    setters = tuple(slots[name] for name in names) + tuple(setter for setter, _ in rest)
    defaults = tuple(value for _, value in rest)
    count = len(names)
    new = object.__new__

    def build(*values: Any) -> NormalizedFinding:
        if len(values) != count:
            raise TypeError(f"expected {count} values, got {len(values)}")
        finding = new(NormalizedFinding)
        deque(map(operator.call, setters, repeat(finding), values + defaults), 0)  # setter(finding, value)
        finding.__post_init__()
        return finding

    return build


class ReportError(VigilError, ValueError):
    """A report Vigil cannot read: the message names the format and the problem, for humans."""

    def __init__(self, fmt: str, problem: str) -> None:
        super().__init__(f"{fmt}: {problem}")
        self.format = fmt
        self.problem = problem
