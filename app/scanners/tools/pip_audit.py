"""pip-audit over the project's pinned requirements files.

Always ``--no-deps --disable-pip --strict``: audit exactly the pins given, never create a virtualenv
or run pip (that would execute the scanned project's build code), and fail rather than skip a
package. Without network pip-audit cannot reach its vulnerability service: that is a *failed* run
with the reason, never "0 vulnerabilities". Missing or partial JSON, a ``skip_reason``, or nothing
audited at all are failures too. Exit codes: 0 no vulnerabilities, 1 vulnerabilities (or an error,
told apart by the JSON).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.errors import VigilError
from app.scanners.base import ReportError
from app.scanners.importers import pip_audit as pip_audit_format
from app.scanners.importers.base import ParsedReport
from app.scanners.runner import RunResult
from app.scanners.scan import ScanOptions
from app.scanners.tool import ToolScanner
from app.scanners.tools.common import relative_file

REQUEST_TIMEOUT = 30
# Probed at the checkout root when the project names no dependency files.
DEFAULT_FILES = ("requirements.txt", "requirements/base.txt", "requirements/prod.txt")


class PipAuditScanner(ToolScanner):
    name = "pip-audit"
    category = "dependency"
    binary = "pip-audit"
    ok_exit_codes = frozenset({0, 1})
    quote_stderr_on_decode_error = False

    def files(self, checkout: Path, options: ScanOptions) -> list[str]:
        names = options.dependency_files or tuple(n for n in DEFAULT_FILES if (checkout / n).is_file())
        names = tuple(n for n in names if n.endswith(".txt") or "requirements" in n)
        if not names:
            raise VigilError("no requirements file to audit (set the project's dependency files)")
        return [relative_file(checkout, name) for name in names]

    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        args = [tool, "--no-deps", "--disable-pip", "--strict", "-f", "json", "--progress-spinner", "off"]
        args += ["--timeout", str(REQUEST_TIMEOUT), "--cache-dir", str(work / "cache")]
        for name in self.files(checkout, options):
            args += ["-r", name]
        return args

    def decode(self, run: RunResult, options: ScanOptions) -> Any:
        if run.stdout_bytes == 0:
            # Typical offline: --strict stops at the first package it cannot look up, before any
            # report is written. Say which, in pip-audit's words.
            raise ReportError(self.name, f"no report written: {_reason(run.stderr_tail)}")
        return super().decode(run, options)

    def parse(self, document: Any) -> ParsedReport:
        return pip_audit_format.parse(document)

    def check(self, run: RunResult, report: ParsedReport, checkout: Path, options: ScanOptions) -> str | None:
        if run.exit_code == 1 and not report.findings:
            return f"pip-audit exited 1 without reporting a vulnerability: {_reason(run.stderr_tail)}"
        if not report.extras.get("audited", 1):
            return "pip-audit audited no dependency"
        return None

    def exit_error(self, run: RunResult) -> str:
        return f"pip-audit failed (exit {run.exit_code}): {_reason(run.stderr_tail)}"


_LOG_PREFIX = re.compile(r"^(ERROR|WARNING|INFO|CRITICAL):[\w.]+:\s*")


def _reason(stderr: str) -> str:
    """pip-audit's own last error line, without its logger prefix; tracebacks give their last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    reason = _LOG_PREFIX.sub("", (errors or lines or ["no reason given"])[-1])
    return reason[:300]


SCANNER = PipAuditScanner()
