"""MovieLens 100K (Harper & Konstan 2015): 100,000 ratings of 1,682 movies by 943 users, with timestamps.

Files: `u.data` (`user<TAB>item<TAB>rating<TAB>unix_ts`), `u.item` (latin-1, `|`-separated:
id|title|release date|video release date|IMDb URL|19 genre flags) and `u.genre` (`name|index`).
The GroupLens licence forbids redistribution: read from `LLMREC_EXTERNAL_DATA_DIR/movielens-100k`,
never bundled. Split: per user by timestamp, ties broken by item id; last = test, the one before = valid.
The "unknown" genre flag (set only on movie 267, titled "unknown" with no date, and on 1373 "Good Morning
(1971)") is not listed as a genre. 415 users' last two ratings share a timestamp: their test item is the
larger item id, an arbitrary but fixed choice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from tools.catalog import Dataset, Item, UserHistory
from tools.datasets.reader import Location, iter_lines, parse_int, split_fields
from tools.datasets.spec import DatasetSpec
from tools.datasets.split import chronological_holdout
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

DOMAIN = "movielens"
RATINGS = "u.data"
MOVIES = "u.item"
GENRES = "u.genre"
FILES = (RATINGS, MOVIES, GENRES)

_RATING_FIELDS = ("user_id", "item_id", "rating", "timestamp")
_MOVIE_FIELDS = ("movie_id", "title", "release_date", "video_release_date", "imdb_url")
_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)")
_YEAR_IN_DATE = re.compile(r"(\d{4})$")
UNKNOWN_GENRE = "unknown"


def locations(settings: DataSettings) -> list[Location]:
    ext = settings.external_data_dir
    return [Location(ext / "movielens-100k" if ext else None, "LLMREC_EXTERNAL_DATA_DIR")]


def _read_genres(path: Path) -> list[str]:
    by_index: dict[int, str] = {}
    for line_no, line in iter_lines(path, encoding="latin-1"):
        name, index = split_fields(path, line_no, line, "|", ("genre", "index"))
        by_index[parse_int(path, line_no, index, "genre index")] = name
    if sorted(by_index) != list(range(len(by_index))):
        raise DatasetFormatError(path, None, f"genre indexes 0..{len(by_index) - 1} without gaps")
    return [by_index[i] for i in range(len(by_index))]


def _read_movies(path: Path, genres: list[str]) -> dict[str, Item]:
    fields = (*_MOVIE_FIELDS, *(f"genre flag {g}" for g in genres))
    items: dict[str, Item] = {}
    for line_no, line in iter_lines(path, encoding="latin-1"):
        movie_id, title, release, _, _, *flags = split_fields(path, line_no, line, "|", fields)
        parse_int(path, line_no, movie_id, "movie_id")
        if movie_id in items:
            raise DatasetFormatError(path, line_no, "each movie_id once", movie_id)
        if any(flag not in ("0", "1") for flag in flags):
            raise DatasetFormatError(path, line_no, f"{len(genres)} genre flags of 0 or 1", "|".join(flags))
        movie_genres = [g for g, flag in zip(genres, flags, strict=True) if flag == "1" and g != UNKNOWN_GENRE]
        years = _YEAR_IN_TITLE.findall(title) or _YEAR_IN_DATE.findall(release)
        attributes: dict[str, str | list[str]] = {"genres": movie_genres}
        if years:
            attributes["year"] = years[-1]
        if release:
            attributes["release_date"] = release
        text = title + (". Genres: " + ", ".join(movie_genres) + "." if movie_genres else "")
        items[movie_id] = Item(movie_id, title, text, attributes, DOMAIN)
    return items


def parse(paths: Mapping[str, Path], seed: int) -> Dataset:
    del seed  # the split follows the timestamps
    genres = _read_genres(paths[GENRES])
    items = _read_movies(paths[MOVIES], genres)
    path = paths[RATINGS]
    events: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    duplicates = rows = 0
    for line_no, line in iter_lines(path, progress=path.name):
        user, item, rating, timestamp = split_fields(path, line_no, line, "\t", _RATING_FIELDS)
        parse_int(path, line_no, user, "user_id")
        if not 1 <= parse_int(path, line_no, rating, "rating") <= 5:
            raise DatasetFormatError(path, line_no, "a rating from 1 to 5", rating)
        ts = parse_int(path, line_no, timestamp, "timestamp")
        if item not in items:
            raise DatasetFormatError(path, line_no, f"an item_id listed in {MOVIES}", item)
        rows += 1
        if (user, item) in seen:
            duplicates += 1
            continue
        seen.add((user, item))
        events[user].append((ts, int(item), item))

    users: list[UserHistory] = []
    dropped = 0
    for user in sorted(events, key=int):
        ordered = [item for _, _, item in sorted(events[user])]
        if len(ordered) < 3:
            dropped += 1
            continue
        users.append(chronological_holdout(user, ordered))
    timestamps = [ts for evs in events.values() for ts, _, _ in evs]
    notes: dict[str, int | str] = {
        "ratings": rows,
        "duplicate_user_item_rows_skipped": duplicates,
        "users_dropped_under_3_ratings": dropped,
        "movies_without_genre": sum(1 for i in items.values() if not i.attributes["genres"]),
        "movies_without_year": sum(1 for i in items.values() if "year" not in i.attributes),
        "test_items_with_timestamp_tie": sum(
            1 for evs in events.values() if len(evs) > 1 and sorted(evs)[-1][0] == sorted(evs)[-2][0]
        ),
        "first_rating_unix": min(timestamps, default=0),
        "last_rating_unix": max(timestamps, default=0),
        "split": "chronological per user, ties by item id",
    }
    return Dataset(domain=DOMAIN, items=items, users=users, notes=notes)


SPEC = DatasetSpec(
    domain=DOMAIN,
    version=1,
    files=FILES,
    locations=locations,
    parse=parse,
    description="MovieLens 100K, chronological leave-one-out (external)",
)
