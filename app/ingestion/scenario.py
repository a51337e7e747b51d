"""Replay DefectDojo's importer scenarios (close-old and dedup counts) through Vigil's own ingestion.

Each ``importer_scenario`` entry of the corpus manifest records what DefectDojo's importer returned
for a sequence of imports (grouped by test function, ordered by step). This module replays those
imports into a throw-away SQLite database with :func:`ingest` and compares the counts that mean the
same thing in both tools. Where the meaning differs (DefectDojo's engagements and products have no
counterpart: a Vigil project holds one living record per finding), the entry carries the reason.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.db import Database
from app.ingestion.ingest import IngestSummary, ingest
from app.migrate import upgrade
from app.models import Project, RunStatus, ScanRun
from app.scanners.base import NormalizedFinding, ReportError

Outcome = tuple[str, bool, str]
SCOPE_REASON = (
    "DefectDojo counts duplicates across engagements and products; a Vigil project keeps one living "
    "record per finding and has no engagement or product scope, so this count has no counterpart"
)
RULE_REASON = (
    "Vigil keys a tool's fingerprint together with the rule, so two rules reporting one location stay two "
    "findings ({vigil} distinct); DefectDojo's unique_id_from_tool merges them ({dojo})"
)
MISSING_REASON = (
    "the scenario's first report ({name}) is not in the corpus, so the sequence cannot be replayed"
)


@dataclass
class _Import:
    parsed: int
    summary: IngestSummary
    tool_keyed: bool = False


def _step(entry: dict[str, Any]) -> int:
    step = (entry.get("asserted") or {}).get("step", 0)
    return step if isinstance(step, int) else 0


def _ingest(
    session: Session, project_id: int, findings: list[NormalizedFinding], scanner: str
) -> IngestSummary:
    run = ScanRun(project_id=project_id, scanner=scanner, status=RunStatus.RUNNING, complete=True)
    session.add(run)
    session.flush()
    return ingest(session, run, findings)


class _Replay:
    def __init__(self, database: Database, corpus: Path, load: Callable[[Path, dict[str, Any]], Any]) -> None:
        self.database = database
        self.corpus = corpus
        self.load = load
        self.projects = 0

    def project(self, session: Session) -> int:
        self.projects += 1
        project = Project(name=f"scenario-{self.projects}", local_path="/srv/scenario")
        session.add(project)
        session.flush()
        return project.id

    def import_file(self, session: Session, project_id: int, entry: dict[str, Any]) -> _Import:
        report = self.load(self.corpus, entry)
        summary = _ingest(session, project_id, list(report.findings), report.scanner)
        keyed = any(f.tool_fingerprint for f in report.findings)
        return _Import(len(report.findings), summary, keyed)


def _sibling(
    entry: dict[str, Any], by_path: dict[str, dict[str, Any]], subset: bool
) -> dict[str, Any] | None:
    path = str(entry["path"])
    stem, dot, ext = path.rpartition(".")
    other = f"{stem}-subset.{ext}" if subset else re.sub(r"[-_]subset$", "", stem) + dot + ext
    return by_path.get(other) if other != path else None


def _check(
    key: str,
    expected: Any,
    imports: tuple[_Import, _Import | None, _Import | None],
    problems: list[str],
    reasons: list[str],
) -> None:
    """Compare one asserted count, or explain why it has no counterpart.

    ``imports`` is (this entry imported alone, this entry imported second, the import before it).
    """
    first, second, earlier = imports
    lowered = key.lower()
    s = first.summary
    if lowered == "step" or lowered.startswith("test.") or "test_type" in lowered:
        return
    if "len_closed_findings" in lowered and isinstance(expected, int):
        if s.fixed != expected:
            problems.append(f"{key}: DefectDojo {expected}, Vigil closed {s.fixed}")
        return
    if "len_new_findings" in lowered and isinstance(expected, int):
        # Imported into a new engagement, DefectDojo calls every finding of the test new; Vigil's
        # counterpart is the number of findings the run reported (new + unchanged + reopened).
        got = s.total if "engagement" in lowered else s.new
        if got != expected:
            problems.append(f"{key}: DefectDojo {expected}, Vigil {got}")
        return
    if "product" in lowered or "deduplication_on_engagement" in lowered:
        reasons.append(SCOPE_REASON)
        return
    if (
        "internal duplicates" in lowered
        or "first import duplicates" in lowered
        or "on single import" in lowered
    ):
        if "first import" in lowered and earlier is not None:
            first, s = earlier, earlier.summary
        got = first.parsed - s.total
        if got != expected and first.parsed == 0:
            problems.append(
                f"{key}: DefectDojo {expected}, but Vigil's importer reads no findings from the report"
            )
        elif got != expected and first.tool_keyed:
            reasons.append(RULE_REASON.format(vigil=s.total, dojo=first.parsed - expected))
        elif got != expected:
            problems.append(f"{key}: DefectDojo {expected}, Vigil merged {got}")
        return
    if "2nd" in lowered and second is not None:
        # DefectDojo flags rows: every reported row whose finding was already known, or repeated.
        got = second.parsed - second.summary.new
        if got != expected:
            problems.append(f"{key}: DefectDojo {expected}, Vigil {got}")
        return
    reasons.append(f"{key}: not a count Vigil's ingestion produces")


def _closes_everything(replay: _Replay, session: Session, entry: dict[str, Any]) -> list[str]:
    """A reimport of an empty report of the same tool, with close-old, closes what was open."""
    report = replay.load(replay.corpus, entry)
    project_id = replay.project(session)
    seed = NormalizedFinding(
        scanner=report.scanner, rule_id="scenario.rule", tool_rule_id="scenario.rule", category="security",
        severity="low", title="open before the reimport", path="a.py", snippet="x = 1",
    )  # fmt: skip
    _ingest(session, project_id, [seed], report.scanner)
    again = _ingest(session, project_id, list(report.findings), report.scanner)
    return (
        []
        if again.fixed > 0 and again.total == 0
        else [f"reimport closed {again.fixed}, reported {again.total}"]
    )


def _run_group(
    replay: _Replay, group: list[dict[str, Any]], by_path: dict[str, dict[str, Any]]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with replay.database.transaction() as session:
        project_id = replay.project(session)
        for entry in sorted(group, key=_step):
            problems: list[str] = []
            reasons: list[str] = []
            asserted: dict[str, Any] = entry.get("asserted") or {}
            try:
                first = replay.import_file(session, project_id, entry)
                second: _Import | None = None
                earlier: _Import | None = None
                if any("2nd" in k for k in asserted):
                    same = any("same file re-imported" in k for k in asserted)
                    partner = (
                        entry if same else _sibling(entry, by_path, subset="subset" not in entry["path"])
                    )
                    if partner is None:
                        name = "kubernetes.json" if "kubernetes" in entry["path"] else "the full report"
                        reasons.append(MISSING_REASON.format(name=name))
                    else:
                        other = replay.project(session)
                        earlier = replay.import_file(session, other, partner)
                        second = replay.import_file(session, other, entry)
                for key, expected in asserted.items():
                    if "reimport with close_old_findings" in key:
                        problems += _closes_everything(replay, session, entry)
                    elif not ("2nd" in key and second is None):
                        _check(key, expected, (first, second, earlier), problems, reasons)
            except ReportError as exc:
                problems.append(f"import failed: {exc}")
            if problems:
                outcomes.append((str(entry["path"]), False, "; ".join(problems)))
            elif reasons:
                outcomes.append((str(entry["path"]), False, "differs: " + "; ".join(dict.fromkeys(reasons))))
            else:
                outcomes.append((str(entry["path"]), True, ""))
    return outcomes


def run_scenarios(entries: list[dict[str, Any]], corpus_dir: Path) -> list[Outcome]:
    """``(path, passed, message)`` per scenario entry; the message is the mismatch or the reason."""
    from app.scanners.conformance import import_entry  # the same file-to-findings path as the parsers

    folder = Path(tempfile.mkdtemp(prefix="vigil-scenarios-"))
    try:
        url = f"sqlite:///{folder / 'scenarios.db'}"
        upgrade(url)
        database = Database(url)
        try:
            replay = _Replay(database, Path(corpus_dir), import_entry)
            scenarios = [e for e in entries if e.get("kind") == "importer_scenario"]
            by_path = {str(e["path"]): e for e in scenarios}
            groups: dict[str, list[dict[str, Any]]] = {}
            for entry in scenarios:
                groups.setdefault(str(entry.get("test_function", entry["path"])), []).append(entry)
            results: dict[str, Outcome] = {}
            for group in groups.values():
                for outcome in _run_group(replay, group, by_path):
                    results[outcome[0]] = outcome
            return [results[str(e["path"])] for e in scenarios]
        finally:
            database.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
