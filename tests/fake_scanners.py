"""Fast fake scanners for scheduling tests, added to ``SCANNERS`` by :func:`register`.

Their behaviour is read from ``.fake-scan.json`` in the checkout, so a test (or a ``vigil worker``
subprocess started through ``tests.scan_fixtures.spawn_vigil``) controls them through the
project's files: ``{"findings": 3, "sleep": 0, "fail": false}``. A sleeping fake honours the cancel
event like a real tool's runner does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from app.scanners.base import NormalizedFinding
from app.scanners.registry import SCANNERS
from app.scanners.scan import ScanOptions, ScanResult

CONFIG = ".fake-scan.json"


class FakeScanner:
    category = "security"

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, checkout: Path, options: ScanOptions) -> ScanResult:
        path = checkout / CONFIG
        config = json.loads(path.read_text()) if path.exists() else {}
        deadline = time.monotonic() + float(config.get("sleep", 0))
        while time.monotonic() < deadline:
            if options.cancel is not None and options.cancel.is_set():
                return ScanResult.failure(self.name, "cancelled", cancelled=True)
            time.sleep(0.05)
        if config.get("timeout"):
            return ScanResult.failure(self.name, "timed out after 1 s and was killed", timed_out=True)
        if config.get("fail"):
            return ScanResult.failure(
                self.name, "fake tool crashed", stderr_tail="Traceback: boom", exit_code=2
            )
        findings = [
            NormalizedFinding(
                scanner=self.name,
                rule_id=f"{self.name.upper()}-{i:03d}",
                tool_rule_id=f"F{i}",
                category="security",
                severity="high",
                title=f"fake issue {i}",
                path=f"mod_{i}.py",
                line=1,
                snippet=f"x = {i}",
            )
            for i in range(int(config.get("findings", 2)))
        ]
        return ScanResult.success(
            self.name, findings, tool_version="fake-1.0", exit_code=1 if findings else 0
        )


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
