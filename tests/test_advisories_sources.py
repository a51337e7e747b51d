"""Advisory sources are read under caps: hostile archives are refused whole, bad records skipped."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from app.advisories.osv import AdvisoryError
from app.advisories.sources import Limits, iter_documents

FIXTURES = Path(__file__).parent / "fixtures" / "advisories"


def _zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_osv_all_zip_layout_is_read(tmp_path: Path) -> None:
    entries = {p.name: p.read_bytes() for p in sorted((FIXTURES / "osv-v1").glob("*.json"))}
    archive = _zip(tmp_path / "all.zip", entries)
    docs = list(iter_documents(archive))
    assert len(docs) == len(entries)
    assert all(d.problem is None for d in docs)
    assert {d.data["id"] for d in docs} >= {"PYSEC-2023-80", "GHSA-r3xc-prgr-mg9p"}


@pytest.mark.parametrize("name", ["../evil.json", "/etc/evil.json", "a\\..\\evil.json", "C:/evil.json"])
def test_zip_entry_escaping_the_archive_refuses_the_whole_archive(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "all.zip", {"ok.json": b"{}", name: b"{}"})
    with pytest.raises(AdvisoryError, match="unsafe entry name"):
        list(iter_documents(archive))


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "all.zip", {"bomb.json": b"[" + b" " * (4 * 1024 * 1024) + b"]"})
    with pytest.raises(AdvisoryError, match="zip bomb"):
        list(iter_documents(archive))


def test_oversized_record_and_entry_count_caps(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "all.zip", {"a.json": b"{}", "b.json": b"{}", "c.json": b"{}"})
    with pytest.raises(AdvisoryError, match="3 entries, more than the limit of 2"):
        list(iter_documents(archive, Limits(entries=2)))
    big = _zip(tmp_path / "big.zip", {"a.json": json.dumps({"x": "y" * 5000}).encode()}, zipfile.ZIP_STORED)
    with pytest.raises(AdvisoryError, match="larger than the limit"):
        list(iter_documents(big, Limits(record_bytes=1000)))


def test_malformed_json_is_one_problem_not_a_failure(tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "good.json").write_text('{"id": "X-1"}')
    (folder / "bad.json").write_text('{"id": ')
    (folder / "deep.json").write_text("[" * 100 + "]" * 100)
    (folder / "notes.txt").write_text("ignored")
    docs = {d.origin: d for d in iter_documents(folder)}
    assert set(docs) == {"bad.json", "deep.json", "good.json"}
    assert docs["good.json"].data == {"id": "X-1"}
    assert docs["bad.json"].problem is not None and "not valid JSON" in docs["bad.json"].problem
    assert docs["deep.json"].problem is not None and "nested deeper" in docs["deep.json"].problem


def test_symlinks_in_a_folder_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text('{"id": "OUTSIDE-1"}')
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "link.json").symlink_to(outside)
    assert list(iter_documents(folder)) == []


def test_single_file_with_a_list_of_records(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text('[{"id": "A-1"}, {"id": "B-2"}]')
    assert [d.data["id"] for d in iter_documents(path)] == ["A-1", "B-2"]


def test_unknown_or_missing_source(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryError, match="no such file"):
        iter_documents(tmp_path / "missing.zip")
    other = tmp_path / "records.csv"
    other.write_text("id\n")
    with pytest.raises(AdvisoryError, match="expected an OSV zip"):
        iter_documents(other)
