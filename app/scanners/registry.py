"""``SCANNERS``: the tools Vigil runs, by name. A plain dict, so adding one is a module plus a line.

Every entry satisfies :class:`app.scanners.scan.Scanner` (``name``, ``category``,
``run(checkout, options) -> ScanResult``); pure-Python scanners (the offline OSV matcher) register
here the same way as subprocess tools.
"""

from __future__ import annotations

from app.advisories import scanner as osv
from app.scanners.scan import Outcome, Scanner, ScanOptions, ScanResult, Suppression
from app.scanners.tools import bandit, detect_secrets, mypy, pip_audit, ruff, semgrep

SCANNERS: dict[str, Scanner] = {
    bandit.SCANNER.name: bandit.SCANNER,
    ruff.SCANNER.name: ruff.SCANNER,
    semgrep.SCANNER.name: semgrep.SCANNER,
    pip_audit.SCANNER.name: pip_audit.SCANNER,
    detect_secrets.SCANNER.name: detect_secrets.SCANNER,
    mypy.SCANNER.name: mypy.SCANNER,
    osv.SCANNER.name: osv.SCANNER,
}

__all__ = ["SCANNERS", "Outcome", "ScanOptions", "ScanResult", "Scanner", "Suppression"]
