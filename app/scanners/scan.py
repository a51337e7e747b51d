"""What a scanner is, what it is asked to do, and what it answers.

``Scanner`` is a protocol, not a base class: a tool Vigil runs as a subprocess and a pure-Python
scanner (the offline OSV matcher) fit the same shape, and the scheduler only ever calls
``scanner.run(checkout, options)``. ``ScanResult`` makes the one distinction ingestion must never get
wrong: a *failed* run (tool error, timeout, unreadable output, partial scan) is never "clean" and is
never ``complete``, so ingestion closes nothing on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from app.scanners.base import NormalizedFinding
from app.scanners.runner import Limits

# Quality rules ruff reports besides its security (S) rules: the violation counts teams track.
DEFAULT_QUALITY_RULES: tuple[str, ...] = ("B904", "SIM102", "SIM116", "BLE001", "E722")


class Outcome(StrEnum):
    CLEAN = "clean"
    FINDINGS = "findings"
    FAILED = "failed"


class Suppression(NamedTuple):
    """One inline suppression comment seen in the checkout (``# nosec``, ``# noqa: S602`` ...)."""

    kind: str
    path: str
    line: int
    comment: str = ""


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scanner needs besides the checkout. Built by the caller from the project and
    ``Settings``; scanners read nothing global.
    """

    limits: Limits = field(default_factory=Limits)
    honour_repo_config: bool = False
    ignore_inline_suppressions: bool = False
    exclude_paths: tuple[str, ...] = ()
    dependency_files: tuple[str, ...] = ()
    quality_rules: tuple[str, ...] = DEFAULT_QUALITY_RULES
    # Where raw tool output is kept (one sub-folder per scanner); a temporary folder when None.
    work_dir: Path | None = None
    # Set by the scheduler to stop a running tool: the runner kills its process group.
    cancel: threading.Event | None = None

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ScanOptions:
        """Options with limits from ``Settings.scan_*``; project fields passed as keyword arguments."""
        for key in ("exclude_paths", "dependency_files", "quality_rules"):
            if key in overrides:
                if overrides[key] is None:
                    del overrides[key]  # the project did not set it: keep the default
                else:
                    overrides[key] = tuple(overrides[key])
        return cls(limits=Limits.from_settings(settings), **overrides)

    def with_limits(self, **changes: Any) -> ScanOptions:
        return replace(self, limits=replace(self.limits, **changes))


@dataclass(frozen=True)
class ScanResult:
    """One scanner's answer for one checkout."""

    scanner: str
    outcome: Outcome
    findings: list[NormalizedFinding] = field(default_factory=list)
    tool_version: str | None = None
    ruleset_version: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    error: str | None = None
    complete: bool = True
    timed_out: bool = False
    cancelled: bool = False
    suppressions: list[Suppression] = field(default_factory=list)
    duration_seconds: float = 0.0
    peak_rss_bytes: int = 0
    argv: tuple[str, ...] = ()
    raw_output: Path | None = None

    def __post_init__(self) -> None:
        if self.outcome is Outcome.FAILED:
            if self.complete:
                raise ValueError("a failed scan is never complete")
            if not self.error:
                raise ValueError("a failed scan must say why")
        elif self.outcome is Outcome.CLEAN and (self.findings or not self.complete):
            raise ValueError("a clean scan has no findings and is complete")
        elif self.outcome is Outcome.FINDINGS and (not self.findings or not self.complete):
            raise ValueError("a findings scan has findings and is complete")

    @property
    def status(self) -> str:
        """The ``ScanRun.status`` this result should be stored as."""
        if self.timed_out:
            return "timed_out"
        if self.cancelled:
            return "cancelled"
        return "failed" if self.outcome is Outcome.FAILED else "succeeded"

    @classmethod
    def success(cls, scanner: str, findings: list[NormalizedFinding], **kwargs: Any) -> ScanResult:
        outcome = Outcome.FINDINGS if findings else Outcome.CLEAN
        return cls(scanner=scanner, outcome=outcome, findings=findings, complete=True, **kwargs)

    @classmethod
    def failure(
        cls, scanner: str, error: str, findings: list[NormalizedFinding] | None = None, **kwargs: Any
    ) -> ScanResult:
        """A failed run. Findings a partial run did report are kept (ingestion may add them) but the
        run closes nothing.
        """
        return cls(
            scanner=scanner,
            outcome=Outcome.FAILED,
            findings=list(findings or []),
            error=error,
            complete=False,
            **kwargs,
        )


@runtime_checkable
class Scanner(Protocol):
    """Anything with a name, a category and ``run``: a subprocess tool or pure Python alike."""

    @property
    def name(self) -> str: ...

    @property
    def category(self) -> str: ...

    def run(self, checkout: Path, options: ScanOptions) -> ScanResult: ...
