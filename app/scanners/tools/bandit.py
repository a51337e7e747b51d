"""bandit: Python security checks.

Runs with Vigil's own ``--ini`` so a ``.bandit`` file committed to the scanned repository cannot
skip tests (bandit otherwise picks it up silently); with ``honour_repo_config`` the repository's
``.bandit`` (or ``[tool.bandit]`` in pyproject.toml) is used instead. Exit codes: 0 no issues,
1 issues, anything else is a tool error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.scanners.importers import bandit as bandit_format
from app.scanners.importers.base import ParsedReport
from app.scanners.runner import RunResult
from app.scanners.scan import ScanOptions
from app.scanners.tool import RULES_DIR, ToolScanner
from app.scanners.tools.common import DEFAULT_EXCLUDES, exit_agrees


class BanditScanner(ToolScanner):
    name = "bandit"
    category = "security"
    binary = "bandit"
    ok_exit_codes = frozenset({0, 1})

    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        excludes = [f"./{p.strip('/')}" for p in (*DEFAULT_EXCLUDES, *options.exclude_paths)]
        args = [tool, "-r", ".", "-f", "json", "-q", "-x", ",".join(excludes)]
        if not options.honour_repo_config:
            args += ["--ini", str(RULES_DIR / "bandit.ini")]
        elif _has_tool_bandit(checkout / "pyproject.toml"):
            args += ["-c", "pyproject.toml"]
        if options.ignore_inline_suppressions:
            args.append("--ignore-nosec")
        return args

    def parse(self, document: Any) -> ParsedReport:
        return bandit_format.parse(document)

    def check(self, run: RunResult, report: ParsedReport, checkout: Path, options: ScanOptions) -> str | None:
        return exit_agrees(self.name, run, report)


def _has_tool_bandit(pyproject: Path) -> bool:
    try:
        return pyproject.is_file() and "[tool.bandit" in pyproject.read_text(
            encoding="utf-8", errors="replace"
        )
    except OSError:
        return False


SCANNER = BanditScanner()
