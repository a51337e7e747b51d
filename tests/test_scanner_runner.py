"""The one safe runner (checklist 37, 38): process-group kill at timeout, output cap, limits,
scrubbed environment, argument lists only, rejected checkout paths. Real processes throughout."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from app.scanners.registry import Outcome, ScanOptions
from app.scanners.runner import (
    Limits,
    RunnerError,
    UnsafePathError,
    run_tool,
    scrubbed_env,
    validate_checkout,
)
from app.scanners.tools.bandit import BanditScanner
from tests.scanner_helpers import make_fake_tool, process_gone

MiB = 1024 * 1024


def _fake_bandit(tool: Path) -> BanditScanner:
    return type("FakeBandit", (BanditScanner,), {"binary": str(tool)})()


def _wait_for(path: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_checklist_37_timeout_kills_the_tool_and_its_child(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="sleep_with_child")
    result = run_tool([str(tool)], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits(timeout_seconds=4))
    pids = json.loads((tmp_path / "bin" / "pids.json").read_text())
    assert result.timed_out and result.stopped and result.exit_code is None
    assert "timed out" in (result.reason or "")
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while not all(process_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [process_gone(pid) for pid in pids] == [True, True]


def test_checklist_37_timed_out_scan_is_marked_timed_out_never_clean(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="sleep_with_child")
    checkout = tmp_path / "repo"
    checkout.mkdir()
    options = ScanOptions(work_dir=tmp_path / "work").with_limits(timeout_seconds=4)
    result = _fake_bandit(tool).run(checkout, options)
    pids = json.loads((tmp_path / "bin" / "pids.json").read_text())
    assert result.outcome is Outcome.FAILED
    assert result.timed_out and result.status == "timed_out"
    assert not result.complete and result.findings == []
    assert "timed out" in (result.error or "")
    time.sleep(0.2)
    assert all(process_gone(pid) for pid in pids)


def test_checklist_37_output_over_the_cap_stops_the_tool_and_fails_the_run(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="flood")
    cap = 2 * MiB
    result = run_tool(
        [str(tool)], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits(output_cap_bytes=cap)
    )
    assert result.capped and result.stopped and result.exit_code is None
    assert result.stdout_bytes <= cap + 1  # the file-size limit stops the write at the cap
    assert (tmp_path / "work" / "stdout").stat().st_size <= cap + 1

    checkout = tmp_path / "repo"
    checkout.mkdir()
    options = ScanOptions(work_dir=tmp_path / "w2").with_limits(output_cap_bytes=cap)
    scan = _fake_bandit(tool).run(checkout, options)
    assert scan.outcome is Outcome.FAILED and scan.status == "failed"
    assert "cap" in (scan.error or "") and not scan.complete


def test_cpu_limit_kills_a_spinning_tool(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="cpu")
    result = run_tool([str(tool)], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits(cpu_seconds=1))
    assert result.stopped and result.signal is not None and result.exit_code is None
    assert "signal" in (result.reason or "")


def test_memory_limit_applies_in_the_child(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="memory", bytes=1024 * MiB)
    result = run_tool([str(tool)], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits(memory_mb=256))
    assert result.exit_code != 0
    assert "MemoryError" in result.stderr_tail


def test_peak_memory_of_the_tool_is_sampled(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="memory", bytes=120 * MiB, hold=1.5)
    result = run_tool([str(tool)], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits(memory_mb=1024))
    assert result.exit_code == 0
    assert result.peak_rss_bytes >= 120 * MiB


def test_cancel_event_kills_the_running_tool(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="sleep_with_child")
    checkout = tmp_path / "repo"
    checkout.mkdir()
    cancel = threading.Event()

    def cancel_once_started() -> None:  # like the scheduler's cancel button, pressed mid-run
        _wait_for(tmp_path / "bin" / "pids.json", seconds=30)
        cancel.set()

    canceller = threading.Thread(target=cancel_once_started)
    canceller.start()
    result = _fake_bandit(tool).run(checkout, ScanOptions(work_dir=tmp_path / "work", cancel=cancel))
    canceller.join()
    assert result.cancelled and result.status == "cancelled" and result.outcome is Outcome.FAILED
    pids = json.loads((tmp_path / "bin" / "pids.json").read_text())
    time.sleep(0.2)
    assert all(process_gone(pid) for pid in pids)


def test_checklist_38_child_environment_has_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = {
        "VIGIL_SECRET_KEY": "s3cret-signing-key",
        "VIGIL_DATABASE_URL": "postgresql://vigil:pw@db/vigil",
        "SECRET_KEY": "another-secret",
        "DATABASE_URL": "postgresql://u:p@h/d",
        "REDIS_URL": "redis://:pw@cache:6379/0",
        "REDIS_PASSWORD": "pw",
        "VIGIL_REDIS_URL": "redis://cache:6379/1",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "GITHUB_TOKEN": "ghp_x",
    }
    for key, value in planted.items():
        monkeypatch.setenv(key, value)
    tool = make_fake_tool(tmp_path / "bin", mode="env")
    result = run_tool([str(tool)], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits())
    seen = json.loads(result.read_stdout())
    env = seen["env"]
    assert not set(planted) & set(env)
    assert not [k for k in env if k.startswith(("VIGIL_", "REDIS_")) or "SECRET" in k or "DATABASE" in k]
    for value in planted.values():
        assert all(value not in v for v in env.values())
    # HOME is a private folder under the run's work dir, not the service account's home
    assert env["HOME"].startswith(str(tmp_path / "work"))
    assert env["HOME"] != os.environ.get("HOME")


def test_checklist_38_argv_is_a_list_and_never_goes_through_a_shell(tmp_path: Path) -> None:
    tool = make_fake_tool(tmp_path / "bin", mode="env")
    marker = tmp_path / "pwned"
    hostile = f"x; touch {marker}; $(touch {marker})"
    result = run_tool([str(tool), hostile], cwd=tmp_path, work_dir=tmp_path / "work", limits=Limits())
    seen = json.loads(result.read_stdout())
    assert seen["argv"][1] == hostile  # arrived as one literal argument
    assert not marker.exists()
    assert isinstance(result.argv, tuple)
    with pytest.raises(RunnerError):
        run_tool(f"{tool} --help", cwd=tmp_path, work_dir=tmp_path / "w", limits=Limits())  # type: ignore[arg-type]
    with pytest.raises(RunnerError):
        scrubbed_env(tmp_path, {"VIGIL_DATABASE_URL": "x"})


@pytest.mark.parametrize(
    "suffix",
    ["repo;rm -rf ~", "repo && rm -rf /", "repo$(id)", "../etc", "repo/../../etc", "repo`id`", "repo\nx"],
)
def test_checklist_38_hostile_checkout_paths_are_rejected(tmp_path: Path, suffix: str) -> None:
    hostile = f"{tmp_path}/{suffix}"
    with pytest.raises(UnsafePathError):
        validate_checkout(hostile)
    tool = make_fake_tool(tmp_path / "bin", mode="env")
    result = _fake_bandit(tool).run(Path(hostile), ScanOptions(work_dir=tmp_path / "work"))
    assert result.outcome is Outcome.FAILED and "checkout path" in (result.error or "")
    assert not (tmp_path / "work" / "bandit").exists()  # no process was started


@pytest.mark.parametrize("raw", ["-rf", "relative/path", "", "/definitely/not/here"])
def test_checklist_38_option_like_relative_or_missing_paths_are_rejected(raw: str) -> None:
    with pytest.raises(UnsafePathError):
        validate_checkout(raw)


def test_checklist_38_a_real_directory_with_a_semicolon_is_still_refused(tmp_path: Path) -> None:
    weird = tmp_path / "a;b"
    weird.mkdir()
    with pytest.raises(UnsafePathError):
        validate_checkout(weird)
    assert validate_checkout(tmp_path) == tmp_path
