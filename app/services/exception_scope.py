"""What an exception covers: one finding, an advisory (with aliases) in a package, or a rule + path glob.

Scopes are validated and normalized here. Matching is done in two steps: :func:`scope_candidates`,
a SQL pre-filter (project, rule, finding) that keeps the work small, then ingestion's
``ExceptionMatcher`` on each candidate (alias lists stored as JSON, path globs), so existing and
incoming findings are judged by one definition. Package names use PEP 503 normal form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.utils import canonicalize_name
from sqlalchemy import Select, or_, select

from app.models import ExceptionScope, Finding, RiskException
from app.services.exception_policy import ExceptionInputError

ADVISORY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9._:-]{1,110}$")
# Spaces inside: detect-secrets names its rules by plugin ("detect-secrets:AWS Access Key").
RULE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@ -]{0,254}$")
PACKAGE_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,253}[A-Za-z0-9])?$")


def normalize_advisory(raw: str) -> str:
    value = raw.strip()
    if not ADVISORY_RE.match(value):
        raise ExceptionInputError(
            f"{raw!r} is not an advisory id (like GHSA-xxxx-xxxx-xxxx, CVE-2024-1234, PYSEC-…)"
        )
    return value.upper() if value[:4].upper() in {"CVE-", "GHSA", "PYSE"} else value


def normalize_aliases(raw: Iterable[str], primary: str) -> list[str]:
    aliases: list[str] = []
    for item in raw:
        if item.strip():
            alias = normalize_advisory(item)
            if alias != primary and alias not in aliases:
                aliases.append(alias)
    return aliases


def normalize_package(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if not PACKAGE_RE.match(raw.strip()):
        raise ExceptionInputError(f"{raw!r} is not a Python package name")
    return canonicalize_name(raw.strip())


def normalize_rule(raw: str | None) -> str:
    value = (raw or "").strip()
    if not RULE_RE.match(value):
        raise ExceptionInputError("a rule exception needs a rule id (letters, digits, spaces, . _ : / @ -)")
    return value


def normalize_glob(raw: str | None) -> str:
    value = (raw or "").strip() or "*"
    if len(value) > 1024 or "\x00" in value:
        raise ExceptionInputError("the path glob is too long or contains a NUL byte")
    if value.startswith("/") or ".." in value.split("/"):
        raise ExceptionInputError("the path glob is relative to the repository: no leading '/' and no '..'")
    return value


def advisory_ids_of(exc: RiskException) -> set[str]:
    return {a.upper() for a in [exc.advisory_id or "", *(exc.aliases or [])] if a}


def scope_candidates(exc: RiskException) -> Select[Finding]:
    """The SQL pre-filter: every finding that could be in scope (a superset)."""
    stmt = select(Finding)
    if exc.scope is ExceptionScope.FINDING:
        return stmt.where(Finding.id == exc.finding_id)
    if exc.project_id is not None:
        stmt = stmt.where(Finding.project_id == exc.project_id)
    if exc.scope is ExceptionScope.RULE:
        return stmt.where(or_(Finding.rule_id == exc.rule_id, Finding.tool_rule_id == exc.rule_id))
    return stmt.where(Finding.package.is_not(None)) if exc.package else stmt
