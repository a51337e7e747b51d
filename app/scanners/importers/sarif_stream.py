"""Streaming SARIF: findings from a multi-gigabyte report without decoding it whole.

:mod:`sarif_events` turns the file into events (ijson for the frame, slices of results decoded by
orjson); only ``runs[].tool``, ``runs[].artifacts``, ``runs[].invocations`` and one slice of
``results[]`` at a time are built into Python objects, so memory stays proportional to the slice
and the largest single result, not to the report. The builder below refuses duplicate keys,
oversized integers and excessive nesting just as the whole-document decoder does (the orjson slices
are held to the same rules, see :mod:`json_batches`). When a producer writes ``results`` before
``tool`` (legal, rare), a first pass collects each run's tool and a second pass streams the results.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers.safe_load import DEFAULT_MAX_BYTES, LIMITS, check_size
from app.scanners.importers.sarif_events import BATCH, RESULT_PREFIX, sarif_events
from app.scanners.importers.sarif_results import result_findings
from app.scanners.importers.sarif_rules import FORMAT, RunContext

_KEPT = {"runs.item.tool", "runs.item.artifacts", "runs.item.invocations"}
_RESULT = RESULT_PREFIX
_MAX_INT = 10**LIMITS.max_int_digits


class _Builder:
    """Builds one JSON value from ijson events, with the same refusals as ``loads_json``."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.keys: list[str | None] = []
        self.value: Any = None
        self.done = False

    def _put(self, value: Any) -> None:
        if not self.stack:
            self.value, self.done = value, True
            return
        top = self.stack[-1]
        if isinstance(top, list):
            top.append(value)
        else:
            key = self.keys[-1]
            assert key is not None
            if key in top:
                raise ReportError(FORMAT, f"duplicate key {key[:80]!r} in an object")
            top[key] = value

    def event(self, event: str, value: Any) -> None:
        if event in ("start_map", "start_array"):
            if len(self.stack) >= LIMITS.max_depth:
                raise ReportError(FORMAT, f"JSON nested deeper than {LIMITS.max_depth} levels")
            self.stack.append({} if event == "start_map" else [])
            self.keys.append(None)
        elif event in ("end_map", "end_array"):
            self.keys.pop()
            self._put(self.stack.pop())
        elif event == "map_key":
            self.keys[-1] = value
        else:
            self._put(_scalar(value))


def _scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) >= _MAX_INT:
            raise ReportError(FORMAT, f"integer with more than {LIMITS.max_int_digits} digits")
        return value
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > Decimal("1e308"):
            raise ReportError(FORMAT, "number out of range")
        return float(value)
    return value


@dataclass
class _Run:
    tool: Any = None
    artifacts: Any = None
    invocations: Any = None
    ctx: RunContext | None = None


@dataclass
class StreamState:
    """What the stream learned about the report; final once the findings are exhausted."""

    scanners: list[str] = field(default_factory=list)
    tool_version: str | None = None
    problems: list[str] = field(default_factory=list)
    runs: int = 0


class _ToolAfterResults(Exception):
    """This report lists results before its tool (or artifacts): use the two-pass mode."""


def _uses_artifacts(result: Any) -> bool:
    """Whether a result points into ``run.artifacts`` by index (so the table must be known)."""
    if not isinstance(result, dict):
        return False
    for location in result.get("locations") or []:
        physical = location.get("physicalLocation") if isinstance(location, dict) else None
        artifact = physical.get("artifactLocation") if isinstance(physical, dict) else None
        if isinstance(artifact, dict) and "index" in artifact and "uri" not in artifact:
            return True
    return False


def _context(run: _Run, index: int, state: StreamState) -> RunContext:
    if run.ctx is None:
        document = {"tool": run.tool or {}, "artifacts": run.artifacts or []}
        run.ctx = RunContext.from_run(document)
        state.scanners.append(run.ctx.scanner)
        state.tool_version = state.tool_version or run.ctx.tool_version
        invocations = run.invocations if isinstance(run.invocations, list) else []
        for invocation in invocations:
            if isinstance(invocation, dict) and invocation.get("executionSuccessful") is False:
                state.problems.append(f"run {index}: the tool reports an unsuccessful execution")
    return run.ctx


def _findings(
    built: Any, run: _Run, index: int, state: StreamState, known: list[_Run] | None
) -> list[NormalizedFinding]:
    """Findings of one built result; first checks that its run's tool (and, when the result points
    into it, the artifacts table) came before it, else the file needs the two-pass mode."""
    if known is None and (run.tool is None or (run.artifacts is None and _uses_artifacts(built))):
        raise _ToolAfterResults
    return result_findings(built, _context(run, index, state))


def _pass(
    handle: IO[bytes], state: StreamState, known: list[_Run] | None, want_results: bool
) -> Iterator[NormalizedFinding | _Run]:
    """One pass over the events. Yields findings, or (with ``want_results`` False) each run's parts."""
    runs_seen = -1
    run = _Run()
    builder: _Builder | None = None
    building = ""
    saw_runs = False

    def convert(results: list[Any], mentions_index: bool) -> list[NormalizedFinding]:
        if not want_results or not results:
            return []
        if known is None and run.artifacts is None and mentions_index:  # checked result by result
            return [f for built in results for f in _findings(built, run, runs_seen, state, known)]
        if known is None and run.tool is None:
            raise _ToolAfterResults
        ctx = _context(run, runs_seen, state)
        return [finding for built in results for finding in result_findings(built, ctx)]

    for prefix, event, value in sarif_events(handle, convert):
        if event == BATCH:
            yield from value
            continue
        if builder is not None:
            builder.event(event, value)
            if not builder.done:
                continue
            built, builder = builder.value, None
            if building == _RESULT:
                yield from _findings(built, run, runs_seen, state, known)
            else:
                setattr(run, building.rsplit(".", 1)[1], built)
            continue
        if prefix == "runs.item" and event == "start_map":
            runs_seen += 1
            run = known[runs_seen] if known is not None and runs_seen < len(known) else _Run()
        elif prefix == "runs.item" and event == "end_map":
            if not want_results:
                yield run
            else:
                _context(run, runs_seen, state)
        elif prefix == "runs" and event == "start_array":
            saw_runs = True
        elif prefix == "version" and event == "string" and not value.startswith("2."):
            raise ReportError(FORMAT, f"SARIF version {value[:20]!r} is not supported (2.1.0 expected)")
        elif event in ("start_map", "start_array") and (
            (prefix in _KEPT and (known is None or not want_results)) or (prefix == _RESULT and want_results)
        ):
            builder, building = _Builder(), prefix
            builder.event(event, value)
        elif prefix == "" and event not in ("start_map", "end_map", "map_key"):
            raise ReportError(FORMAT, "document should be an object")
    if not saw_runs:
        raise ReportError(FORMAT, "no runs array: not a SARIF log")
    state.runs = runs_seen + 1


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ReportError(FORMAT, f"cannot read {path.name}: {exc.strerror or exc}") from None


def stream_sarif(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, state: StreamState | None = None
) -> Iterator[NormalizedFinding]:
    """Findings of a SARIF file one at a time; ``state`` collects the run metadata as it goes."""
    check_size(path, FORMAT, max_bytes)
    state = state if state is not None else StreamState()
    emitted = 0
    try:
        with _open(path) as handle:
            for item in _pass(handle, state, None, True):
                assert isinstance(item, NormalizedFinding)
                emitted += 1
                yield item
        return
    except _ToolAfterResults:
        pass
    # Second mode: collect every run's tool and artifacts, then stream the results again, skipping
    # the findings already yielded (the order is the file's order, so it is the same both times).
    state.scanners.clear()
    state.problems.clear()
    with _open(path) as handle:
        runs = [item for item in _pass(handle, StreamState(), None, False) if isinstance(item, _Run)]
    with _open(path) as handle:
        for position, item in enumerate(_pass(handle, state, runs, True)):
            assert isinstance(item, NormalizedFinding)
            if position >= emitted:
                yield item
