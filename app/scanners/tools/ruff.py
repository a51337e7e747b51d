"""ruff: the flake8-bandit security rules (``S``) plus a configurable quality rule set.

``--isolated`` (unless the project honours repository config) so a committed ``ruff.toml`` or
``[tool.ruff]`` cannot ignore the S rules; ``--no-cache`` so nothing is written into the checkout;
``--ignore-noqa`` when the project ignores inline suppressions. Exit codes: 0 no violations,
1 violations, 2 error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.errors import VigilError
from app.scanners.importers import ruff as ruff_format
from app.scanners.importers.base import ParsedReport
from app.scanners.runner import RunResult
from app.scanners.scan import ScanOptions
from app.scanners.tool import ToolScanner
from app.scanners.tools.common import exit_agrees

_RULE = re.compile(r"^[A-Z]{1,4}[0-9]{0,4}$")


class RuffScanner(ToolScanner):
    name = "ruff"
    category = "security"
    binary = "ruff"
    ok_exit_codes = frozenset({0, 1})

    def rules(self, options: ScanOptions) -> list[str]:
        rules = ["S", *(r.strip().upper() for r in options.quality_rules if r.strip())]
        bad = [r for r in rules if not _RULE.match(r)]
        if bad:
            raise VigilError(f"invalid ruff rule selector {bad[0]!r}")
        return list(dict.fromkeys(rules))

    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        args = [tool, "check", "--output-format", "json", "--no-cache", "--no-fix"]
        args += ["--select", ",".join(self.rules(options))]
        if not options.honour_repo_config:
            args.append("--isolated")
        if options.ignore_inline_suppressions:
            args.append("--ignore-noqa")
        for pattern in options.exclude_paths:
            args += ["--extend-exclude", pattern]
        return [*args, "--", "."]

    def ruleset_version(self, options: ScanOptions) -> str | None:
        return ",".join(self.rules(options))

    def parse(self, document: Any) -> ParsedReport:
        if document == []:
            return ParsedReport(format="ruff", scanner="ruff", findings=[])
        return ruff_format.parse(document)

    def check(self, run: RunResult, report: ParsedReport, checkout: Path, options: ScanOptions) -> str | None:
        return exit_agrees(self.name, run, report)


SCANNER = RuffScanner()
