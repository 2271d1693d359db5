"""The shared line reader: gz and plain read alike, and every malformed input names file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tools.datasets.reader import (
    Location,
    counted_list,
    expect_header,
    file_digest,
    find_file,
    iter_lines,
    locate,
    read_json,
    split_fields,
)
from tools.errors import DatasetFormatError, DatasetNotFoundError


def write_gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0))
    return path


def test_plain_and_gz_read_identically(tmp_path: Path) -> None:
    data = "a\tb\r\nc\td\n\u00e9\tf".encode()
    plain = tmp_path / "x.tsv"
    plain.write_bytes(data)
    packed = write_gz(tmp_path / "y.tsv.gz", data)
    assert list(iter_lines(plain)) == list(iter_lines(packed)) == [(1, "a\tb"), (2, "c\td"), (3, "\u00e9\tf")]


def test_find_file_prefers_plain_then_gz(tmp_path: Path) -> None:
    assert find_file(tmp_path, "a.txt") is None
    write_gz(tmp_path / "a.txt.gz", b"x")
    assert find_file(tmp_path, "a.txt") == tmp_path / "a.txt.gz"
    (tmp_path / "a.txt").write_text("x")
    assert find_file(tmp_path, "a.txt") == tmp_path / "a.txt"


def test_trailing_blank_lines_are_ignored_but_inner_ones_are_errors(tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_text("a\nb\n\n\n")
    assert [line for _, line in iter_lines(ok)] == ["a", "b"]
    bad = tmp_path / "bad.txt"
    bad.write_text("a\n\nb\n")
    with pytest.raises(DatasetFormatError, match=r"bad\.txt, line 2: expected no blank lines"):
        list(iter_lines(bad))


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(f"row {i}\n".encode() for i in range(5000)), mtime=0)
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetFormatError, match=r"cut\.txt\.gz, line \d+: expected a complete gzip file"):
        list(iter_lines(cut))


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(DatasetFormatError, match=r"latin\.txt, line 2: expected utf-8 text"):
        list(iter_lines(path))
    assert [line for _, line in iter_lines(path, encoding="latin-1")] == ["ok", "caf\u00e9"]


def test_split_fields_says_which_fields(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    with pytest.raises(DatasetFormatError) as info:
        split_fields(path, 7, "1,2,3", "\t", ("user_id", "item_id_list", "item_id"))
    message = str(info.value)
    assert "f.tsv, line 7" in message
    assert "expected 3 tab-separated fields user_id, item_id_list, item_id" in message
    assert "'1,2,3'" in message


def test_header_checks(tmp_path: Path) -> None:
    path = tmp_path / "h.tsv"
    with pytest.raises(DatasetFormatError, match="line 1: expected header 'a\\\\tb', found 'an empty file'"):
        expect_header(path, iter([]), "a\tb")
    with pytest.raises(DatasetFormatError, match="line 1: expected header"):
        expect_header(path, iter([(1, "a b")]), "a\tb")
    expect_header(path, iter([(1, "\ufeffa\tb")]), "a\tb")  # a byte-order mark is fine


def test_counted_list_checks_the_count(tmp_path: Path) -> None:
    path = tmp_path / "users.dat"
    assert counted_list(path, 1, "3 4 5 6", "ids") == [4, 5, 6]
    assert counted_list(path, 1, "0", "ids") == []
    with pytest.raises(DatasetFormatError, match=r"users\.dat, line 4: expected 3 ids as the leading count says"):
        counted_list(path, 4, "3 4 5", "ids")
    with pytest.raises(DatasetFormatError, match="line 2: expected space-separated integers"):
        counted_list(path, 2, "2 4 x", "ids")


def test_read_json_reports_the_line(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "e.json.gz", b'{\n"a": 1,\n"b": }\n')
    with pytest.raises(DatasetFormatError, match=r"e\.json\.gz, line 3: expected valid JSON"):
        read_json(path)


def test_locate_says_where_it_looked_and_what_to_set(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.txt").write_text("x")
    locations = [
        Location(tmp_path / "one", "LLMREC_BUNDLED_DATA_DIR"),
        Location(tmp_path / "two", "LLMREC_EXTERNAL_DATA_DIR"),
        Location(None, "LLMREC_OTHER"),
    ]
    with pytest.raises(DatasetNotFoundError) as info:
        locate("demo", locations, ["a.txt", "b.txt"])
    message = str(info.value)
    assert "lacks b.txt" in message and "LLMREC_BUNDLED_DATA_DIR" in message
    assert f"{tmp_path / 'two'} does not exist (set LLMREC_EXTERNAL_DATA_DIR)" in message
    assert "LLMREC_OTHER is not set" in message
    (tmp_path / "two").mkdir()
    write_gz(tmp_path / "two" / "a.txt.gz", b"x")
    write_gz(tmp_path / "two" / "b.txt.gz", b"y")
    assert locate("demo", locations, ["a.txt", "b.txt"]) == {
        "a.txt": tmp_path / "two" / "a.txt.gz",
        "b.txt": tmp_path / "two" / "b.txt.gz",
    }


def test_file_digest_follows_bytes(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_bytes(b"1")
    first = file_digest([a])
    assert file_digest([a]) == first
    a.write_bytes(b"2")
    assert file_digest([a]) != first
