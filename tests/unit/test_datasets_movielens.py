"""MovieLens 100K on synthetic files: latin-1 titles, genres, chronological split with ties by item id."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

GENRES = ["unknown", "Action", "Comedy"]
MOVIES = [
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1",
    "2|Cit\u00e9 des enfants perdus, La (1995)|01-Jan-1995||http://x|0|1|0",
    "3|unknown||||1|0|0",
    "4|Video Only (1995) (V)|01-Jan-1997||http://x|0|1|1",
]
RATINGS = [
    "7\t1\t5\t100",
    "7\t4\t3\t300",
    "7\t3\t4\t300",  # same second as item 4: the tie goes by item id, so 3 then 4
    "7\t2\t2\t200",
    "8\t1\t4\t50",
    "8\t2\t4\t10",
    "8\t4\t4\t30",
]


def load(tmp_path: Path, ratings: list[str] = RATINGS, movies: list[str] = MOVIES) -> Dataset:
    folder = tmp_path / "external" / "movielens-100k"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("\n".join(ratings) + "\n")
    (folder / "u.item").write_bytes(("\n".join(movies) + "\n").encode("latin-1"))
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)) + "\n")
    settings = DataSettings(
        data_dir=tmp_path / "cache",
        bundled_data_dir=tmp_path / "bundled",
        external_data_dir=tmp_path / "external",
    )
    return load_dataset("movielens", settings, use_cache=False)


def test_chronological_split_with_ties_by_item_id(tmp_path: Path) -> None:
    ds = load(tmp_path)
    seven, eight = ds.users
    assert seven.history == ("1", "2") and seven.valid == "3" and seven.test == "4"
    assert eight.history == ("2",) and eight.valid == "4" and eight.test == "1"
    assert ds.notes["test_items_with_timestamp_tie"] == 1


def test_movies(tmp_path: Path) -> None:
    ds = load(tmp_path)
    assert ds.items["2"].title == "Cit\u00e9 des enfants perdus, La (1995)"
    assert ds.items["1"].attributes["genres"] == ["Comedy"] and ds.items["1"].attributes["year"] == "1995"
    assert ds.items["4"].attributes["year"] == "1995"  # the title's year, not the video release's
    assert ds.items["3"].attributes["genres"] == []  # "unknown" is not a genre
    assert ds.notes["movies_without_genre"] == 1 and ds.notes["movies_without_year"] == 1


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        (
            ["7 1 5 100"],
            r"u\.data, line 1: expected 4 tab-separated fields user_id, item_id, rating, timestamp",
        ),
        (
            ["7\t1\t5\t100", "7\t99\t5\t100"],
            r"u\.data, line 2: expected an item_id listed in u\.item, found '99'",
        ),
        (["7\t1\t5\tnoon"], r"u\.data, line 1: expected an integer timestamp"),
        (["7\t1\t5\t1", "7\t2\t7\t1"], r"u\.data, line 2: expected a rating from 1 to 5"),
    ],
)
def test_malformed_ratings(tmp_path: Path, ratings: list[str], message: str) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        load(tmp_path, ratings)


def test_missing_genre_flags(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match=r"u\.item, line 2: expected 8 pipe-separated fields movie_id"):
        load(tmp_path, movies=[MOVIES[0], "2|Short (1995)|01-Jan-1995||http://x|0|1"])
