"""The shared shape of a scanner that runs an external tool: argv -> runner -> exit code -> parser.

Each tool module only says how to build its argument list, which exit codes mean "ran fine", and how
to check its parsed output; this class does the rest the same way for every tool, so the rule "a
tool error is a failed run, never a clean one" is enforced in one place:

- unsafe checkout path, missing tool            -> failed (reason), no process started
- timed out / output cap / cancelled / signal   -> failed (timed_out / cancelled flags set)
- exit code outside the tool's "ran fine" set   -> failed, with the stderr tail
- output missing, not JSON, or wrong shape      -> failed
- the report says it is partial (errors, skips) -> failed, findings kept, ``complete`` False
- otherwise                                      -> clean (no findings) or findings
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import shutil
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.errors import VigilError
from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers.base import ParsedReport
from app.scanners.importers.safe_load import load_json
from app.scanners.runner import (
    Limits,
    RunnerError,
    RunResult,
    run_tool,
    tool_path,
    tool_version,
    validate_checkout,
)
from app.scanners.scan import ScanOptions, ScanResult, Suppression
from app.scanners.suppressions import KINDS_BY_SCANNER, find_suppressions

RULES_DIR = Path(__file__).resolve().parent / "rules"


class ToolScanner(ABC):
    """A scanner backed by one command-line tool that writes JSON to stdout."""

    name: str = ""
    category: str = "security"
    binary: str = ""
    ok_exit_codes: frozenset[int] = frozenset({0})
    version_args: tuple[str, ...] = ("--version",)
    # Whether an unreadable-output error quotes the last stderr line (off when ``decode`` already
    # explains the failure in the tool's words).
    quote_stderr_on_decode_error: bool = True
    # Smallest address-space limit the tool can start under (MB). Some runtimes reserve far more
    # virtual memory than they use (semgrep-core needs over 2 GB of address space at ~100 MB RSS);
    # such tools bound their real memory with their own option instead.
    address_space_floor_mb: int = 0

    @abstractmethod
    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        """The full argument list (``tool`` is the absolute binary path)."""

    @abstractmethod
    def parse(self, document: Any) -> ParsedReport:
        """Findings from the decoded JSON output (the same parser uploads of this format use)."""

    def cwd(self, checkout: Path) -> Path:
        return checkout

    def env(self, options: ScanOptions) -> Mapping[str, str]:
        return {}

    def decode(self, run: RunResult, options: ScanOptions) -> Any:
        """The tool's stdout as a document, through the same limited JSON decoder uploads use."""
        if run.stdout_bytes == 0:
            raise ReportError(self.name, "the tool wrote no output")
        return load_json(run.stdout_path, self.name, max_bytes=options.limits.output_cap_bytes)

    def check(self, run: RunResult, report: ParsedReport, checkout: Path, options: ScanOptions) -> str | None:
        """A reason the run cannot be trusted although the tool exited normally, or None."""
        return None

    def ruleset_version(self, options: ScanOptions) -> str | None:
        return None

    def limits(self, options: ScanOptions) -> Limits:
        limits = options.limits
        if limits.memory_mb < self.address_space_floor_mb:
            limits = replace(limits, memory_mb=self.address_space_floor_mb)
        return limits

    def version(self, tool: str, work: Path, options: ScanOptions) -> str | None:
        """The tool's version: from the package metadata when the tool is the one installed with
        Vigil (instant), else by asking the binary (semgrep takes seconds to answer)."""
        if Path(tool).parent == Path(sys.executable).parent:
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                return importlib.metadata.version(self.binary)
        return tool_version([tool, *self.version_args], work, env=self.env(options))

    def run(self, checkout: Path, options: ScanOptions) -> ScanResult:
        """Run the tool on ``checkout`` under ``options.limits`` and classify what happened."""
        try:
            root = validate_checkout(checkout)
            tool = tool_path(self.binary)
        except VigilError as exc:
            return ScanResult.failure(self.name, str(exc))
        base = options.work_dir
        temp = None
        if base is None:
            temp = Path(tempfile.mkdtemp(prefix=f"vigil-{self.name}-"))
            work = temp
        else:
            work = Path(base) / self.name
            work.mkdir(parents=True, exist_ok=True)
        try:
            return self._run(tool, root, options, work, keep_output=temp is None)
        finally:
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)

    def _run(self, tool: str, root: Path, options: ScanOptions, work: Path, keep_output: bool) -> ScanResult:
        try:
            argv = self.argv(tool, root, options, work)
        except VigilError as exc:
            return ScanResult.failure(self.name, str(exc))
        version = self.version(tool, work, options)
        suppressions = self.suppressions(root, options)
        try:
            run = run_tool(
                argv,
                cwd=self.cwd(root),
                work_dir=work / "run",
                limits=self.limits(options),
                cancel=options.cancel,
                env=self.env(options),
            )
        except RunnerError as exc:
            return ScanResult.failure(self.name, str(exc), tool_version=version, argv=tuple(argv))
        common: dict[str, Any] = {
            "tool_version": version,
            "ruleset_version": self.ruleset_version(options),
            "exit_code": run.exit_code,
            "stderr_tail": run.stderr_tail,
            "suppressions": suppressions,
            "duration_seconds": run.duration_seconds,
            "peak_rss_bytes": run.peak_rss_bytes,
            "argv": run.argv,
            "raw_output": run.stdout_path if keep_output else None,
        }
        if run.stopped:
            return ScanResult.failure(
                self.name,
                f"{self.name} {run.reason}",
                timed_out=run.timed_out,
                cancelled=run.cancelled,
                **common,
            )
        if run.exit_code not in self.ok_exit_codes:
            return ScanResult.failure(self.name, self.exit_error(run), **common)
        try:
            report = self.parse(self.decode(run, options))
        except ReportError as exc:
            last = _last_line(run.stderr_tail) if self.quote_stderr_on_decode_error else ""
            detail = f" ({last})" if last else ""
            return ScanResult.failure(
                self.name, f"unreadable {self.name} output: {exc.problem}{detail}", **common
            )
        findings = [self.relativize(f, root) for f in report.findings]
        if report.tool_version and not common["tool_version"]:
            common["tool_version"] = report.tool_version
        if not report.complete:
            problems = "; ".join(report.problems[:3]) or "the tool reported an incomplete scan"
            return ScanResult.failure(
                self.name, f"incomplete {self.name} run: {problems}", findings, **common
            )
        reason = self.check(run, report, root, options)
        if reason:
            return ScanResult.failure(self.name, reason, findings, **common)
        return ScanResult.success(self.name, findings, **common)

    def exit_error(self, run: RunResult) -> str:
        last = _last_line(run.stderr_tail)
        detail = f": {last}" if last else ""
        return f"{self.name} exited with code {run.exit_code} (tool error){detail}"

    def suppressions(self, root: Path, options: ScanOptions) -> list[Suppression]:
        kinds = KINDS_BY_SCANNER.get(self.name, ())
        return find_suppressions(root, kinds, options.exclude_paths) if kinds else []

    @staticmethod
    def relativize(finding: NormalizedFinding, root: Path) -> NormalizedFinding:
        """Paths relative to the checkout, so a finding's identity does not depend on where the
        checkout happened to live."""
        if finding.path is None:
            return finding
        path = finding.path
        prefix = str(root).rstrip("/") + "/"
        if path.startswith(prefix):
            path = path[len(prefix) :]
        while path.startswith("./"):
            path = path[2:]
        if path == finding.path:
            return finding
        return replace(finding, path=path)


def _last_line(text: str) -> str:
    """The last non-blank line of a stderr tail: usually the error a person needs to see."""
    return next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")[:300]
