"""run_scenarios replays close-old/dedup sequences through ingestion and reports mismatches and reasons."""

from __future__ import annotations

from pathlib import Path

from app.ingestion.scenario import SCOPE_REASON, run_scenarios
from tests.ingestion_helpers import sarif_report

FN = "unittests/test_close_old.py::test_sequence"


def test_scenarios_compare_new_and_closed_counts_in_step_order(tmp_path: Path) -> None:
    (tmp_path / "sarif").mkdir()
    sarif_report(tmp_path / "sarif/one.sarif", [("r1", "a.py", 3, "eval(a)"), ("r2", "b.py", 4, "exec(b)")])
    sarif_report(tmp_path / "sarif/two.sarif", [("r1", "a.py", 9, "eval(a)"), ("r3", "c.py", 1, "pickle(c)")])

    def entry(path: str, step: int, new: int, closed: int, **extra: object) -> dict[str, object]:
        asserted = {"step": step, "len_new_findings": new, "len_closed_findings": closed, **extra}
        return {
            "kind": "importer_scenario",
            "parser": "sarif",
            "scan_type": "SARIF",
            "path": path,
            "test_function": FN,
            "asserted": asserted,
        }

    entries = [
        # Listed out of order on purpose: steps decide the order of the imports.
        entry("sarif/two.sarif", 2, 1, 1),
        entry(
            "sarif/one.sarif", 1, 2, 0, **{"duplicates per product when imported into different products": 0}
        ),
    ]
    results = {path: (ok, message) for path, ok, message in run_scenarios(entries, tmp_path)}
    assert results["sarif/two.sarif"] == (True, "")
    ok, message = results["sarif/one.sarif"]
    assert not ok and message == f"differs: {SCOPE_REASON}"

    wrong = [entry("sarif/one.sarif", 1, 5, 0)]
    [(path, ok, message)] = run_scenarios(wrong, tmp_path)
    assert (path, ok) == ("sarif/one.sarif", False)
    assert "len_new_findings: DefectDojo 5, Vigil 2" in message
