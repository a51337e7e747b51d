"""detect-secrets over every file of the checkout.

Runs with the checkout as its *working directory* and ``.`` as the target: given a path outside its
working directory detect-secrets reports 0 results and exits 0 — the worst kind of failure, a silent
clean. ``--all-files`` so a checkout that is not a git work tree (or has untracked files) is still
fully scanned. The tool outputs only SHA-1 hashes of secrets, never the values.
With ``ignore_inline_suppressions`` the ``pragma: allowlist secret`` filter is disabled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.scanners.importers import detect_secrets as detect_secrets_format
from app.scanners.importers.base import ParsedReport
from app.scanners.scan import ScanOptions
from app.scanners.tool import ToolScanner
from app.scanners.tools.common import DEFAULT_EXCLUDES

ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"


def exclude_regex(patterns: tuple[str, ...]) -> str:
    """One regular expression for ``--exclude-files`` from directory names and project globs."""
    parts = [rf"(^|/){re.escape(p.strip('/'))}(/|$)" for p in (*DEFAULT_EXCLUDES, *patterns) if "*" not in p]
    parts += [_glob_regex(p) for p in patterns if "*" in p]
    return "|".join(parts)


def _glob_regex(pattern: str) -> str:
    return "^" + re.escape(pattern.strip("/")).replace(r"\*\*", ".*").replace(r"\*", "[^/]*") + "($|/)"


class DetectSecretsScanner(ToolScanner):
    name = "detect-secrets"
    category = "secret"
    binary = "detect-secrets"
    ok_exit_codes = frozenset({0})

    def argv(self, tool: str, checkout: Path, options: ScanOptions, work: Path) -> list[str]:
        args = [tool, "scan", "--all-files", "--exclude-files", exclude_regex(options.exclude_paths)]
        if options.ignore_inline_suppressions:
            args += ["--disable-filter", ALLOWLIST_FILTER]
        return [*args, "."]

    def cwd(self, checkout: Path) -> Path:
        return checkout

    def parse(self, document: Any) -> ParsedReport:
        return detect_secrets_format.parse(document)


SCANNER = DetectSecretsScanner()
