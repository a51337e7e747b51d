"""Read OSV documents from what an operator carries into an air-gapped network.

Three layouts: the per-ecosystem ``all.zip`` the OSV project publishes (one JSON file per record),
a folder of JSON files (an unpacked zip or a git checkout of an advisory database), or a single
JSON file (one record, or a list of records). Everything is read into memory under hard caps and
never extracted to disk; a zip entry whose name tries to climb out of the archive, a zip that
inflates beyond its caps (a zip bomb) or an encrypted entry makes the whole source invalid, so an
import either uses a trustworthy file or changes nothing.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from app.advisories.osv import AdvisoryError

MAX_RECORD_BYTES = 8 * 1024 * 1024
MAX_SINGLE_FILE_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_ENTRIES = 500_000
MAX_COMPRESSION_RATIO = 200
MAX_JSON_DEPTH = 64
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps for one import; tests lower them to prove each one holds."""

    record_bytes: int = MAX_RECORD_BYTES
    single_file_bytes: int = MAX_SINGLE_FILE_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    entries: int = MAX_ENTRIES
    compression_ratio: int = MAX_COMPRESSION_RATIO


@dataclass(frozen=True)
class Document:
    """One decoded JSON document (or a decoding problem) and where it came from."""

    origin: str
    data: Any = None
    problem: str | None = None


def _depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def decode(raw: bytes, origin: str) -> Document:
    """Decode one JSON document; a malformed one is reported, not raised, so one bad file is skipped."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Document(origin, problem=f"{origin}: not valid JSON ({str(exc).splitlines()[0][:80]})")
    if not _depth_ok(data):
        return Document(origin, problem=f"{origin}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return Document(origin, data=data)


def _entry_name_ok(name: str) -> bool:
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return False
    return ".." not in PurePosixPath(name).parts


def _read_capped(handle: Any, cap: int, origin: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = handle.read(min(CHUNK, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            raise AdvisoryError(f"{origin}: larger than the {cap // (1024 * 1024)} MiB limit for one record")
        chunks.append(chunk)


def iter_zip(path: Path, limits: Limits) -> Iterator[Document]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise AdvisoryError(f"{path.name}: not a readable zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.entries:
            raise AdvisoryError(f"{path.name}: {len(infos)} entries, more than the limit of {limits.entries}")
        declared = 0
        for info in infos:
            if not _entry_name_ok(info.filename):
                raise AdvisoryError(f"{path.name}: unsafe entry name {info.filename[:80]!r}; archive refused")
            if info.flag_bits & 0x1:
                raise AdvisoryError(f"{path.name}: encrypted entry {info.filename[:80]!r}; archive refused")
            declared += info.file_size
            if info.file_size > 1024 * 1024 and info.file_size > limits.compression_ratio * max(
                info.compress_size, 1
            ):
                raise AdvisoryError(
                    f"{path.name}: entry {info.filename[:80]!r} inflates more than "
                    f"{limits.compression_ratio}x (zip bomb?); archive refused"
                )
        if declared > limits.total_bytes:
            raise AdvisoryError(f"{path.name}: inflates to more than {limits.total_bytes} bytes; refused")
        total = 0
        for info in infos:
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            origin = f"{path.name}:{info.filename}"
            if info.file_size > limits.record_bytes:
                raise AdvisoryError(f"{origin}: larger than the limit for one record; archive refused")
            with archive.open(info) as handle:
                raw = _read_capped(handle, limits.record_bytes, origin)
            total += len(raw)
            if total > limits.total_bytes:
                raise AdvisoryError(f"{path.name}: inflates to more than {limits.total_bytes} bytes; refused")
            yield decode(raw, origin)


def _read_file(path: Path, cap: int) -> bytes:
    # O_NOFOLLOW: a symlink planted in an advisory folder must not pull in files from elsewhere.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise AdvisoryError(f"{path.name}: not a regular file")
        return _read_capped(handle, cap, path.name)


def iter_folder(path: Path, limits: Limits) -> Iterator[Document]:
    count = 0
    total = 0
    for root, dirs, files in os.walk(path, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.lower().endswith(".json"):
                continue
            file_path = Path(root) / name
            if file_path.is_symlink():
                continue
            count += 1
            if count > limits.entries:
                raise AdvisoryError(f"{path}: more than {limits.entries} JSON files; refused")
            raw = _read_file(file_path, limits.record_bytes)
            total += len(raw)
            if total > limits.total_bytes:
                raise AdvisoryError(f"{path}: more than {limits.total_bytes} bytes of JSON; refused")
            yield decode(raw, str(file_path.relative_to(path)))


def iter_json_file(path: Path, limits: Limits) -> Iterator[Document]:
    document = decode(_read_file(path, limits.single_file_bytes), path.name)
    if isinstance(document.data, list):
        if len(document.data) > limits.entries:
            raise AdvisoryError(f"{path.name}: more than {limits.entries} records; refused")
        for index, item in enumerate(document.data):
            yield Document(f"{path.name}[{index}]", data=item)
    else:
        yield document


def iter_documents(path: Path, limits: Limits | None = None) -> Iterator[Document]:
    """Every JSON document in ``path`` (zip, folder or JSON file), decoded under ``limits``."""
    limits = limits or Limits()
    if not path.exists():
        raise AdvisoryError(f"{path}: no such file or folder")
    if path.is_dir():
        return iter_folder(path, limits)
    if zipfile.is_zipfile(path):
        return iter_zip(path, limits)
    if path.suffix.lower() == ".json":
        return iter_json_file(path, limits)
    raise AdvisoryError(f"{path.name}: expected an OSV zip archive, a folder of JSON files or a .json file")
