"""A short ``vigil bench load``: real gunicorn workers on PostgreSQL and Redis, real client processes.

Ten seconds of signed-in users on the findings list, its next pages and the dashboard, and CI on the
gate, must produce zero errors; bursts of wrong passwords, one by one and all at once, must be
refused at exactly the configured limits although several workers serve them. Counts only, never
timings. The run cleans up after itself: its scratch database and Redis counters are gone afterwards.
"""

from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.bench.load import LoadOptions, LoadReport, run
from app.db import normalize_url
from app.security.rate_limits import ACCOUNT_LIMIT, IP_LIMIT, allowed, limit_keys_pattern
from tests.conftest import POSTGRES_URL, REDIS_URL

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def report() -> LoadReport:
    if not (POSTGRES_URL and REDIS_URL):
        pytest.skip("needs VIGIL_TEST_POSTGRES_URL and VIGIL_TEST_REDIS_URL (the PostgreSQL+Redis pass)")
    size = {"projects": 5, "findings": 5_000, "days": 30, "users": 4, "clients": 2}
    options = LoadOptions(POSTGRES_URL, REDIS_URL, seconds=10, workers=3, threads=2, **size)
    return run(options, log=lambda _line: None)


def test_ten_seconds_of_load_on_three_workers_without_a_single_error(report: LoadReport) -> None:
    assert report.errors == 0, report.error_samples
    assert report.server_problems == []
    assert len(report.sign_in_ms) == 4  # every user signed in through the form
    assert {k.name: len(k.latencies) > 0 for k in report.kinds} == {k.name: True for k in report.kinds}
    assert report.passed


def test_sign_in_limits_hold_exactly_across_workers(report: LoadReport) -> None:
    account, address, parallel = report.limit_checks
    assert account.limit == parallel.limit == allowed(ACCOUNT_LIMIT) and address.limit == allowed(IP_LIMIT)
    assert len(parallel.statuses) == 20  # one account from 20 addresses at the same moment
    for check in report.limit_checks:
        assert check.workers >= 2, f"{check.name}: the burst reached a single worker"
        if check.exact:
            assert check.got_through == check.limit, check.line()
        else:  # attempts in flight for the same account refuse the others at once
            assert 1 <= check.got_through <= check.limit, check.line()
        assert check.refused == len(check.statuses) - check.got_through, check.line()
        assert check.unexpected == {}


def test_the_run_leaves_no_database_and_no_counters_behind(report: LoadReport) -> None:
    name = make_url(report.database_url).database
    admin = create_engine(normalize_url(POSTGRES_URL))
    try:
        with admin.connect() as conn:
            left = conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
    finally:
        admin.dispose()
    assert left == 0
    redis = Redis.from_url(REDIS_URL)
    try:
        assert list(redis.scan_iter(match=limit_keys_pattern(report.database_url))) == []
    finally:
        redis.close()
