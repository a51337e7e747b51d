"""Turn an inventory matched against the advisory index into ``NormalizedFinding``s.

One finding per (package, alias group) per project, whatever number of files or versions mention
the package: that is the identity ingestion fingerprints on, and two findings with one identity
would fight each other. When several pinned versions of a package are vulnerable to the same group,
the finding lists all of them. A package that is only ever declared without a pinned version and
has known advisories becomes one info-level ``osv-unpinned`` finding: Vigil cannot know which
release gets installed and does not guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.advisories.matcher import AdvisoryIndex, GroupMatch, version_key
from app.scanners.base import NormalizedFinding

SCANNER = "osv"
UNPINNED_RULE = "osv-unpinned"
ID_PREFERENCE = ("CVE-", "GHSA-", "PYSEC-")


class DependencyLike(Protocol):
    """A parsed Dependency or a stored dependency row: the fields matching reads."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def line(self) -> int | None: ...
    @property
    def direct(self) -> bool | None: ...
    @property
    def dev(self) -> bool: ...
    @property
    def specifier(self) -> str: ...


def preferred_id(ids: Iterable[str]) -> str:
    """The id people search for first: a CVE, else a GHSA, else a PYSEC, else the first id."""
    ordered = sorted(ids)
    for prefix in ID_PREFERENCE:
        for value in ordered:
            if value.startswith(prefix):
                return value
    return ordered[0]


@dataclass
class _Package:
    deps: list[DependencyLike] = field(default_factory=list)

    @property
    def versions(self) -> list[str]:
        return sorted({d.version for d in self.deps if d.version}, key=version_key)

    def hints(self) -> dict[str, Any]:
        return {
            "direct": any(d.direct for d in self.deps)
            if any(d.direct is not None for d in self.deps)
            else None,
            "dev_only": all(d.dev for d in self.deps),
            "sources": sorted({d.source for d in self.deps}),
        }

    def first(self, version: str | None = None) -> DependencyLike:
        pool = [d for d in self.deps if version is None or d.version == version] or self.deps
        return min(pool, key=lambda d: (d.source, d.line or 0))


def _vulnerable(
    name: str, package: _Package, matches: dict[tuple[str, ...], list[GroupMatch]]
) -> list[NormalizedFinding]:
    findings = []
    for ids, hits in sorted(matches.items()):
        versions = [m.version for m in hits]
        head = hits[0]
        main_id = preferred_id(ids)
        fixed = head.fixed_versions
        recommended = [m.recommended for m in hits if m.recommended]
        where = package.first(versions[0])
        fix_text = f"fixed in {', '.join(fixed)}" if fixed else "no fixed version published"
        upgrade = f"; upgrade to {max(recommended, key=version_key)}" if recommended else ""
        findings.append(
            NormalizedFinding(
                scanner=SCANNER,
                rule_id=main_id,
                tool_rule_id=head.matched[0],
                category="dependency",
                severity=head.severity,
                confidence="high",
                title=f"{name} {', '.join(versions)}: {main_id} {head.summary}".strip()[:500],
                message=f"{name} {', '.join(versions)} is affected by {', '.join(ids)} "
                f"({fix_text}{upgrade}).",
                path=where.source,
                line=where.line,
                advisory_ids=ids,
                package=name,
                installed_version=", ".join(versions),
                fixed_versions=fixed,
                extras={
                    **package.hints(),
                    "matched_records": sorted({r for m in hits for r in m.matched}),
                    "severity_source": "default" if head.severity_is_default else "advisory",
                    "recommended_version": max(recommended, key=version_key) if recommended else None,
                },
            )
        )
    return findings


def _unpinned(name: str, package: _Package, index: AdvisoryIndex) -> NormalizedFinding:
    where = package.first()
    specs = sorted({d.specifier for d in package.deps if d.specifier})
    count = index.advisory_count(name)
    return NormalizedFinding(
        scanner=SCANNER,
        rule_id=UNPINNED_RULE,
        tool_rule_id=UNPINNED_RULE,
        category="dependency",
        severity="info",
        confidence="low",
        title=f"{name} is not pinned; {count} known advisories affect some of its releases"[:500],
        message=(
            f"{name} is declared as {' / '.join(specs) or 'any version'} without a pinned version or lock "
            "file, so Vigil cannot tell which release is installed. Pin it or add a lock file."
        ),
        path=where.source,
        line=where.line,
        package=name,
        extras={**package.hints(), "unpinned": True, "advisory_count": count},
    )


def evaluate(deps: Iterable[DependencyLike], index: AdvisoryIndex) -> list[NormalizedFinding]:
    """All dependency findings for one project's inventory."""
    packages: dict[str, _Package] = {}
    known = index.by_package
    for dep in deps:
        # Most dependencies have no advisory at all: drop them before any grouping work.
        if dep.name in known or index.knows(dep.name):
            packages.setdefault(dep.name, _Package()).deps.append(dep)
    findings: list[NormalizedFinding] = []
    for name in sorted(packages):
        package = packages[name]
        versions = package.versions
        if not versions:
            findings.append(_unpinned(name, package, index))
            continue
        matches: dict[tuple[str, ...], list[GroupMatch]] = {}
        for version in versions:
            for match in index.match(name, version):
                matches.setdefault(match.ids, []).append(match)
        findings.extend(_vulnerable(name, package, matches))
    return findings
