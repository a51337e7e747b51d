"""A scanner that takes as long as a fault scenario needs, registered only in fault processes.

Killing a worker "mid-scan" needs a scan that is still running when the signal arrives. Real tools
finish in a time nobody controls, so the fault harness registers this one (in its own process and
in the ``vigil`` processes it spawns, never in a deployed server). It reads ``.fault-scan.json``
from the checkout: ``{"sleep": 5, "findings": 3}``, and honours cancellation like a real runner.
The test suite's fake scanners are the same class with their own names and config file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.scanners.base import NormalizedFinding
from app.scanners.registry import SCANNERS
from app.scanners.scan import ScanOptions, ScanResult

NAME = "fault-sleeper"
CONFIG = ".fault-scan.json"


def configure(folder: Path, *, sleep: float = 0.0, findings: int = 3) -> None:
    (folder / CONFIG).write_text(json.dumps({"sleep": sleep, "findings": findings}))


class SleeperScanner:
    """Sleeps ``sleep`` seconds (cancellable), then reports ``findings`` numbered findings."""

    category = "security"
    config_name = CONFIG
    tool_version = "sleeper-1"
    default_findings = 3
    # Each finding's text fields, formatted with its number ``i`` (the fingerprint depends on them).
    formats = {
        "rule_id": "FAULT-{i:03d}",
        "tool_rule_id": "FS{i}",
        "title": "fault scenario finding {i}",
        "path": "module_{i}.py",
        "snippet": "value = {i}",
    }

    def __init__(self, name: str = NAME) -> None:
        self.name = name

    def run(self, checkout: Path, options: ScanOptions) -> ScanResult:
        path = checkout / self.config_name
        config = json.loads(path.read_text()) if path.exists() else {}
        deadline = time.monotonic() + float(config.get("sleep", 0))
        while time.monotonic() < deadline:
            if options.cancel is not None and options.cancel.is_set():
                return ScanResult.failure(self.name, "cancelled", cancelled=True)
            time.sleep(0.05)
        return self.finish(config)

    def finish(self, config: dict[str, Any]) -> ScanResult:
        findings = [self.finding(i) for i in range(int(config.get("findings", self.default_findings)))]
        return ScanResult.success(
            self.name, findings, tool_version=self.tool_version, exit_code=1 if findings else 0
        )

    def finding(self, i: int) -> NormalizedFinding:
        text = {key: value.format(i=i) for key, value in self.formats.items()}
        return NormalizedFinding(
            scanner=self.name,
            rule_id=text["rule_id"],
            tool_rule_id=text["tool_rule_id"],
            category="security",
            severity="high",
            title=text["title"],
            path=text["path"],
            line=1,
            snippet=text["snippet"],
        )


def register() -> bool:
    """Add the scanner to ``SCANNERS``; True when this call added it."""
    if NAME in SCANNERS:
        return False
    SCANNERS[NAME] = SleeperScanner()
    return True


@contextmanager
def registered() -> Iterator[None]:
    """The scanner is known for the duration of a scenario only (the registry is process-wide)."""
    added = register()
    try:
        yield
    finally:
        if added:
            SCANNERS.pop(NAME, None)
