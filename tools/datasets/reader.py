"""Reading public dataset files: plain or gzip-compressed, line by line with 1-based line numbers.

Every parse failure becomes a `DatasetFormatError` naming the file, the line and what was expected.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from tqdm import tqdm

from tools.errors import DatasetFormatError, DatasetNotFoundError
from tools.progress import progress_enabled

GZIP_SUFFIX = ".gz"


def find_file(folder: Path, name: str) -> Path | None:
    """`folder/name`, else `folder/name.gz`, else None."""
    for candidate in (folder / name, folder / (name + GZIP_SUFFIX)):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Location:
    """A folder a dataset may be read from, and the setting that points there."""

    folder: Path | None
    variable: str
    """The `LLMREC_*` variable a user sets to move this folder."""


def locate(domain: str, locations: Sequence[Location], names: Sequence[str]) -> dict[str, Path]:
    """The first location holding every file in `names` (plain or .gz); else a `DatasetNotFoundError`."""
    tried: list[str] = []
    for location in locations:
        if location.folder is None:
            tried.append(f"{location.variable} is not set")
            continue
        found = {name: find_file(location.folder, name) for name in names}
        if all(path is not None for path in found.values()):
            return {name: path for name, path in found.items() if path is not None}
        missing = ", ".join(name for name, path in found.items() if path is None)
        if location.folder.is_dir():
            tried.append(f"{location.folder} lacks {missing} (folder set by {location.variable})")
        else:
            tried.append(f"{location.folder} does not exist (set {location.variable})")
    raise DatasetNotFoundError(f"dataset {domain!r} not found: " + "; ".join(tried))


def file_digest(paths: Sequence[Path]) -> str:
    """sha256 over the names and bytes of `paths` (as stored: a .gz file is hashed compressed)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(GZIP_SUFFIX):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_bytes(path: Path) -> bytes:
    """The whole (decompressed) content of `path`."""
    try:
        with _open_binary(path) as fh:
            return fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetFormatError(path, None, "a complete gzip file", str(exc)) from exc


def read_json(path: Path) -> Any:
    """Parse a whole JSON file (plain or .gz)."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetFormatError(path, line, "UTF-8 text") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(path, exc.lineno, f"valid JSON ({exc.msg})") from exc


def iter_lines(path: Path, *, encoding: str = "utf-8", progress: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield `(line_number, line)` for the non-blank lines of `path`, line ends stripped.

    Lines are split at `\\n` only (a stray `\\r` inside a field stays); `\\r\\n` ends are accepted.
    Blank lines at the end of a file are ignored; a blank line before more data is an error,
    because it usually means a file was cut and pasted together.
    `progress` names a progress bar that appears only if reading takes more than a second.
    """
    line_no = 0
    blank_at: int | None = None
    try:
        with _open_binary(path) as fh:
            lines: Iterator[bytes] = iter(fh)
            if progress is not None and progress_enabled():
                lines = tqdm(fh, desc=progress, unit=" lines", delay=1.0, leave=False, disable=None)
            for line_no, raw in enumerate(lines, start=1):
                try:
                    line = raw.decode(encoding).rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise DatasetFormatError(path, line_no, f"{encoding} text", repr(raw[:80])) from exc
                if not line.strip():
                    blank_at = blank_at or line_no
                    continue
                if blank_at is not None:
                    raise DatasetFormatError(path, blank_at, "no blank lines between records", "an empty line")
                yield line_no, line
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetFormatError(path, line_no + 1, "a complete gzip file (truncated?)", str(exc)) from exc


def split_fields(path: Path, line_no: int, line: str, sep: str, names: Sequence[str]) -> list[str]:
    """Split `line` at `sep` into exactly `len(names)` fields, or raise naming the fields expected."""
    fields = line.split(sep)
    if len(fields) != len(names):
        sep_name = {"\t": "tab", ";": "semicolon", "|": "pipe", ",": "comma", " ": "space"}.get(sep, repr(sep))
        raise DatasetFormatError(path, line_no, f"{len(names)} {sep_name}-separated fields {', '.join(names)}", line)
    return fields


def parse_int(path: Path, line_no: int, value: str, what: str) -> int:
    """`int(value)`, or a `DatasetFormatError` saying which field should have been an integer."""
    try:
        return int(value)
    except ValueError as exc:
        raise DatasetFormatError(path, line_no, f"an integer {what}", value) from exc


def parse_int_list(path: Path, line_no: int, value: str, what: str) -> list[int]:
    """Space-separated integers."""
    try:
        return [int(x) for x in value.split()]
    except ValueError as exc:
        raise DatasetFormatError(path, line_no, f"space-separated integers ({what})", value) from exc


def expect_header(path: Path, lines: Iterator[tuple[int, str]], header: str) -> None:
    """Consume the first line and check it is exactly `header`."""
    first = next(lines, None)
    if first is None:
        raise DatasetFormatError(path, 1, f"header {header!r}", "an empty file")
    line_no, line = first
    if line.lstrip("\ufeff") != header:
        raise DatasetFormatError(path, line_no, f"header {header!r}", line)


def counted_list(path: Path, line_no: int, line: str, what: str) -> list[int]:
    """A line `n id id ...` (the CiteULike .dat form): check n matches the count and return the ids."""
    numbers = parse_int_list(path, line_no, line, f"a count then {what}")
    if not numbers:
        raise DatasetFormatError(path, line_no, f"a count then {what}", line)
    count, ids = numbers[0], numbers[1:]
    if count != len(ids):
        raise DatasetFormatError(path, line_no, f"{count} {what} as the leading count says", f"{len(ids)} ids")
    return ids
