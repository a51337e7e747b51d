"""Is this installed version affected? The OSV evaluation rules over PEP 440 versions.

An :class:`AdvisoryIndex` is an immutable snapshot of the store compiled for matching: records
grouped per PEP 503 package name, event versions parsed once, explicit ``versions`` lists turned into
sets of canonical versions. It holds no database handle, so a scanner, a worker or a benchmark can
be given one and match thousands of dependencies without a query; repeated (package, version) pairs
across projects are answered from a cache.

Rules (OSV schema, "Evaluation"): within one ECOSYSTEM range the events are sorted by version, and
a version is affected after an ``introduced`` (``"0"`` means since the beginning) until a ``fixed``
(exclusive) or past a ``last_affected`` (inclusive); a ``limit`` ends the range. A version is also
affected when it is listed in ``versions``. Ordering is PEP 440's, so ``2.0.0rc1`` sorts before
``2.0.0`` and is affected by a range fixed in ``2.0.0``, as pip would order them. Records of one
package that share an id or alias form one group, reported once with all their ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from app.advisories.osv import AffectedPackage
from app.advisories.severity import DEFAULT_SEVERITY, worst

_EVENT_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}
_ZERO = Version("0")


@lru_cache(maxsize=65536)
def parse_version(value: str) -> Version | None:
    """A PEP 440 version, or None; cached because a fleet repeats the same few thousand versions."""
    try:
        return Version(value)
    except InvalidVersion:
        return None


_canonical_name = lru_cache(maxsize=65536)(canonicalize_name)
_canonical_version = lru_cache(maxsize=65536)(canonicalize_version)


@dataclass(frozen=True, slots=True)
class _Range:
    events: tuple[tuple[str, Version | None], ...]  # None = introduced "0" (since the beginning)

    def contains(self, version: Version) -> bool:
        affected = False
        for kind, bound in self.events:
            if kind == "introduced":
                if bound is None or version >= bound:
                    affected = True
            elif bound is not None and (
                (kind in ("fixed", "limit") and version >= bound)
                or (kind == "last_affected" and version > bound)
            ):
                affected = False
        return affected


def _compile_range(events: Sequence[tuple[str, str]]) -> _Range | None:
    parsed: list[tuple[str, Version | None]] = []
    for kind, raw in events:
        if kind == "introduced" and raw == "0":
            parsed.append((kind, None))
            continue
        version = parse_version(raw)
        if version is None:
            return None  # a range Vigil cannot order is not guessed at
        parsed.append((kind, version))
    parsed.sort(key=lambda e: (e[1] is not None, e[1] or _ZERO, _EVENT_ORDER[e[0]]))
    return _Range(tuple(parsed))


@dataclass(frozen=True, slots=True)
class CompiledAdvisory:
    """One record's view of one package, ready to answer "is version V affected?"."""

    osv_id: str
    ids: frozenset[str]
    summary: str
    severity: str | None
    ranges: tuple[_Range, ...]
    versions: frozenset[str]
    fixed: tuple[str, ...]
    modified: str

    def affects(self, version: Version | None, canonical: str) -> bool:
        if canonical in self.versions:
            return True
        return version is not None and any(r.contains(version) for r in self.ranges)


@dataclass(frozen=True, slots=True)
class GroupMatch:
    """One vulnerability (an alias group) affecting one installed version of one package."""

    package: str
    version: str
    ids: tuple[str, ...]
    matched: tuple[str, ...]
    severity: str
    severity_is_default: bool
    summary: str
    fixed_versions: tuple[str, ...]
    recommended: str | None


def version_key(value: str) -> tuple[int, Version, str]:
    """Sort PEP 440 versions in release order; unparsable ones last, by text."""
    parsed = parse_version(value)
    return (0, parsed, value) if parsed is not None else (1, _ZERO, value)


def _sort_versions(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values), key=version_key))


def recommended_fix(installed: Version | None, fixed: Sequence[str]) -> str | None:
    """The smallest fixed release above the installed one, skipping pre-releases as pip would.

    pip only picks a pre-release when the user already runs one or nothing else satisfies, so a
    final release is recommended when one exists.
    """
    candidates = [v for v in (parse_version(f) for f in fixed) if v is not None]
    if installed is not None:
        candidates = [v for v in candidates if v > installed]
    if not candidates:
        return None
    finals = [v for v in candidates if not v.is_prerelease]
    allow_pre = installed is not None and installed.is_prerelease
    pool = candidates if (allow_pre or not finals) else finals
    return str(min(pool))


@dataclass
class AdvisoryIndex:
    """A compiled, read-only snapshot of the advisory store for matching."""

    by_package: dict[str, list[CompiledAdvisory]] = field(default_factory=dict)
    groups: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    version: str = ""
    skipped_ranges: int = 0
    _cache: dict[tuple[str, str], tuple[GroupMatch, ...]] = field(default_factory=dict, repr=False)
    # (package, group ids) -> (fixed versions of every record in the group, worst severity)
    _group_facts: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], str | None]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def build(cls, records: Iterable[Mapping[str, Any]], version: str = "") -> AdvisoryIndex:
        """Compile store rows: mappings with osv_id, aliases, summary, severity, modified, affected."""
        index = cls(version=version)
        for row in records:
            ids = frozenset([row["osv_id"], *(row.get("aliases") or ())])
            for raw in row["affected"]:
                # Stored rows carry plain JSON; compiling straight from it avoids an object per entry.
                if isinstance(raw, AffectedPackage):
                    raw = raw.as_json()
                ranges = []
                fixed: list[str] = []
                for events in raw["ranges"]:
                    compiled = _compile_range(events)
                    if compiled is None:
                        index.skipped_ranges += 1
                    else:
                        ranges.append(compiled)
                    fixed.extend(value for kind, value in events if kind == "fixed")
                index.by_package.setdefault(raw["name"], []).append(
                    CompiledAdvisory(
                        osv_id=row["osv_id"],
                        ids=ids,
                        summary=row.get("summary") or "",
                        severity=row.get("severity"),
                        ranges=tuple(ranges),
                        versions=frozenset(_canonical_version(v) for v in raw["versions"]),
                        fixed=tuple(fixed),
                        modified=str(row.get("modified") or ""),
                    )
                )
        for package, advisories in index.by_package.items():
            index._group(package, advisories)
        return index

    def _group(self, package: str, advisories: list[CompiledAdvisory]) -> None:
        """Union the records of one package that share any id or alias (CVE, GHSA, PYSEC ...)."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for adv in advisories:
            first, *rest = sorted(adv.ids)
            for other in rest:
                parent[find(other)] = find(first)
        members: dict[str, set[str]] = {}
        for adv in advisories:
            members.setdefault(find(adv.osv_id), set()).update(adv.ids)
        records: dict[tuple[str, ...], list[CompiledAdvisory]] = {}
        for adv in advisories:
            ids = tuple(sorted(members[find(adv.osv_id)]))
            self.groups[(package, adv.osv_id)] = ids
            records.setdefault(ids, []).append(adv)
        for ids, group in records.items():
            self._group_facts[(package, ids)] = (
                _sort_versions(f for a in group for f in a.fixed),
                worst([a.severity for a in group]),
            )

    def __len__(self) -> int:
        return len({a.osv_id for advisories in self.by_package.values() for a in advisories})

    def knows(self, package: str) -> bool:
        return package in self.by_package or _canonical_name(package) in self.by_package

    def advisory_count(self, package: str) -> int:
        return len(self.by_package.get(_canonical_name(package), ()))

    def match(self, package: str, version: str) -> tuple[GroupMatch, ...]:
        """Every alias group affecting ``package==version`` (empty when none or unknown package)."""
        key = (package, version)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        name = _canonical_name(package)
        candidates = self.by_package.get(name)
        if not candidates:
            return ()
        canonical = _canonical_version(version)
        parsed = parse_version(version)
        hits: dict[tuple[str, ...], list[CompiledAdvisory]] = {}
        for adv in candidates:
            if adv.affects(parsed, canonical):
                hits.setdefault(self.groups[(name, adv.osv_id)], []).append(adv)
        result = tuple(
            self._group_match(name, version, parsed, ids, advs) for ids, advs in sorted(hits.items())
        )
        self._cache[key] = result
        return result

    def _group_match(
        self,
        name: str,
        version: str,
        parsed: Version | None,
        ids: tuple[str, ...],
        advs: list[CompiledAdvisory],
    ) -> GroupMatch:
        # Fixed versions come from every record of the group for this package, not only the ones
        # that matched: a GHSA record may carry the fix a PYSEC record of the same CVE lacks.
        fixed, level = self._group_facts[(name, ids)]
        summary = next((a.summary for a in sorted(advs, key=lambda a: a.osv_id) if a.summary), "")
        return GroupMatch(
            package=name,
            version=version,
            ids=ids,
            matched=tuple(sorted(a.osv_id for a in advs)),
            severity=level or DEFAULT_SEVERITY,
            severity_is_default=level is None,
            summary=summary,
            fixed_versions=fixed,
            recommended=recommended_fix(parsed, fixed),
        )
