"""CiteULike-a on synthetic files: counted lines, citations, the CDL-subset id mapping, the seeded split."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.errors import DatasetFormatError, DatasetNotFoundError
from tools.settings import DataSettings

WORDS = ["alpha", "bravo", "charlie", "delta", "echoes", "foxtrot", "golf", "hotel"]
# The subset holds papers 1, 3, 4, 6, 7 as doc ids 0..4; its libraries name each paper p as p + 1,
# the off-by-one of the real cdl-subset. Doc 4 is in no library: the order pins it to paper 7.
SUBSET_PAPERS = [1, 3, 4, 6, 7]
LIBRARIES = [[2, 4, 5], [2, 5, 7], [0, 1, 3, 6], [1, 2]]
SUBSET_LIBRARIES = [[0, 1, 2], [0, 2, 3]]


def counted(rows: list[list[int]]) -> str:
    return "\n".join(" ".join(map(str, [len(r), *r])) for r in rows)  # no final newline, as in citeulike-a


def citeulike_files(libraries: list[list[int]] = LIBRARIES) -> dict[str, str]:
    item_tags = [[] if i == 0 else [i] for i in range(len(WORDS))]  # tag i is WORDS[i]
    citations = [[1, 0], [0], [3], [2]] + [[] for _ in range(4)]  # paper 0 lists itself
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(["doc.id", "title", "citeulike.id", "raw.title", "raw.abstract"])
    for s, p in enumerate(SUBSET_PAPERS):
        title = f"On {WORDS[p].title()} networks"
        writer.writerow([s, title.lower(), 100 + p, title, f'We study {WORDS[p]}, with commas, and "quotes".'])
    return {
        "users.dat": counted(libraries),
        "item-tag.dat": counted(item_tags),
        "tags.dat": "\n".join(WORDS),
        "citations.dat": counted(citations),
        "cdl-subset/raw-data.csv": out.getvalue(),
        "cdl-subset/users.dat": counted(SUBSET_LIBRARIES),
    }


def load(tmp_path: Path, files: dict[str, str], seed: int = 2026) -> Dataset:
    for name, content in files.items():
        path = tmp_path / "external" / "citeulike" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    settings = DataSettings(
        data_dir=tmp_path / "cache",
        bundled_data_dir=tmp_path / "bundled",
        external_data_dir=tmp_path / "external",
        seed=seed,
    )
    return load_dataset("citeulike", settings, use_cache=False)


def test_items_users_and_counts(tmp_path: Path) -> None:
    ds = load(tmp_path, citeulike_files())
    assert len(ds.items) == 8
    assert [u.user_id for u in ds.users] == ["0", "1", "2"]
    assert ds.notes["users_dropped_under_3_papers"] == 1
    assert ds.notes["library_entries"] == 12
    assert ds.notes["citation_adjacency_entries"] == 5
    assert ds.notes["citation_links"] == 2 and ds.notes["citation_self_links_skipped"] == 1
    assert ds.items["0"].attributes["citations"] == ["1"]
    assert ds.items["0"].title == "CiteULike paper 0" and ds.items["0"].attributes["tags"] == []
    assert ds.items["2"].title == "CiteULike paper 2: charlie"


def test_cdl_subset_maps_with_the_off_by_one(tmp_path: Path) -> None:
    ds = load(tmp_path, citeulike_files())
    for p in SUBSET_PAPERS:
        assert ds.items[str(p)].title == f"On {WORDS[p].title()} networks"
        assert ds.items[str(p)].attributes["citeulike_id"] == str(100 + p)
        assert '"quotes"' in ds.items[str(p)].text
    assert ds.notes["cdl_id_shift"] == -1
    assert ds.notes["cdl_papers_mapped_via_libraries"] == 4 and ds.notes["cdl_papers_mapped_by_order"] == 1


def test_unconfirmed_mapping_is_an_error(tmp_path: Path) -> None:
    files = citeulike_files()
    files["tags.dat"] = "\n".join(f"tag{'x' * i}" for i in range(len(WORDS)))  # no tag matches any title
    with pytest.raises(DatasetFormatError, match=r"users\.dat: expected libraries whose papers' tags confirm"):
        load(tmp_path, files)


def test_subset_library_size_mismatch(tmp_path: Path) -> None:
    files = citeulike_files()
    files["cdl-subset/users.dat"] = counted([[0, 1, 2], [0, 2]])
    with pytest.raises(DatasetFormatError, match=r"cdl-subset/users\.dat, line 2: expected the same library size"):
        load(tmp_path, files)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "users.dat",
            "3 2 4 5\n2 2 5 7\n4 0 1 3 6\n2 1 2",
            r"users\.dat, line 2: expected 2 paper ids as the leading",
        ),
        (
            "users.dat",
            "3 2 4 5\n3 2 5 99\n4 0 1 3 6\n2 1 2",
            r"users\.dat, line 2: expected paper ids from 0 to 7",
        ),
        (
            "users.dat",
            "3 2 4 5\n3 2 5 5\n4 0 1 3 6\n2 1 2",
            r"users\.dat, line 2: expected distinct paper ids",
        ),
        ("item-tag.dat", "0\n1 1\n1 x", r"item-tag\.dat, line 3: expected space-separated integers"),
        ("citations.dat", "1 1\n1 0", r"citations\.dat: expected 8 lines, one per paper"),
    ],
)
def test_malformed_dat_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    files = citeulike_files()
    files[name] = content
    with pytest.raises(DatasetFormatError, match=message):
        load(tmp_path, files)


def test_split_is_seeded(tmp_path: Path) -> None:
    a = load(tmp_path / "a", citeulike_files(), seed=1)
    b = load(tmp_path / "b", citeulike_files(), seed=1)
    assert a.users == b.users
    assert {tuple(load(tmp_path / f"s{s}", citeulike_files(), seed=s).users) for s in range(8)} != {tuple(a.users)}
    for user, library in zip(a.users, LIBRARIES, strict=False):
        assert sorted(user.all_items) == sorted(str(x) for x in library)


def test_never_read_from_the_bundled_folder(tmp_path: Path) -> None:
    settings = DataSettings(data_dir=tmp_path / "c", bundled_data_dir=tmp_path / "b", external_data_dir=None)
    with pytest.raises(DatasetNotFoundError, match="LLMREC_EXTERNAL_DATA_DIR is not set"):
        load_dataset("citeulike", settings)
