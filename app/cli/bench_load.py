"""``vigil bench load``: gunicorn on PostgreSQL and Redis under signed-in users and CI, 60 s."""

from __future__ import annotations

import os
import sys

import click

from app.bench.load import LoadOptions, LoadReport, run


def report_lines(report: LoadReport) -> list[str]:
    o = report.options
    lines = [
        f"gunicorn {o.workers} workers x {o.threads} threads (gthread) on loopback; {report.versions}",
        f"data: {report.seeded}",
    ]
    if report.sign_in_ms:
        ordered = sorted(report.sign_in_ms)
        lines.append(
            f"sign-in: {len(ordered)} users through the login form (CSRF), one address each: "
            f"median {ordered[len(ordered) // 2]:.0f} ms, max {ordered[-1]:.0f} ms"
        )
    lines.append(
        f"load: {report.elapsed:.1f} s, {o.clients} client processes, {o.users} users on keep-alive "
        "connections, closed loop without think time"
    )
    header = ("request", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
    lines.append(f"{header[0]:<20}" + "".join(f"{h:>10}" for h in header[1:]))
    elapsed = report.elapsed or 1.0
    for k in report.kinds:
        top = max(k.latencies, default=0.0)
        lines.append(
            f"{k.name:<20}{len(k.latencies):>10}{k.errors:>10}{len(k.latencies) / elapsed:>10.1f}"
            f"{k.pct(50):>10.1f}{k.pct(90):>10.1f}{k.pct(99):>10.1f}{top:>10.1f}"
        )
    lines.append(f"{'all':<20}{report.requests:>10}{report.errors:>10}{report.requests / elapsed:>10.1f}")
    cores = os.cpu_count() or 1
    lines.append(
        f"CPU during the load: gunicorn workers {report.server_cpu:.1f} s "
        f"({report.server_cpu / elapsed:.2f} of {cores} cores), PostgreSQL backends "
        f"{report.database_cpu:.1f} s, client processes {report.client_cpu:.1f} s; "
        f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    if report.requests:
        per_request = 1000 / report.requests
        lines.append(
            f"CPU per request: {report.server_cpu * per_request:.1f} ms in gunicorn + "
            f"{report.database_cpu * per_request:.1f} ms in PostgreSQL"
        )
    lines.append(f"idle keep-alive connections re-opened by clients: {report.reconnects}")
    lines += [f"login limit, {check.line()}" for check in report.limit_checks]
    lines += [f"gunicorn log: {line}" for line in report.server_problems[:5]]
    lines += [f"error: {sample}" for sample in report.error_samples]
    lines.append("PASS" if report.passed else "FAIL: " + "; ".join(report.failures))
    return lines


@click.command("load")
@click.option(
    "--database-url",
    envvar="VIGIL_TEST_POSTGRES_URL",
    required=True,
    help="PostgreSQL server (default $VIGIL_TEST_POSTGRES_URL); scratch database made there, then dropped.",
)
@click.option(
    "--redis-url",
    envvar="VIGIL_TEST_REDIS_URL",
    required=True,
    help="Redis for the rate limits (default $VIGIL_TEST_REDIS_URL); the run's counters are deleted after.",
)
@click.option("--seconds", default=60.0, show_default=True, type=float)
@click.option("--users", default=16, show_default=True, type=click.IntRange(1, 5000))
@click.option("--clients", default=4, show_default=True, type=click.IntRange(1, 64), help="Client processes.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--projects", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--findings", default=100_000, show_default=True, type=click.IntRange(1))
@click.option(
    "--days", default=90, show_default=True, type=click.IntRange(1, 3650), help="Days of snapshots."
)
def command(
    database_url: str,
    redis_url: str,
    seconds: float,
    users: int,
    clients: int,
    workers: int,
    threads: int,
    projects: int,
    findings: int,
    days: int,
) -> None:
    """Load gunicorn on PostgreSQL + Redis; exit 1 unless zero errors and exact login limits."""
    options = LoadOptions(
        database_url, redis_url, seconds, projects, findings, days, users, clients, workers, threads
    )
    report = run(options, log=click.echo)
    for line in report_lines(report):
        click.echo(line)
    if not report.passed:
        sys.exit(1)
