"""mypy as a source of quality violations (type errors), never of security findings.

``-O json`` writes one JSON object per line; each is decoded through the same limited decoder as
uploads. mypy never reads the repository's config (``--config-file=``), even when the project
honours repository config: a mypy config can load plugins, i.e. run the scanned repository's code.
Its cache goes to Vigil's work folder, never the checkout.
Exit codes: 0 no errors, 1 errors, 2 mypy itself failed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.scanners.base import ReportError
from app.scanners.importers import mypy as mypy_format
from app.scanners.importers.base import ParsedReport
from app.scanners.importers.safe_load import loads_json
from app.scanners.runner import RunResult
from app.scanners.scan import ScanOptions
from app.scanners.tool import ToolScanner
from app.scanners.tools.common import DEFAULT_EXCLUDES, exit_agrees


class MypyScanner(ToolScanner):
    name = "mypy"
    category = "quality"
    binary = "mypy"
    ok_exit_codes = frozenset({0, 1})

    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        args = [tool, "-O", "json", "--no-error-summary", "--show-column-numbers", "--no-color-output"]
        args += ["--hide-error-context", "--ignore-missing-imports", "--cache-dir", str(work / "mypy-cache")]
        args.append("--config-file=")
        excluded = [re.escape(p.strip("/")) for p in (*DEFAULT_EXCLUDES, *options.exclude_paths)]
        args += ["--exclude", rf"(^|/)({'|'.join(excluded)})/"]
        return [*args, "."]

    def decode(self, run: RunResult, options: ScanOptions) -> Any:
        # No output is a valid answer here: exit 0 with no messages means no type errors.
        lines = run.read_stdout().decode("utf-8", "replace").splitlines()
        messages = [loads_json(line, "mypy") for line in lines if line.strip()]
        if any(not isinstance(m, dict) for m in messages):
            raise ReportError("mypy", "an output line is not a JSON object")
        return messages

    def parse(self, document: Any) -> ParsedReport:
        return mypy_format.parse(document)

    def check(self, run: RunResult, report: ParsedReport, checkout: Path, options: ScanOptions) -> str | None:
        return exit_agrees(self.name, run, report)


SCANNER = MypyScanner()
