"""Scan options come from Settings and the project (no global reads); suppression comments are
counted per kind, and only the comment text is kept (never the code before it)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.scanners.registry import SCANNERS, Scanner, ScanOptions
from app.scanners.runner import MiB
from app.scanners.suppressions import find_suppressions


def test_options_take_limits_from_settings_and_fields_from_the_project() -> None:
    settings = Settings(
        scan_timeout_seconds=60, scan_output_cap_mb=8, scan_memory_mb=512, scan_cpu_seconds=30
    )
    options = ScanOptions.from_settings(
        settings, exclude_paths=["vendor"], dependency_files=None, honour_repo_config=True
    )
    assert options.limits.timeout_seconds == 60 and options.limits.output_cap_bytes == 8 * MiB
    assert options.limits.memory_mb == 512 and options.limits.cpu_seconds == 30
    assert options.exclude_paths == ("vendor",) and options.dependency_files == ()
    assert options.honour_repo_config and not options.ignore_inline_suppressions


def test_every_registered_scanner_fits_the_protocol() -> None:
    assert set(SCANNERS) >= {"bandit", "ruff", "semgrep", "pip-audit", "detect-secrets", "mypy"}
    for name, scanner in SCANNERS.items():
        assert isinstance(scanner, Scanner) and scanner.name == name
        assert scanner.category in ("security", "quality", "dependency", "secret")


def test_suppression_kinds_and_clean_comments(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "import os  # noqa\n"
        "x = 1  # noqa: E501\n"
        "y = eval(z)  # noqa: E501, S307\n"
        "os.system(c)  # nosec B605\n"
        "pickle.loads(b)  # nosemgrep\n"
        'TOKEN = "hunter2hunter2"  # pragma: allowlist secret\n'
    )
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "b.py").write_text("x = 1  # nosec\n")
    found = find_suppressions(tmp_path, exclude_paths=["vendor"])
    assert [(s.kind, s.path, s.line) for s in found] == [
        ("noqa", "a.py", 1),
        ("noqa", "a.py", 3),
        ("nosec", "a.py", 4),
        ("nosemgrep", "a.py", 5),
        ("allowlist-secret", "a.py", 6),
    ]
    assert all("hunter2" not in s.comment for s in found)
    assert found[2].comment == "# nosec B605"
    assert len(find_suppressions(tmp_path)) == 6  # vendor counted when not excluded
