"""A scanner that takes as long as a fault scenario needs, registered only in fault processes.

Killing a worker "mid-scan" needs a scan that is still running when the signal arrives. Real tools
finish in a time nobody controls, so the fault harness registers this one (in its own process and
in the ``vigil`` processes it spawns, never in a deployed server). It reads ``.fault-scan.json``
from the checkout: ``{"sleep": 5, "findings": 3}``, and honours cancellation like a real runner.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.scanners.base import NormalizedFinding
from app.scanners.registry import SCANNERS
from app.scanners.scan import ScanOptions, ScanResult

NAME = "fault-sleeper"
CONFIG = ".fault-scan.json"


def configure(folder: Path, *, sleep: float = 0.0, findings: int = 3) -> None:
    (folder / CONFIG).write_text(json.dumps({"sleep": sleep, "findings": findings}))


class SleeperScanner:
    name = NAME
    category = "security"

    def run(self, checkout: Path, options: ScanOptions) -> ScanResult:
        path = checkout / CONFIG
        config = json.loads(path.read_text()) if path.exists() else {}
        deadline = time.monotonic() + float(config.get("sleep", 0))
        while time.monotonic() < deadline:
            if options.cancel is not None and options.cancel.is_set():
                return ScanResult.failure(NAME, "cancelled", cancelled=True)
            time.sleep(0.05)
        findings = [
            NormalizedFinding(
                scanner=NAME,
                rule_id=f"FAULT-{i:03d}",
                tool_rule_id=f"FS{i}",
                category="security",
                severity="high",
                title=f"fault scenario finding {i}",
                path=f"module_{i}.py",
                line=1,
                snippet=f"value = {i}",
            )
            for i in range(int(config.get("findings", 3)))
        ]
        return ScanResult.success(NAME, findings, tool_version="sleeper-1", exit_code=1 if findings else 0)


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
