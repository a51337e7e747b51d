"""Turn one run's findings into changes to the living record: new, unchanged, reopened, fixed, accepted.

The shape is Lemur's source sync: upsert what is seen, close what is not, return counts. Everything
happens in the caller's transaction, so an import lands completely or not at all; the caller owns
commit and rollback. The report is consumed in chunks (see :mod:`app.ingestion.chunks`): each chunk
is fingerprinted, looked up by its own fingerprints and written with a few Core statements, so
memory stays bounded by the chunk, not the report. What the run saw is marked in the database
(``last_run_id``); closing what it no longer reports is set-based SQL at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.gc_pause import collector_paused
from app.ingestion import chunks, store
from app.ingestion.closing import close_missing
from app.ingestion.fingerprint import Identified, alias_group, package_key
from app.ingestion.locks import lock_project
from app.ingestion.prefetch import Prefetched
from app.ingestion.rows import display_hash, finding_row
from app.ingestion.snapshots import write_snapshot
from app.ingestion.suppression import ExceptionMatcher
from app.models import FindingStatus, Project, RunStatus, ScanRun, utcnow
from app.scanners.base import NormalizedFinding
from app.services import audit
from app.services.actor import Actor

OPEN, FIXED, ACCEPTED, FALSE_POSITIVE = (
    FindingStatus.OPEN.value,
    FindingStatus.FIXED.value,
    FindingStatus.ACCEPTED.value,
    FindingStatus.FALSE_POSITIVE.value,
)
# Only a run that finished its work may close findings: anything else may simply have missed them.
CLOSING_STATUSES = (RunStatus.RUNNING, RunStatus.SUCCEEDED)
INLINE_REASON = "suppressed in the source (inline comment or tool suppression)"
INLINE_GONE = "no longer suppressed in the source"


@dataclass(frozen=True)
class IngestSummary:
    """What one run changed. ``new``, ``unchanged`` and ``reopened`` split the report's distinct
    findings; ``fixed`` counts findings closed; ``suppressed`` counts reported findings that ended up
    accepted (an exception or an inline suppression), whichever of the first three they are in."""

    new: int = 0
    unchanged: int = 0
    reopened: int = 0
    fixed: int = 0
    suppressed: int = 0
    total: int = 0
    closed_nothing: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ingestion:
    """One run's ingestion: :meth:`feed` the findings (any number of chunks), then :meth:`finish`.

    Between the two the caller may still correct the run (a streamed report names its tool and
    tells whether it is complete only once read to the end); closing reads the run at the end.
    """

    def __init__(
        self,
        session: Session,
        scan_run: ScanRun,
        *,
        checkout: Path | None = None,
        now: datetime | None = None,
        chunk_size: int | None = None,
    ) -> None:
        self.session, self.run, self.checkout = session, scan_run, checkout
        self.chunk_size = chunk_size or chunks.CHUNK_SIZE
        self.now = now or utcnow()
        project = session.get(Project, scan_run.project_id)
        if project is None:
            raise ValueError(f"scan run {scan_run.id} points at a missing project")
        self.project = project
        lock_project(session, project.id)
        store.prepare(session)
        self.matcher = ExceptionMatcher.load(session, project.id, self.now)
        self.counts = {"new": 0, "unchanged": 0, "reopened": 0, "suppressed": 0}
        self.scanners: set[str] = set()
        self._aliases: dict[tuple[str, str], str] | None = None
        self._dependencies: set[str] = set()  # fingerprints of dependency findings seen so far
        self._sla: dict[str, datetime | None] = {}
        self._false_positives_seen = 0
        self.read_wait = 0.0  # seconds the writes waited for the report reader
        self._project_id: int = project.id
        # Whether the next chunk's findings are likely new (read by the reader thread; a hint only).
        self._expect_new = store.project_is_empty(session, project.id)

    def feed(self, findings: Iterable[NormalizedFinding]) -> None:
        """Ingest ``findings`` chunk by chunk (a one-shot iterator is never held whole).

        The cyclic garbage collector is paused while a chunk is built and written, and run on the
        young generations between chunks: a chunk allocates tens of thousands of objects without
        cycles, and the collections they triggered cost two thirds of fingerprinting's time. The
        next chunk is read and fingerprinted on a reader thread while this one is written
        (:mod:`app.ingestion.prefetch`); ``read_wait`` adds up the time the writes waited for it.
        """
        pieces = (self._prepare(items) for items in chunks.chunked(findings, self.checkout, self.chunk_size))
        with collector_paused(), Prefetched(pieces) as ahead:
            for items in ahead:
                self._chunk(items)
                del items
                gc.collect(1)
        self.read_wait += ahead.waited

    def finish(self, actor: Actor | None = None) -> IngestSummary:
        """Close what a complete run no longer reports, snapshot the day, count, audit."""
        run = self.run
        closes = run.complete and RunStatus(run.status) in CLOSING_STATUSES
        fixed = 0
        c = self.counts
        if closes:
            scanners = {run.scanner} | self.scanners
            live_seen = c["new"] + c["unchanged"] + c["reopened"] - self._false_positives_seen
            fixed = close_missing(self.session, self.project.id, run.id, self.now, scanners, live_seen)
        write_snapshot(self.session, self.project.id, self.now.date())
        summary = IngestSummary(
            new=c["new"],
            unchanged=c["unchanged"],
            reopened=c["reopened"],
            fixed=fixed,
            suppressed=c["suppressed"],
            total=c["new"] + c["unchanged"] + c["reopened"],
            closed_nothing=not closes,
        )
        _record_counts(run, summary)
        audit.record(
            self.session,
            actor or Actor.system("ingestion"),
            "scan_ingest",
            object_type="scan_run",
            object_id=run.id,
            after={"project_id": self.project.id, "scanner": run.scanner, **summary.as_dict()},
        )
        return summary

    def _prepare(self, items: list[Identified]) -> list[Identified]:
        """On the reader thread, while the previous chunk is written: each finding's display hash,
        and the reported columns of its row when this chunk's findings are likely new (a first
        import; the last chunk was mostly new). Which ones are new is known only after the lookup; a
        rescan's findings are mostly on record already, and building their rows would be wasted."""
        build = self._expect_new
        project_id = self._project_id  # a plain int: the reader never touches ORM state
        for item in items:
            item.shown = display_hash(item.finding)
            if build:
                item.row = finding_row(item.finding, item.fingerprint, project_id, item.shown)
        return items

    def _sla_due(self, severity: str) -> datetime | None:
        if severity not in self._sla:
            days = (self.project.sla_days or {}).get(severity)
            ok = isinstance(days, int | float) and days > 0
            self._sla[severity] = self.now + timedelta(days=int(days)) if ok else None  # type: ignore[arg-type]
        return self._sla[severity]

    def _merge_alias_groups(self, items: list[Identified], existing: dict[str, store.ExistingRow]) -> None:
        """A dependency finding whose advisory gained or lost an alias is still the same finding.

        Its fingerprint is the group's preferred id; when that id changed (a CVE assigned to a GHSA,
        say), any shared alias in the same package finds the finding already on record.
        """
        pending = [i for i in items if i.finding.package and i.finding.advisory_ids]
        taken = {item.fingerprint for item in pending} | self._dependencies
        for item in pending:
            f = item.finding
            if item.fingerprint in existing:
                continue
            if self._aliases is None:
                self._aliases = store.load_aliases(self.session, self.project.id)
            pkg = package_key(f.package or "")
            for advisory in sorted({a.upper() for a in f.advisory_ids}, key=lambda a: a != alias_group([a])):
                match = self._aliases.get((pkg, advisory))
                if match is not None and match not in taken:
                    taken.add(match)
                    item.fingerprint = match
                    break
        self._dependencies.update(item.fingerprint for item in pending)

    def _chunk(self, items: list[Identified]) -> None:
        session, run, now = self.session, self.run, self.now
        existing = store.lookup(session, self.project.id, [item.fingerprint for item in items])
        if any(item.finding.package for item in items):
            self._merge_alias_groups(items, existing)
            existing.update(
                store.lookup(
                    session, self.project.id, [i.fingerprint for i in items if i.fingerprint not in existing]
                )
            )
        plan = store.Plan(run_id=run.id, project_id=self.project.id, now=now)
        unaccept: list[tuple[store.ExistingRow, int | None]] = []
        c = self.counts
        for item in items:
            f = item.finding
            old = existing.get(item.fingerprint)
            self.scanners.update(item.detections)
            plan.detect(item.fingerprint, item.detections, old)
            if old is not None:
                plan.ids[item.fingerprint] = old.id
                if old.last_run_id == run.id:
                    continue  # reported again later in the same report: one finding, more detections
            exc_id = self.matcher.match(
                old.id if old else None, f.rule_id, f.tool_rule_id, f.path, f.package, f.advisory_ids
            )
            accepted = exc_id is not None or f.suppressed
            target = ACCEPTED if accepted else OPEN
            shown = item.shown
            if old is None:
                plan.new_rows.append(self._new_row(f, item.fingerprint, shown, target, exc_id, item.row))
                c["new"] += 1
                if accepted:
                    plan.history_for_new(item.fingerprint, None, ACCEPTED, _reason(exc_id), exc_id)
            else:
                if old.display_hash == shown:
                    plan.same_ids.append(old.id)
                else:
                    row = finding_row(f, item.fingerprint, self.project.id, shown)
                    row.update(b_id=old.id, last_seen=now, last_run_id=run.id)
                    plan.changed_rows.append(row)
                if old.status == FALSE_POSITIVE:
                    c["unchanged"] += 1  # a triage decision outlives every reimport
                    self._false_positives_seen += 1
                    continue
                if old.status == FIXED:
                    c["reopened"] += 1
                    self._reopen(plan, old, f.severity, target, exc_id)
                else:
                    c["unchanged"] += 1
                    self._keep(plan, old, target, exc_id, unaccept)
            if target == ACCEPTED:
                c["suppressed"] += 1
        if unaccept:
            _give_back(session, plan, unaccept)
        self._expect_new = len(plan.new_rows) * 2 > len(items)
        store.write_chunk(session, plan)

    def _new_row(
        self,
        f: NormalizedFinding,
        fingerprint: str,
        shown: str,
        target: str,
        exc_id: int | None,
        built: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        row = finding_row(f, fingerprint, self.project.id, shown) if built is None else built
        row["fingerprint"] = fingerprint  # alias merging may have changed it since it was built
        now, run_id = self.now, self.run.id
        row.update(
            last_seen=now,
            last_run_id=run_id,
            status=target,
            first_seen=now,
            first_run_id=run_id,
            status_changed_at=now,
            fixed_at=None,
            reopen_count=0,
            sla_due_at=self._sla_due(f.severity),
            sla_paused_at=now if target == ACCEPTED else None,
            exception_id=exc_id,
        )
        return row

    def _reopen(
        self, plan: store.Plan, old: store.ExistingRow, severity: str, target: str, exc_id: int | None
    ) -> None:
        plan.changes.append(
            {
                "b_id": old.id,
                "status": target,
                "status_changed_at": self.now,
                "fixed_at": None,
                "reopen_count": old.reopen_count + 1,
                "sla_due_at": self._sla_due(severity),
                "sla_paused_at": self.now if target == ACCEPTED else None,
                "exception_id": exc_id,
            }
        )
        reason = "reported again after being fixed" + (f"; {_reason(exc_id)}" if target == ACCEPTED else "")
        plan.history(old.id, FIXED, target, reason, exc_id)

    def _keep(
        self,
        plan: store.Plan,
        old: store.ExistingRow,
        target: str,
        exc_id: int | None,
        unaccept: list[tuple[store.ExistingRow, int | None]],
    ) -> None:
        """A live finding seen again: its acceptance follows the exceptions in force now."""
        if target == ACCEPTED and old.status == ACCEPTED and exc_id != old.exception_id:
            plan.changes.append({"b_id": old.id, "exception_id": exc_id})
            plan.history(old.id, ACCEPTED, ACCEPTED, _reason(exc_id), exc_id)
        elif target == ACCEPTED and old.status != ACCEPTED:
            plan.changes.append(
                {"b_id": old.id, "status": ACCEPTED, "status_changed_at": self.now, "exception_id": exc_id}
            )
            plan.history(old.id, old.status, ACCEPTED, _reason(exc_id), exc_id)
        elif target == OPEN and old.status == ACCEPTED:
            unaccept.append((old, exc_id))


def ingest(
    session: Session,
    scan_run: ScanRun,
    findings: Iterable[NormalizedFinding],
    *,
    checkout: Path | None = None,
    now: datetime | None = None,
    actor: Actor | None = None,
    chunk_size: int | None = None,
) -> IngestSummary:
    """Apply ``scan_run``'s findings to its project's living record, in the caller's transaction.

    ``scan_run`` must be flushed (it has an id). A run that is not ``complete`` or did not succeed
    adds and updates what it saw but closes nothing. Writes the run's counts, status-history rows,
    the day's count snapshot and one audit event.
    """
    job = Ingestion(session, scan_run, checkout=checkout, now=now, chunk_size=chunk_size)
    job.feed(findings)
    return job.finish(actor)


def _reason(exc_id: int | None) -> str:
    return f"accepted under exception #{exc_id}" if exc_id is not None else INLINE_REASON


def _give_back(session: Session, plan: store.Plan, rows: list[tuple[store.ExistingRow, int | None]]) -> None:
    """Accepted findings whose exception expired or went away are open again, SLA clock resumed."""
    sla = store.load_sla(session, [old.id for old, _ in rows])
    for old, _ in rows:
        due, paused = sla.get(old.id, (None, None))
        if due is not None and paused is not None:
            due = due + (plan.now - paused)
        plan.changes.append(
            {
                "b_id": old.id,
                "status": OPEN,
                "status_changed_at": plan.now,
                "exception_id": None,
                "sla_due_at": due,
                "sla_paused_at": None,
            }
        )
        why = f"exception #{old.exception_id} no longer in force" if old.exception_id else INLINE_GONE
        plan.history(old.id, ACCEPTED, OPEN, why, old.exception_id)


def _record_counts(run: ScanRun, summary: IngestSummary) -> None:
    run.count_total = summary.total
    run.count_new = summary.new
    run.count_unchanged = summary.unchanged
    run.count_reopened = summary.reopened
    run.count_fixed = summary.fixed
    run.count_suppressed = summary.suppressed
