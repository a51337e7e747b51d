"""``vigil bench ...``: measured speed of each area on this machine (never a timed unit test).

``BENCH_COMMANDS`` is the registry: each module exposes ``command`` (a click command) and is added
under ``vigil bench`` with one line here.
"""

from __future__ import annotations

import importlib

import click

BENCH_COMMANDS: tuple[str, ...] = (
    "app.cli.bench_reports",
    "app.cli.bench_ingest",
    "app.cli.bench_web",
    "app.cli.bench_importers",
    "app.cli.bench_fuzz",
    "app.cli.bench_api_fuzz",
    "app.cli.bench_advisories",
    "app.cli.bench_scheduling",
    "app.cli.bench_scanners",
    "app.cli.bench_load",
    "app.cli.bench_faults",
)


@click.group("bench")
def bench() -> None:
    """Benchmarks: time, throughput and peak memory on this machine."""


for _module_name in BENCH_COMMANDS:
    bench.add_command(importlib.import_module(_module_name).command)

commands = [bench]
