"""Fast fake scanners for scheduling tests, added to ``SCANNERS`` by :func:`register`.

Their behaviour is read from ``.fake-scan.json`` in the checkout, so a test (or a ``vigil worker``
subprocess started through ``tests.scan_fixtures.spawn_vigil``) controls them through the
project's files: ``{"findings": 3, "sleep": 0, "fail": false}``. A sleeping fake honours the cancel
event like a real tool's runner does.
"""

from __future__ import annotations

from typing import Any

from app.bench.faults.sleeper import SleeperScanner
from app.scanners.registry import SCANNERS
from app.scanners.scan import ScanResult

CONFIG = ".fake-scan.json"


class FakeScanner(SleeperScanner):
    """The fault harness's sleeper with the fakes' names, config file and findings, plus failures."""

    config_name = CONFIG
    tool_version = "fake-1.0"
    default_findings = 2

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.formats = {
            "rule_id": f"{name.upper()}-{{i:03d}}",
            "tool_rule_id": "F{i}",
            "title": "fake issue {i}",
            "path": "mod_{i}.py",
            "snippet": "x = {i}",
        }

    def finish(self, config: dict[str, Any]) -> ScanResult:
        if config.get("timeout"):
            return ScanResult.failure(self.name, "timed out after 1 s and was killed", timed_out=True)
        if config.get("fail"):
            return ScanResult.failure(
                self.name, "fake tool crashed", stderr_tail="Traceback: boom", exit_code=2
            )
        return super().finish(config)


FAKES = ("fake-a", "fake-b")


def register() -> list[str]:
    """Add the fakes to ``SCANNERS``; returns the names this call added (to remove them after)."""
    added = [name for name in FAKES if name not in SCANNERS]
    for name in added:
        SCANNERS[name] = FakeScanner(name)
    return added


def unregister(names: list[str]) -> None:
    for name in names:
        SCANNERS.pop(name, None)
