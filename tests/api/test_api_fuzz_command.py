"""``vigil bench api-fuzz``: seeds, creates its key, fuzzes every operation, and says what it needs."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest

from app.web.api.openapi import document
from tests.conftest import VigilRunner


def test_api_fuzz_seeds_the_database_and_fuzzes_every_operation(
    runner: VigilRunner, app_config: dict[str, Any]
) -> None:
    result = runner.invoke(
        ["bench", "api-fuzz", "--examples", "2", "--database-url", app_config["database_url"]]
    )
    assert result.exit_code == 0, result.output
    assert "seeded 5 projects, 3,000 findings" in result.output
    summary = re.search(r"^(\d+) operations, ([\d,]+) examples, 0 failures$", result.output, re.MULTILINE)
    assert summary is not None, result.output
    operations = sum(len(ops) for ops in document()["paths"].values())
    assert int(summary.group(1)) == operations
    assert len(
        re.findall(r"^(?:GET|POST) +/\S+ +\d+ examples +0 failures$", result.output, re.MULTILINE)
    ) == (operations)


def test_api_fuzz_without_the_test_extras_says_how_to_install_them(
    runner: VigilRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "schemathesis", None)  # as if the extras were not installed
    result = runner.invoke(["bench", "api-fuzz", "--examples", "1"])
    assert result.exit_code == 2
    assert "error: schemathesis and hypothesis are needed: pip install -e '.[test]'" in result.output
