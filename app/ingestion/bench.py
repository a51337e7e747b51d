"""``vigil bench ingest``: the import path end to end, against this machine's own limit.

Steps, each in a fresh child process so its peak RSS is its own: import a generated SARIF report of
N results into a fresh project; import the same findings again from a new report (another run of
the tool: different bytes, same results); replay the first report byte for byte (the idempotent
path); import a 90% subset (closes the other 10%). The machine's limit is measured in the same run:
orjson parsing the same file plus raw ``sqlite3`` ``executemany`` of the same rows into the same
table of a fresh database. The ratio is first-import time over that limit.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete

from app.db import Database
from app.ingestion.bench_report import write_report
from app.migrate import upgrade
from app.models import Project, RunTrigger
from app.services.actor import Actor

TARGETS = {"first import": 5.0, "unchanged reimport": 3.0, "ratio": 3.0}
_LIMIT_COLUMNS = (
    "project_id, fingerprint, scanner, rule_id, tool_rule_id, category, severity, title, message, path, "
    "line, snippet, cwe, advisory_ids, fixed_versions, status, first_seen, last_seen, status_changed_at, "
    "reopen_count, origin, extras"
)


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    findings: int
    peak_rss_mb: float
    cpu_seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.findings / self.seconds if self.seconds else 0.0


@dataclass
class BenchResult:
    findings: int
    backend: str
    report_mb: float
    steps: list[Step]
    limit_parse_s: float = 0.0
    limit_insert_s: float = 0.0
    limit_cpu_s: float = 0.0

    @property
    def limit_s(self) -> float:
        return self.limit_parse_s + self.limit_insert_s

    @property
    def ratio(self) -> float:
        first = self.steps[0].seconds if self.steps else 0.0
        return first / self.limit_s if self.limit_s else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU seconds: steadier than wall time on a machine shared with other work."""
        first = self.steps[0].cpu_seconds if self.steps else 0.0
        return first / self.limit_cpu_s if self.limit_cpu_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": self.findings,
            "backend": self.backend,
            "report_mb": round(self.report_mb, 1),
            "steps": [{**asdict(s), "per_second": round(s.per_second)} for s in self.steps],
            "limit": {
                "orjson_parse_s": round(self.limit_parse_s, 3),
                "sqlite3_executemany_s": round(self.limit_insert_s, 3),
                "total_s": round(self.limit_s, 3),
                "cpu_s": round(self.limit_cpu_s, 3),
            },
            "ratio": round(self.ratio, 2),
            "cpu_ratio": round(self.cpu_ratio, 2),
            "targets": TARGETS,
        }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_step(url: str, project_id: int, report: str) -> dict[str, Any]:
    """Runs in a child process: one import in one transaction, timed."""
    from app.services.imports import import_report

    database = Database(url)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        with database.transaction() as session:
            result = import_report(
                session,
                Actor.system("bench"),
                project_id,
                Path(report),
                trigger=RunTrigger.MANUAL,
                max_bytes=Path(report).stat().st_size + 1,
            )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        database.dispose()
    return {"seconds": seconds, "cpu": cpu, "rss": _peak_rss_mb(), "summary": result.as_dict()}


def _limit_rows(document: Any) -> Iterator[tuple[Any, ...]]:
    now = "2026-01-01 00:00:00.000000"
    for i, result in enumerate(document["runs"][0]["results"]):
        location = result["locations"][0]["physicalLocation"]
        region = location["region"]
        yield (
            1,
            f"{i:064d}",
            "semgrep",
            result["ruleId"],
            result["ruleId"],
            "security",
            "high",
            result["message"]["text"][:500],
            result["message"]["text"],
            location["artifactLocation"]["uri"],
            region["startLine"],
            region["snippet"]["text"],
            "[]",
            "[]",
            "[]",
            "open",
            now,
            now,
            now,
            0,
            "code",
            "{}",
        )


def _limit_step(template: str, report: str) -> dict[str, Any]:
    """Runs in a child process: orjson parse + raw sqlite3 executemany of the same rows."""
    start, cpu = time.perf_counter(), time.process_time()
    document = orjson.loads(Path(report).read_bytes())
    parse, parse_cpu = time.perf_counter() - start, time.process_time() - cpu
    rows = list(_limit_rows(document))
    del document
    conn = sqlite3.connect(template, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "INSERT INTO project (name, local_path, description, dependency_files, enabled_scanners, "
            "exclude_paths, schedule_cron, timezone, schedule_enabled, owners, sla_days, "
            "honour_repo_config, ignore_inline_suppressions, settings, active, created_at, updated_at) "
            "VALUES ('limit', '/srv/limit', '', '[]', '[]', '[]', '', 'UTC', 0, '[]', '{}', 0, 0, '{}', 1, "
            "'2026-01-01', '2026-01-01')"
        )
        marks = ", ".join("?" * len(rows[0])) if rows else ""
        start, cpu = time.perf_counter(), time.process_time()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO finding ({_LIMIT_COLUMNS}) VALUES ({marks})", rows)  # noqa: S608
        conn.execute("COMMIT")
        insert, insert_cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        conn.close()
    return {"parse": parse, "insert": insert, "cpu": parse_cpu + insert_cpu, "rss": _peak_rss_mb()}


def _in_child(target: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``target`` in a fresh interpreter (spawn): its peak RSS is the step's alone."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(target, args)


def _project(database: Database) -> int:
    with database.transaction() as session:
        project = Project(name=f"bench-{uuid.uuid4().hex[:10]}", local_path="/srv/bench")
        session.add(project)
        session.flush()
        return project.id


def findings_for_size(megabytes: float) -> int:
    """How many generated results make a report of about ``megabytes`` MB (measured on a sample)."""
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
        sample = 2000
        empty = write_report(Path(folder) / "empty.sarif", iter(()))
        size = write_report(Path(folder) / "sample.sarif", iter(range(sample)))
    return max(1, int((megabytes * 1e6 - empty) * sample / (size - empty)))


def run(
    findings: int,
    *,
    database_url: str | None = None,
    workdir: Path | None = None,
    echo: Callable[[str], None] = lambda _m: None,
    first_only: bool = False,
) -> BenchResult:
    """Generate the reports, run every step, measure the limit; returns the figures.

    ``first_only`` times the first import alone (the large-report case: its peak RSS is the figure
    that matters, and the other steps would only repeat it).
    """
    own_dir = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="vigil-bench-")) if workdir is None else workdir
    try:
        template = folder / "template.db"
        upgrade(f"sqlite:///{template}")
        url = database_url or f"sqlite:///{folder / 'bench.db'}"
        if database_url is None:
            shutil.copyfile(template, folder / "bench.db")
        else:
            upgrade(database_url)
        echo(f"generating reports of {findings:,} results in {folder}")
        first, again, subset = _reports(folder)
        size = write_report(first, iter(range(findings)), run_tag="1")
        if not first_only:
            write_report(again, iter(range(findings)), run_tag="2")
            write_report(subset, (i for i in range(findings) if i % 10 != 9), run_tag="3")
        database = Database(url)
        try:
            project_id = _project(database)
            backend = database.engine.dialect.name
        finally:
            database.dispose()
        try:
            return _measure(url, project_id, backend, findings, size, folder, template, echo, first_only)
        finally:
            if database_url is not None:
                _drop_project(database_url, project_id)
    finally:
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)


def _reports(folder: Path) -> tuple[Path, Path, Path]:
    """The first report, the same results again (new bytes), and the 90% subset."""
    return folder / "first.sarif", folder / "again.sarif", folder / "subset.sarif"


def _drop_project(url: str, project_id: int) -> None:
    """Remove the benchmark's project from a database it was given (its findings, runs, history and
    snapshots go with it through ``ON DELETE CASCADE``): repeated runs must not slow each other down
    or leave hundreds of thousands of generated findings behind."""
    database = Database(url)
    try:
        with database.transaction() as session:
            session.execute(delete(Project).where(Project.id == project_id))
    finally:
        database.dispose()


def _measure(
    url: str,
    project_id: int,
    backend: str,
    findings: int,
    size: int,
    folder: Path,
    template: Path,
    echo: Callable[[str], None],
    first_only: bool,
) -> BenchResult:
    """Every step in its own child process, then the machine's limit."""
    first, again, subset = _reports(folder)
    steps: list[Step] = []
    plan = [
        ("first import", first),
        ("unchanged reimport", again),
        ("same bytes replayed", again),
        ("90% subset", subset),
    ][: 1 if first_only else None]
    for name, report in plan:
        echo(f"{name} ...")
        out = _in_child(_import_step, url, project_id, str(report))
        summary = out["summary"]
        steps.append(Step(name, out["seconds"], int(summary["total"]), out["rss"], out["cpu"], summary))
    if first_only:
        return BenchResult(findings=findings, backend=backend, report_mb=size / 1e6, steps=steps)
    echo("machine limit (orjson + sqlite3 executemany) ...")
    limit = _in_child(_limit_step, str(template), str(first))
    return BenchResult(
        findings=findings,
        backend=backend,
        report_mb=size / 1e6,
        steps=steps,
        limit_parse_s=limit["parse"],
        limit_insert_s=limit["insert"],
        limit_cpu_s=limit["cpu"],
    )


def render(result: BenchResult) -> list[str]:
    """Human-readable lines: one per step, then the limit and the ratio."""
    lines = [
        f"ingest benchmark: {result.findings:,} findings, {result.backend}, report {result.report_mb:.1f} MB"
    ]
    for step in result.steps:
        s = step.summary
        t = s.get("timings") or {}
        dup = ", duplicate" if s.get("duplicate") else ""
        split = ""
        if "parse_wait_s" in t:
            split = (
                f", ingest {t['ingest_s']:.1f} s + waiting for the reader {t['parse_wait_s']:.1f} s"
                f" (reader thread: parse {t['parse_s']:.1f} s)"
            )
        elif t:
            split = f", parse {t['parse_s']:.1f} s + ingest {t['ingest_s']:.1f} s"
        lines.append(
            f"  {step.name:<20} {step.seconds:7.2f} s  {step.per_second:>9,.0f} findings/s  "
            f"CPU {step.cpu_seconds:6.2f} s  peak RSS {step.peak_rss_mb:5.0f} MB  (new {s.get('new')}, "
            f"unchanged {s.get('unchanged')}, fixed {s.get('fixed')}{dup}{split})"
        )
    if not result.limit_s:
        return lines
    lines.append(
        f"  machine limit        {result.limit_s:7.2f} s  (orjson parse {result.limit_parse_s:.2f} s "
        f"+ sqlite3 executemany {result.limit_insert_s:.2f} s; CPU {result.limit_cpu_s:.2f} s)"
    )
    lines.append(
        f"  ratio first import / limit: {result.ratio:.2f} wall, {result.cpu_ratio:.2f} CPU "
        f"(target <= {TARGETS['ratio']:.0f})"
    )
    return lines
