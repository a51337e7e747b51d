"""Fault scenarios: real processes are killed (or their servers stopped) mid-work; nothing is lost.

Each scenario module exposes ``run(context) -> Outcome``. The outcome holds one :class:`Check` per
property verified ("the master respawned the worker", "findings before == after"), so the test suite
(short versions, ``quick=True``) and ``vigil bench faults`` (full versions) assert exactly the same
things and report them the same way. ``SCENARIOS`` is the registry, in the order they run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS: tuple[str, ...] = (
    "app.bench.faults.web_worker",
    "app.bench.faults.scheduler",
    "app.bench.faults.rq_worker",
    "app.bench.faults.importer",
    "app.bench.faults.postgres_restart",
    "app.bench.faults.redis_down",
)


class ScenarioSkipped(Exception):
    """A scenario whose tools are missing on this machine (no PostgreSQL binaries, no redis-server)."""


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    """What one scenario verified; ``passed`` only when every check held (and there was one)."""

    scenario: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(what, bool(ok), detail))
        return bool(ok)

    def note(self, text: str) -> None:
        """What happened, beyond pass/fail (which branch of an either-or, how long a recovery took)."""
        self.notes.append(text)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        """One line: verdict, scenario, what was checked (failed checks with their detail)."""
        parts = [c.what if c.ok else f"FAILED {c.what} ({c.detail})" for c in self.checks]
        notes = f" [{'; '.join(self.notes)}]" if self.notes else ""
        return f"{'PASS' if self.passed else 'FAIL'} {self.scenario}: {'; '.join(parts)}{notes}"


@dataclass(frozen=True)
class FaultContext:
    """Where a scenario works: a migrated database, a scratch folder, short or full version."""

    database_url: str
    workdir: Path
    quick: bool = True
