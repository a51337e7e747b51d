"""Fake scanner tools for the runner and exit-code tests: real executables, real processes.

Each fake is a small Python script written into the test's temporary folder with this interpreter as
its shebang; its behaviour comes from a JSON file beside it (the runner scrubs the environment, so
the environment cannot carry it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

FAKE_TOOL = r"""
import json, os, subprocess, sys, time
from pathlib import Path

spec = json.loads(Path(__file__).with_suffix(".json").read_text())
here = Path(__file__).parent
if sys.argv[1:2] == ["--version"]:
    print("fake-tool 9.9.9")
    sys.exit(0)
mode = spec.get("mode", "output")
if mode == "output":
    sys.stdout.write(spec.get("stdout", ""))
    sys.stderr.write(spec.get("stderr", ""))
    sys.exit(spec.get("exit", 0))
if mode == "env":
    json.dump({"env": dict(os.environ), "argv": sys.argv, "cwd": os.getcwd()}, sys.stdout)
    sys.exit(0)
if mode == "sleep_with_child":
    child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    (here / "pids.json").write_text(json.dumps([os.getpid(), child.pid]))
    while True:
        time.sleep(1)
if mode == "flood":
    chunk = b"x" * (1024 * 1024)
    for _ in range(2048):  # 2 GB if nothing stops it
        sys.stdout.buffer.write(chunk)
    sys.exit(0)
if mode == "cpu":
    while True:
        pass
if mode == "memory":
    hog = bytearray(spec.get("bytes", 2 * 1024 ** 3))
    print(len(hog))
    time.sleep(spec.get("hold", 0))
    sys.exit(0)
"""


def make_fake_tool(folder: Path, name: str = "fake-tool", **spec: Any) -> Path:
    """An executable fake tool at ``folder/name``; ``spec`` sets its mode, stdout, stderr and exit."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f"#!{sys.executable}\n{FAKE_TOOL}", encoding="utf-8")
    script.chmod(0o755)
    script.with_suffix(".json").write_text(json.dumps(spec), encoding="utf-8")
    return script


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting for init to reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status or "\nState:\tX" in status
