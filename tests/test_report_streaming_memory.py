"""Streaming SARIF keeps memory flat: four times the report, no more peak memory.

The 1 GB figure comes from ``vigil bench sarif-stream --size-mb 1024`` (README); this test guards the
property on small files so a regression (building the whole document) shows up in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.scanners.importers.bench import measure, write_sarif


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_report(tmp_path: Path) -> None:
    small, large = tmp_path / "small.sarif", tmp_path / "large.sarif"
    small_results = write_sarif(small, 2 * 1024 * 1024)
    large_results = write_sarif(large, 8 * 1024 * 1024)
    small_findings, _, small_rss = measure(small)
    large_findings, _, large_rss = measure(large)
    assert (small_findings, large_findings) == (small_results, large_results)
    # decoding the 8 MB document whole would add well over 100 MB; streaming adds next to nothing
    assert large_rss - small_rss < 15, (small_rss, large_rss)
