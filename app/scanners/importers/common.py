"""Builders shared by the dependency and secret importers, so every format produces the same shape.

Dependency findings are keyed downstream by (package, advisory alias group), so each carries its
advisory id first and its aliases after; secret findings never carry the secret itself, only its
digest (``secret_hash``) and a redacted snippet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from app.scanners.base import NormalizedFinding
from app.scanners.importers.fields import redact, secret_digest, unique
from app.scanners.importers.levels import canonical


def dependency_title(advisory: str, package: str | None, version: str | None) -> str:
    """One title format for every dependency importer: ``CVE-2021-44228 in log4j-core 2.13.2``."""
    where = " ".join(part for part in (package, version) if part)
    return f"{advisory} in {where}" if where else advisory


def dependency_finding(
    *,
    scanner: str,
    advisory: str,
    aliases: Iterable[str | None] = (),
    package: str | None,
    version: str | None,
    severity: str,
    summary: str = "",
    message: str = "",
    path: str | None = None,
    fixed_versions: Iterable[str | None] = (),
    cwe: tuple[int, ...] = (),
    suppressed: bool = False,
    extras: Mapping[str, Any] | None = None,
    advisory_ids: Iterable[str] | None = None,
) -> NormalizedFinding:
    """``advisory_ids`` overrides ``[advisory, *aliases]`` when the tool's id is not an advisory id."""
    return NormalizedFinding(
        scanner=scanner,
        rule_id=canonical(scanner, advisory),
        tool_rule_id=advisory,
        category="dependency",
        severity=severity,
        title=dependency_title(advisory, package, version)[:300],
        message=message or summary,
        path=path,
        cwe=cwe,
        advisory_ids=unique([advisory, *aliases] if advisory_ids is None else advisory_ids),
        package=package,
        installed_version=version,
        fixed_versions=unique(fixed_versions),
        suppressed=suppressed,
        extras={key: value for key, value in (extras or {}).items() if value not in (None, "", [], ())}
        | ({"summary": summary[:500]} if summary else {}),
    )


def secret_finding(
    *,
    scanner: str,
    rule: str,
    title: str,
    secret: str | None,
    severity: str,
    path: str | None,
    line: int | None = None,
    column: int | None = None,
    snippet: str | None = None,
    message: str = "",
    fingerprint: str | None = None,
    extras: Mapping[str, Any] | None = None,
) -> NormalizedFinding:
    """A secret finding: the secret is hashed, and removed from the snippet and message."""
    clean_snippet = redact(snippet, secret)
    clean_message = redact(message, secret) or ""
    return NormalizedFinding(
        scanner=scanner,
        rule_id=canonical(scanner, rule),
        tool_rule_id=rule,
        category="secret",
        severity=severity,
        title=title[:300],
        message=clean_message,
        path=path,
        line=line,
        column=column,
        snippet=clean_snippet[:2000] if clean_snippet else None,
        cwe=(798,),
        tool_fingerprint=fingerprint,
        secret_hash=secret_digest(secret) if secret else None,
        extras={key: value for key, value in (extras or {}).items() if value not in (None, "", [], ())},
    )


def merge_occurrences(findings: list[NormalizedFinding]) -> list[NormalizedFinding]:
    """Secret tools report the same secret once per commit; keep one finding per (rule, path, secret).

    Vigil's identity for a secret is (path, hashed secret), so the repeats would collapse at
    ingestion anyway; merging here keeps the count honest and records how many times it was seen.
    """
    merged: dict[tuple[str, str | None, str | None, int | None], NormalizedFinding] = {}
    counts: dict[tuple[str, str | None, str | None, int | None], int] = {}
    for finding in findings:
        line = None if finding.secret_hash else finding.line
        key = (finding.tool_rule_id, finding.path, finding.secret_hash or finding.tool_fingerprint, line)
        counts[key] = counts.get(key, 0) + 1
        merged.setdefault(key, finding)
    result = []
    for key, finding in merged.items():
        if counts[key] > 1:
            extras = dict(finding.extras) | {"occurrences": counts[key]}
            finding = replace(finding, extras=extras)
        result.append(finding)
    return result
