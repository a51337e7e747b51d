"""``vigil bench web``: server time of the findings list and the dashboard over a million findings.

Requests go through the whole application in-process (routing, session check, the service, SQL,
Jinja), timed from the first byte of the request to the last of the response, so the figure is the
server's time without network noise. The data comes from the shared benchmark seeder: 200
projects, 1,000,000 findings, 365 days of snapshots, written with bulk Core inserts.

"Any page" is measured honestly: besides first pages, requests carry cursors built from randomly
chosen findings deep inside each filter's result, which is what a user reaches after many "next".
"""

from __future__ import annotations

import random
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select, text

from app import create_app
from app.bench.seed import seed
from app.db import Database
from app.migrate import upgrade
from app.models import Base, Finding, Project, ProjectMember, Role, User
from app.security.passwords import hash_password
from app.services import sessions as session_service
from app.services.finding_filters import encode_cursor

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
    {"severity": "medium", "sort": "last_seen"},
    {"rule": "B105"},
    {"path": "src/pkg7/"},
    {"overdue": "1"},
)


@dataclass(frozen=True)
class Timing:
    name: str
    samples: list[float]
    target_ms: float | None = None

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
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
    sort = flt.get("sort", "-last_seen")
    if flt and set(flt) - {"sort"}:
        return None  # cursors for narrower filters come from walking their own pages
    max_id = int(s.scalar(select(func.max(Finding.id))) or 0)
    row = s.execute(
        select(Finding.id, Finding.severity, Finding.first_seen, Finding.last_seen)
        .where(Finding.id >= rng.randint(1, max(max_id, 1)))
        .limit(1)
    ).first()
    if row is None:
        return None
    key = row.first_seen if sort.lstrip("-") == "first_seen" else row.last_seen
    values: list[Any] = [getattr(row.severity, "value", row.severity)] if sort == "severity" else []
    return encode_cursor(sort, [*values, key, row.id])


def _time(client: Any, url: str, headers: dict[str, str] | None = None) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(url, headers=headers or {})
    response.get_data()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return elapsed, response


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
        for warm in ("/", "/findings"):  # first request compiles templates and fills caches
            _time(admin, warm)
        results = [
            _findings(admin, database, rng, requests, all_ids, "findings list (admin, any filter/sort/page)"),
            _findings(
                analyst, database, rng, max(20, requests // 4), [], "findings list (analyst, 5 projects)"
            ),
        ]
        for window in (30, 90, 365):
            samples = [_time(admin, f"/?days={window}")[0] for _ in range(max(3, requests // 10))]
            target = TARGETS_MS["dashboard"] if window == 30 else None
            results.append(Timing(f"dashboard {window} days (admin, all projects)", samples, target))
        samples = [_time(analyst, "/")[0] for _ in range(max(3, requests // 10))]
        results.append(Timing("dashboard 30 days (analyst, 5 projects)", samples, TARGETS_MS["dashboard"]))
        samples = [_time(admin, "/dashboard/health")[0] for _ in range(max(2, min(5, requests // 20)))]
        results.append(Timing("scan health fragment (loaded after the dashboard)", samples))
        return results
    finally:
        database.dispose()


def _findings(
    client: Any, database: Database, rng: random.Random, n: int, project_ids: list[int], name: str
) -> Timing:
    samples: list[float] = []
    cursors: dict[int, str] = {}
    with database.reader() as s:
        for i in range(n):
            index = i % len(LIST_FILTERS)
            flt = dict(LIST_FILTERS[index])
            if project_ids and i % 3 == 0:
                flt["project"] = str(rng.choice(project_ids))
            cursor = cursors.pop(index, None) if i % 2 else _deep_cursor(s, rng, flt)
            query = urlencode({**flt, **({"cursor": cursor} if cursor else {})})
            elapsed, response = _time(client, f"/findings?{query}", {"HX-Request": "true"} if i % 4 else None)
            samples.append(elapsed)
            found = NEXT_LINK.search(response.get_data(as_text=True))
            if found:
                cursors[index] = found.group(1)
    return Timing(name, samples, TARGETS_MS["findings"])


def report(results: list[Timing]) -> list[str]:
    lines = [f"{'measurement':<52} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'target':>8}  met"]
    for r in results:
        target = f"{r.target_ms:.0f}" if r.target_ms else "-"
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            f"{r.name:<52} {len(r.samples):>4} {r.pct(50):>8.1f} {r.pct(95):>8.1f} {r.pct(99):>8.1f} "
            f"{target:>8}  {met}"
        )
    mean = statistics.fmean(s for r in results for s in r.samples)
    lines.append(f"(mean of all requests {mean:.1f} ms)")
    return lines
