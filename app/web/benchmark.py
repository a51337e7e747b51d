"""``vigil bench web``: server time of the findings list and the dashboard over a million findings.

Requests go through the whole application in-process (routing, session check, the service, SQL,
Jinja), timed from the first byte of the request to the last of the response, so the figure is the
server's time without network noise. The data comes from the shared benchmark seeder: 200
projects, 1,000,000 findings, 365 days of snapshots, written with bulk Core inserts.

"Any page" is measured honestly: besides first pages, requests carry cursors built from randomly
chosen findings deep inside each filter's result, which is what a user reaches after many "next".
"""

from __future__ import annotations

import os
import random
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select, text

from app import create_app
from app.bench.seed import seed
from app.db import Database
from app.migrate import upgrade
from app.models import Base, Finding, FindingStatus, Project, ProjectMember, Role, User
from app.security.passwords import hash_password
from app.services import dashboard as dashboard_service
from app.services import findings as findings_service
from app.services import sessions as session_service
from app.services.actor import Actor
from app.services.finding_filters import DEFAULT_SORT, encode_cursor

NEXT_LINK = re.compile(r'<a href="[^"]*?cursor=([A-Za-z0-9_-]+)[^"]*"[^>]*rel="next"')
TARGETS_MS = {"findings": 100.0, "dashboard": 150.0}
LIST_FILTERS: tuple[dict[str, str], ...] = (
    {},
    {"severity": "high"},
    {"severity": "critical", "status": "any"},
    {"scanner": "bandit"},
    {"category": "dependency", "sort": "-first_seen"},
    {"status": "fixed", "sort": "first_seen"},
    {"sort": "severity"},
    {"severity": "medium", "sort": "first_seen"},
    {"status": "any", "sort": "first_seen"},
    {"rule": "B105"},
    {"path": "src/pkg7/"},
    {"overdue": "1"},
)


@dataclass
class Timing:
    """Server time of one kind of request: wall clock, and CPU time of the serving thread.

    SQLite runs in-process, so the thread's CPU time is the work the request costs; on a machine
    shared with other jobs the wall-clock figure also counts time spent waiting for a core.
    """

    name: str
    target_ms: float | None = None
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def measure(self, client: Any, url: str, headers: dict[str, str] | None = None) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        response = client.get(url, headers=headers or {})
        response.get_data()
        self.samples.append((time.perf_counter() - started) * 1000)
        self.cpu.append((time.thread_time() - cpu) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return response

    def pct(self, q: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.samples if values is None else values)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    @property
    def met(self) -> bool | None:
        return None if self.target_ms is None else self.pct(95) <= self.target_ms


def prepare_database(
    url: str | None, findings: int, projects: int, days: int, log: Callable[[str], None]
) -> str:
    """Migrate and seed (unless the database already holds the findings); returns the URL."""
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="vigil-bench-web-"))
        url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.reader() as s:
            present = int(s.scalar(select(func.count()).select_from(Finding)) or 0)
        if present >= findings:
            log(f"using the {present:,} findings already in {url}")
            return url
        if present:
            raise SystemExit(
                "the benchmark database holds some findings but fewer than asked: use an empty one"
            )
        log(f"seeding {findings:,} findings over {projects} projects and {days} days of snapshots...")
        started = time.perf_counter()
        # Bulk loads are several times faster without the secondary indexes; build them afterwards.
        tables = [Base.metadata.tables["finding"], Base.metadata.tables["finding_status_history"]]
        indexes = [index for table in tables for index in table.indexes]
        with database.engine.begin() as conn:
            for index in indexes:
                index.drop(conn)
        summary = seed(database, projects=projects, findings=findings, days=days)
        log(f"seeded {summary} in {time.perf_counter() - started:.0f} s; building indexes...")
        with database.engine.begin() as conn:
            for index in indexes:
                index.create(conn)
        log(f"ready after {time.perf_counter() - started:.0f} s")
        with database.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        database.dispose()
    return url


def _signed_in_client(app: Any, database: Database, role: Role, project_ids: Sequence[int]) -> Any:
    with database.transaction() as s:
        user = User(
            username=f"bench-{role.value}-{secrets.token_hex(3)}",
            display_name="bench",
            password_hash=hash_password(secrets.token_urlsafe(24)),
            role=role,
        )
        s.add(user)
        s.flush()
        for pid in project_ids:
            s.add(ProjectMember(project_id=pid, user_id=user.id))
        token, _row = session_service.start(s, user, ip="127.0.0.1", user_agent="bench", second_factor=True)
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    client.set_cookie(
        app.config["SESSION_COOKIE_NAME"], token, domain="localhost", secure=True, httponly=True
    )
    return client


def _deep_cursor(s: Any, rng: random.Random, flt: dict[str, str]) -> str | None:
    """A cursor positioned at a random finding, as if the user had pressed "next" many times."""
    sort = flt.get("sort", DEFAULT_SORT)
    if flt and set(flt) - {"sort"}:
        return None  # cursors for narrower filters come from walking their own pages
    max_id = int(s.scalar(select(func.max(Finding.id))) or 0)
    row = s.execute(
        select(Finding.id, Finding.severity, Finding.first_seen)
        .where(Finding.id >= rng.randint(1, max(max_id, 1)))
        .limit(1)
    ).first()
    if row is None:
        return None
    values: list[Any] = [getattr(row.severity, "value", row.severity)] if sort == "severity" else []
    return encode_cursor(sort, [*values, row.first_seen, row.id])


def run(
    *,
    database_url: str | None = None,
    findings: int = 1_000_000,
    projects: int = 200,
    days: int = 365,
    requests: int = 200,
    log: Callable[[str], None] = print,
) -> list[Timing]:
    url = prepare_database(database_url, findings, projects, days, log)
    database = Database(url)
    try:
        app = create_app(
            {"database_url": url, "secret_key": secrets.token_urlsafe(48), "scheduler_enabled": False},
            database=database,
        )
        with database.reader() as s:
            all_ids = list(s.scalars(select(Project.id).order_by(Project.id)))
        rng = random.Random(8)  # noqa: S311 - reproducible request mix, not a secret
        admin = _signed_in_client(app, database, Role.ADMIN, ())
        analyst = _signed_in_client(app, database, Role.ANALYST, rng.sample(all_ids, min(5, len(all_ids))))
        warm = Timing("warm-up")
        for path in ("/", "/findings"):  # the first requests compile templates and fill caches
            warm.measure(admin, path)
        results = [
            _findings(admin, database, rng, requests, all_ids, "findings list (admin, any filter/sort/page)"),
            _findings(
                analyst, database, rng, max(20, requests // 4), [], "findings list (analyst, 5 projects)"
            ),
        ]
        n = max(3, requests // 10)
        dashboard_target = TARGETS_MS["dashboard"]
        for window in (30, 90, 365):
            timing = Timing(
                f"dashboard {window} days, recomputed (admin, all)",
                dashboard_target if window == 30 else None,
            )
            for _ in range(n):
                dashboard_service.clear_caches()  # cold: every figure is computed again
                timing.measure(admin, f"/?days={window}")
            results.append(timing)
        timing = Timing("dashboard 30 days, cached figures (admin, all)", dashboard_target)
        for _ in range(n):
            timing.measure(admin, "/")
        results.append(timing)
        timing = Timing("dashboard 30 days, after a triage (admin, all)", dashboard_target)
        for finding_id in _open_findings(database, rng, n):
            _triage(database, finding_id)  # a real status change, audited like any triage
            timing.measure(admin, "/")
        results.append(timing)
        timing = Timing("dashboard 30 days, recomputed (analyst, 5 projects)", dashboard_target)
        for _ in range(n):
            dashboard_service.clear_caches()
            timing.measure(analyst, "/")
        results.append(timing)
        timing = Timing("scan health fragment (loaded after the dashboard)")
        for _ in range(max(2, min(5, requests // 20))):
            timing.measure(admin, "/dashboard/health")
        results.append(timing)
        return results
    finally:
        database.dispose()


def _open_findings(database: Database, rng: random.Random, n: int) -> list[int]:
    """``n`` different open findings spread over the table, to be triaged one per request."""
    picked: list[int] = []
    with database.reader() as s:
        max_id = int(s.scalar(select(func.max(Finding.id))) or 0)
        for _ in range(n):
            start = rng.randint(1, max(max_id, 1))
            for bound in (Finding.id >= start, Finding.id < start):
                found = s.scalar(
                    select(Finding.id)
                    .where(bound, Finding.status == FindingStatus.OPEN, Finding.id.not_in(picked or [-1]))
                    .order_by(Finding.id)
                    .limit(1)
                )
                if found is not None:
                    picked.append(found)
                    break
    if len(picked) < n:
        raise SystemExit("the benchmark database has too few open findings left to triage")
    return picked


def _triage(database: Database, finding_id: int) -> None:
    with database.transaction() as s:
        findings_service.triage(s, Actor.system("bench"), [finding_id], "false_positive", "benchmark")


def _findings(
    client: Any, database: Database, rng: random.Random, n: int, project_ids: list[int], name: str
) -> Timing:
    timing = Timing(name, TARGETS_MS["findings"])
    cursors: dict[int, str] = {}
    with database.reader() as s:
        for i in range(n):
            index = i % len(LIST_FILTERS)
            flt = dict(LIST_FILTERS[index])
            if project_ids and i % 3 == 0:
                flt["project"] = str(rng.choice(project_ids))
            cursor = cursors.pop(index, None) if i % 2 else _deep_cursor(s, rng, flt)
            query = urlencode({**flt, **({"cursor": cursor} if cursor else {})})
            response = timing.measure(client, f"/findings?{query}", {"HX-Request": "true"} if i % 4 else None)
            found = NEXT_LINK.search(response.get_data(as_text=True))
            if found:
                cursors[index] = found.group(1)
    return timing


def report(results: list[Timing]) -> list[str]:
    columns = ("n", "p50 ms", "p95 ms", "p99 ms", "cpu p95", "target")
    header = f"{'measurement':<52} " + " ".join(f"{c:>7}" for c in columns) + "  met"
    lines = [f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}", header]
    for r in results:
        target = f"{r.target_ms:.0f}" if r.target_ms else "-"
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            f"{r.name:<52} {len(r.samples):>7} {r.pct(50):>7.1f} {r.pct(95):>7.1f} {r.pct(99):>7.1f} "
            f"{r.pct(95, r.cpu):>7.1f} {target:>7}  {met}"
        )
    lines.append("(met: wall-clock p95 within the target; cpu: CPU time of the serving thread)")
    return lines
