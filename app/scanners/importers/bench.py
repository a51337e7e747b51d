"""Measure streaming SARIF import on a generated report: wall time, findings/s and peak memory.

The report is written to disk in a streaming way (the generator never holds it), and the import runs
in a child process so its peak RSS is measured alone, not mixed with the generator's.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs this same interpreter on a fixed module, argument list only
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

_RULES = [
    {
        "id": f"bench/rule-{i}",
        "name": f"BenchRule{i}",
        "shortDescription": {"text": f"Benchmark rule {i}"},
        "defaultConfiguration": {"level": ("error", "warning", "note")[i % 3]},
        "properties": {
            "tags": ["security", f"external/cwe/cwe-{79 + i}"],
            "security-severity": str(1 + i % 9),
        },
    }
    for i in range(50)
]


def write_sarif(path: Path, size_bytes: int) -> int:
    """Write a SARIF 2.1.0 report of about ``size_bytes`` bytes; returns the number of results."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        header = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0"}
        out.write(json.dumps(header)[:-1] + ', "runs": [{"tool": ')
        out.write(json.dumps({"driver": {"name": "BenchScanner", "version": "1.0", "rules": _RULES}}))
        out.write(', "results": [')
        written = out.tell()
        while written < size_bytes:
            result = {
                "ruleId": f"bench/rule-{count % 50}",
                "ruleIndex": count % 50,
                "message": {
                    "text": f"Finding number {count} in a generated report, with some explanatory text."
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f"src/module_{count % 997}/file_{count % 7919}.py"},
                            "region": {
                                "startLine": 1 + count % 4000,
                                "startColumn": 5,
                                "snippet": {"text": "x = 1"},
                            },
                        }
                    }
                ],
                "partialFingerprints": {"primaryLocationLineHash": f"{count:016x}:1"},
            }
            chunk = ("," if count else "") + json.dumps(result)
            out.write(chunk)
            written += len(chunk)
            count += 1
        out.write("]}]}")
    return count


@dataclass(frozen=True)
class StreamBench:
    size_bytes: int
    results: int
    findings: int
    seconds: float
    findings_per_second: float
    peak_rss_mb: float


# VmHWM is this process's own peak RSS; ru_maxrss would include the parent's peak from before exec.
_CHILD = """
import resource, sys
from pathlib import Path
from app.scanners.importers.loader import iter_report
count = sum(1 for _ in iter_report(Path(sys.argv[1]), max_bytes=int(sys.argv[2])))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(count, peak)
"""


def measure(path: Path) -> tuple[int, float, float]:
    """(findings, seconds, peak RSS in MB) of streaming ``path`` in a fresh interpreter."""
    size = path.stat().st_size
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  # nosec B603 - fixed argument list, this interpreter
        [sys.executable, "-c", _CHILD, str(path), str(size + 1)], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - started
    findings, rss_kb = done.stdout.split()
    return int(findings), seconds, int(rss_kb) / 1024


def run(workdir: Path, size_mb: int) -> StreamBench:
    path = workdir / "bench.sarif"
    results = write_sarif(path, size_mb * 1024 * 1024)
    findings, seconds, rss = measure(path)
    size = path.stat().st_size
    path.unlink()
    return StreamBench(size, results, findings, round(seconds, 1), round(findings / seconds), round(rss, 1))


def render(result: StreamBench) -> list[str]:
    return [
        f"streamed SARIF: {result.size_bytes / 1024 / 1024:,.0f} MB, {result.results:,} results -> "
        f"{result.findings:,} findings",
        f"time {result.seconds:,.1f} s ({result.findings_per_second:,} findings/s), "
        f"peak RSS {result.peak_rss_mb:,.0f} MB",
    ]


def as_dict(result: StreamBench) -> dict[str, object]:
    return asdict(result)
