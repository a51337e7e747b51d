"""``vigil bench advisories``: re-match 500 projects x 200 dependencies against 20,000 advisories.

Target (this machine, SQLite): the whole re-evaluation, from loading the store to the last project's
ingestion, in at most 10 s. The data is synthetic but shaped like the real store: OSV records written
to an ``all.zip`` and imported through the normal import path, several records per package sharing
CVE aliases, ECOSYSTEM ranges with ``introduced``/``fixed``/``last_affected``, explicit version lists,
some withdrawn records; projects draw their dependencies from a shared pool with a few very popular
packages, as real projects do. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert

from app.advisories.findings import evaluate
from app.advisories.inventory import Inventory
from app.advisories.inventory.base import Dependency
from app.db import Database
from app.migrate import upgrade
from app.models import Base, Project
from app.services import advisories as service
from app.services.actor import Actor

TARGET_SECONDS = 10.0
DELTA_RECORDS = 200
VERSIONS = [f"{major}.{minor}.{patch}" for major in (1, 2) for minor in range(15) for patch in range(3)]


@dataclass(frozen=True)
class AdvisoryBench:
    advisories: int
    projects: int
    dependencies: int
    import_seconds: float
    seed_seconds: float
    index_seconds: float
    match_seconds: float
    reevaluate_seconds: float
    reevaluate_cpu_seconds: float
    findings: int
    new: int
    fixed: int
    second_reevaluate_seconds: float
    delta_records: int
    delta_projects: int
    delta_ingested: int
    delta_seconds: float

    @property
    def met(self) -> bool:
        return self.reevaluate_seconds <= TARGET_SECONDS


def _record(rng: random.Random, number: int, package: str, modified: datetime) -> dict[str, Any]:
    start = rng.randrange(len(VERSIONS) - 4)
    end = start + rng.randint(1, 3)
    kind = rng.random()
    affected: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": package}}
    if kind < 0.15:
        affected["versions"] = VERSIONS[start:end]
    elif kind < 0.25:
        affected["ranges"] = [
            {
                "type": "ECOSYSTEM",
                "events": [{"introduced": VERSIONS[start]}, {"last_affected": VERSIONS[end]}],
            }
        ]
    else:
        first = "0" if kind > 0.9 else VERSIONS[start]
        affected["ranges"] = [
            {"type": "ECOSYSTEM", "events": [{"introduced": first}, {"fixed": VERSIONS[end]}]}
        ]
    cve = f"CVE-2024-{number // 2:05d}"  # two records (GHSA + PYSEC) share each CVE
    prefix = "GHSA" if number % 2 else "PYSEC"
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": f"{prefix}-bench-{number:06d}",
        "modified": modified.isoformat().replace("+00:00", "Z"),
        "aliases": [cve],
        "summary": f"Synthetic advisory {number} for {package}",
        "affected": [affected],
        "database_specific": {"severity": rng.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])},
    }
    if rng.random() < 0.02:
        record["withdrawn"] = record["modified"]
    return record


def write_osv_zip(
    path: Path, advisories: int, packages: list[str], seed: int = 7, first_number: int = 0, day: int = 0
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    base = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(first_number, first_number + advisories):
            package = packages[(number // 2) % len(packages)]
            record = _record(rng, number, package, base + timedelta(minutes=number))
            archive.writestr(f"{record['id']}.json", orjson.dumps(record))


def _inventories(rng: random.Random, projects: int, per_project: int, pool: list[str]) -> list[Inventory]:
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(pool))]
    recent = VERSIONS[-12:]  # most projects run recent releases; some lag far behind
    result = []
    for _ in range(projects):
        names: set[str] = set()
        while len(names) < per_project:
            names.update(rng.choices(pool, weights=weights, k=per_project - len(names)))
        deps = [
            Dependency(
                name=name,
                version=None
                if rng.random() < 0.03
                else rng.choice(recent if rng.random() < 0.8 else VERSIONS),
                source="uv.lock",
                direct=rng.random() < 0.2,
                dev=rng.random() < 0.1,
            )
            for name in sorted(names)
        ]
        result.append(Inventory(dependencies=deps, files=["pyproject.toml", "uv.lock"]))
    return result


def run(
    projects: int = 500,
    per_project: int = 200,
    advisories: int = 20_000,
    database_url: str | None = None,
    seed: int = 7,
) -> AdvisoryBench:
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    pool = [f"bench-package-{n:05d}" for n in range(10_000)]
    vulnerable = pool[: advisories // 5]  # ~5 records per affected package; popular ones first
    actor = Actor.system("bench")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        try:
            archive = Path(tmp) / "all.zip"
            write_osv_zip(archive, advisories, vulnerable, seed)
            started = time.perf_counter()
            with database.transaction() as session:
                service.import_advisories(session, actor, archive)
            import_seconds = time.perf_counter() - started

            started = time.perf_counter()
            inventories = _inventories(rng, projects, per_project, pool)
            with database.transaction() as session:
                project_table = Base.metadata.tables["project"]
                session.execute(
                    insert(project_table),
                    [{"name": f"bench-{n:04d}", "local_path": f"/srv/bench/{n}"} for n in range(projects)],
                )
                for project, inventory in zip(
                    session.query(Project).order_by(Project.id).all(), inventories, strict=True
                ):
                    service.save_inventory(session, project.id, inventory, None)
            seed_seconds = time.perf_counter() - started

            with database.reader() as session:
                started = time.perf_counter()
                index = service.load_index(session)
                index_seconds = time.perf_counter() - started
            started = time.perf_counter()
            matched = sum(len(evaluate(inv.dependencies, index)) for inv in inventories)
            match_seconds = time.perf_counter() - started

            started, cpu = time.perf_counter(), time.process_time()
            first = service.reevaluate_all(database, actor)
            reevaluate_seconds = time.perf_counter() - started
            reevaluate_cpu = time.process_time() - cpu
            started = time.perf_counter()
            service.reevaluate_all(database, actor)
            second_seconds = time.perf_counter() - started

            # A nightly refresh: a few hundred records new or modified, then only the projects
            # using their packages are re-matched.
            delta = Path(tmp) / "delta.zip"
            write_osv_zip(delta, DELTA_RECORDS, vulnerable, seed + 1, first_number=advisories, day=400)
            started = time.perf_counter()
            with database.transaction() as session:
                changed = service.import_advisories(session, actor, delta).changed_packages
            incremental = service.reevaluate_all(database, actor, packages=changed)
            delta_seconds = time.perf_counter() - started
        finally:
            database.dispose()
    return AdvisoryBench(
        advisories=advisories,
        projects=projects,
        dependencies=projects * per_project,
        import_seconds=import_seconds,
        seed_seconds=seed_seconds,
        index_seconds=index_seconds,
        match_seconds=match_seconds,
        reevaluate_seconds=reevaluate_seconds,
        reevaluate_cpu_seconds=reevaluate_cpu,
        findings=matched,
        new=first.new,
        fixed=first.fixed,
        second_reevaluate_seconds=second_seconds,
        delta_records=DELTA_RECORDS,
        delta_projects=incremental.projects + incremental.unchanged,
        delta_ingested=incremental.projects,
        delta_seconds=delta_seconds,
    )
