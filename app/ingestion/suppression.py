"""Which active, unexpired exception (if any) covers an incoming finding.

The exception services accept the findings that exist when an exception is approved; ingestion
applies the same scopes to findings as they arrive, so a new occurrence of an accepted advisory is
accepted too, and an exception past its ``expires_at`` stops suppressing even before the expiry job
has marked it expired. Matching runs on plain values so it costs a dict lookup per finding, not a
query.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.ingestion.fingerprint import package_key
from app.models import ExceptionScope, ExceptionState, RiskException
from app.services.exception_scope import advisory_ids_of


@dataclass(frozen=True)
class ActiveException:
    id: int
    scope: ExceptionScope
    finding_id: int | None
    advisory_ids: frozenset[str]
    package: str | None
    rule_id: str | None
    path_glob: str


class ExceptionMatcher:
    """The exceptions in force for one project at one moment, indexed by what they key on."""

    def __init__(self, exceptions: Sequence[ActiveException]) -> None:
        self.ids = frozenset(e.id for e in exceptions)
        self.by_finding = {e.finding_id: e.id for e in exceptions if e.scope is ExceptionScope.FINDING}
        self.by_rule: dict[str, list[ActiveException]] = {}
        self.by_advisory: dict[str, list[ActiveException]] = {}
        for exc in sorted(exceptions, key=lambda e: e.id):
            if exc.scope is ExceptionScope.RULE and exc.rule_id:
                self.by_rule.setdefault(exc.rule_id, []).append(exc)
            elif exc.scope is ExceptionScope.ADVISORY:
                for advisory in exc.advisory_ids:
                    self.by_advisory.setdefault(advisory, []).append(exc)

    @classmethod
    def load(cls, session: Session, project_id: int, now: datetime) -> ExceptionMatcher:
        rows = session.scalars(
            select(RiskException).where(
                RiskException.state == ExceptionState.ACTIVE,
                RiskException.expires_at > now,
                or_(RiskException.project_id == project_id, RiskException.project_id.is_(None)),
            )
        ).all()
        return cls(
            [
                ActiveException(
                    id=r.id,
                    scope=ExceptionScope(r.scope),
                    finding_id=r.finding_id,
                    advisory_ids=frozenset(advisory_ids_of(r)),
                    package=package_key(r.package) if r.package else None,
                    rule_id=r.rule_id,
                    path_glob=r.path_glob or "*",
                )
                for r in rows
            ]
        )

    def __bool__(self) -> bool:
        return bool(self.ids)

    def match(
        self,
        finding_id: int | None,
        rule_id: str,
        tool_rule_id: str,
        path: str | None,
        package: str | None,
        advisory_ids: Sequence[str],
    ) -> int | None:
        """The id of the (oldest) exception covering this finding, or None."""
        if finding_id is not None and finding_id in self.by_finding:
            return self.by_finding[finding_id]
        for rule in dict.fromkeys((rule_id, tool_rule_id)):
            for exc in self.by_rule.get(rule, ()):
                if fnmatch.fnmatchcase(path or "", exc.path_glob):
                    return exc.id
        if advisory_ids and self.by_advisory:
            pkg = package_key(package) if package else None
            candidates = sorted(
                {e.id: e for a in advisory_ids for e in self.by_advisory.get(a.upper(), ())}.values(),
                key=lambda e: e.id,
            )
            for exc in candidates:
                if exc.package is None or exc.package == pkg:
                    return exc.id
        return None
