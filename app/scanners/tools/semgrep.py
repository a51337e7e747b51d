"""semgrep with the rule pack shipped in ``app/scanners/rules/semgrep`` — never a registry config.

Always ``--metrics=off`` and ``--disable-version-check`` (plus the matching environment variables:
without them semgrep waits about a minute and a half on the network before doing anything offline).
``--project-root .`` makes semgrep scan the checkout as a plain folder: inside a git work tree it
would otherwise scan only *tracked* files and silently report nothing for the rest.
``--no-rewrite-rule-ids`` keeps rule ids independent of where Vigil is installed.
Known limit: when the repository has no ``.semgrepignore``, semgrep applies its built-in default
ignore list (test folders, vendored code, ...) and cannot be told otherwise without writing into the
checkout; bandit and ruff still cover those folders.

Exit codes: 0 ran (with or without findings), anything else is an error. ``errors[]`` in the output
(unparsable files, rule errors) make the run incomplete, hence failed: semgrep did not look at
everything, so nothing may be closed on its word.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from app.scanners.importers import semgrep as semgrep_format
from app.scanners.importers.base import ParsedReport
from app.scanners.runner import RunResult
from app.scanners.scan import ScanOptions
from app.scanners.suppressions import iter_files
from app.scanners.tool import RULES_DIR, ToolScanner

RULE_PACK = RULES_DIR / "semgrep"
# Per-file, per-rule time budget (seconds); the whole run is bounded by the runner's timeout.
RULE_TIMEOUT = 30
SOURCE_SUFFIXES = (".py",)


class SemgrepScanner(ToolScanner):
    name = "semgrep"
    category = "security"
    binary = "semgrep"
    ok_exit_codes = frozenset({0})
    # semgrep-core reserves more than 2 GB of address space at start-up (measured: it crashes under
    # RLIMIT_AS of 1 and 2 GB, runs at 3 GB with ~100 MB RSS); its real memory use is capped by
    # --max-memory, which follows the configured limit.
    address_space_floor_mb = 4096

    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        args = [
            tool,
            "scan",
            "--config",
            str(RULE_PACK),
            "--json",
            "--metrics=off",
            "--disable-version-check",
            "--no-rewrite-rule-ids",
            "--project-root",
            ".",
            "--jobs",
            "1",
            "--timeout",
            str(RULE_TIMEOUT),
            "--max-memory",
            str(max(256, options.limits.memory_mb - 128)),
        ]
        for pattern in options.exclude_paths:
            args += ["--exclude", pattern]
        if options.ignore_inline_suppressions:
            args.append("--disable-nosem")
        return [*args, "."]

    def env(self, options: ScanOptions) -> dict[str, str]:
        return {"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}

    def ruleset_version(self, options: ScanOptions) -> str | None:
        return pack_version()

    def parse(self, document: Any) -> ParsedReport:
        return semgrep_format.parse(document)

    def check(self, run: RunResult, report: ParsedReport, checkout: Path, options: ScanOptions) -> str | None:
        if report.extras.get("scanned") == 0 and any(
            rel.endswith(SOURCE_SUFFIXES) for rel, _ in iter_files(checkout, options.exclude_paths)
        ):
            return "semgrep scanned no files although the checkout has Python sources"
        return None


def pack_version() -> str:
    """A digest of the shipped rule files: findings can be traced to the exact rules that made them."""
    digest = hashlib.sha256()
    for path in sorted(RULE_PACK.glob("*.yml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "vigil-" + digest.hexdigest()[:12]


SCANNER = SemgrepScanner()
