"""The ``osv`` entry of ``SCANNERS``: dependency files matched against the offline advisory store.

It runs no subprocess and needs no network. The advisory store lives in Vigil's database, which
scanners never touch, so the scanner is given a compiled :class:`AdvisoryIndex` (``bind``); the scan
service does that and also stores the inventory (see ``app.services.advisories.scan_checkout``). An
unbound scanner fails loudly instead of reporting a clean run over no advisories, and a dependency
file that cannot be read makes the run incomplete, so its findings are never closed as fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from app.advisories.findings import SCANNER as NAME
from app.advisories.findings import evaluate
from app.advisories.inventory import collect
from app.advisories.matcher import AdvisoryIndex
from app.scanners.scan import ScanOptions, ScanResult

TOOL_VERSION = "vigil-osv"


@dataclass(frozen=True)
class OsvScanner:
    name: str = NAME
    category: str = "dependency"
    index: AdvisoryIndex | None = None

    def bind(self, index: AdvisoryIndex) -> OsvScanner:
        """This scanner with a snapshot of the advisory store to match against."""
        return replace(self, index=index)

    def run(self, checkout: Path, options: ScanOptions) -> ScanResult:
        if self.index is None:
            return ScanResult.failure(
                self.name, "no advisory store given: the osv scanner runs through the scan service"
            )
        inventory = collect(checkout, options.dependency_files or None, options.exclude_paths)
        findings = evaluate(inventory.dependencies, self.index)
        version = self.index.version or None
        if inventory.failed:
            return ScanResult.failure(
                self.name,
                "; ".join(inventory.problems)[:1000],
                findings,
                tool_version=TOOL_VERSION,
                ruleset_version=version,
            )
        return ScanResult.success(self.name, findings, tool_version=TOOL_VERSION, ruleset_version=version)


SCANNER = OsvScanner()
