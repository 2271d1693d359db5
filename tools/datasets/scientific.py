"""Amazon Reviews 2018 "Industrial_and_Scientific" (the paper's Scientific domain), RecBole atomic files.

Files: `Scientific.text` (ASIN -> "Title. Category path. Brand. "), `Scientific.item2index` and
`Scientific.user2index` (ASIN / reviewer id -> integer), and `Scientific.{train,valid,test}.inter`
(`user  history  target`, integer ids, chronological leave-one-out).

The published split keeps at most 50 history items per row (RecBole's MAX_ITEM_LIST_LENGTH). For the
3 users with longer sequences the valid/test rows are cut, so the full history is rebuilt from the
prefix rows of `train.inter`, each of which is checked against it.

Splitting the text: sentences are separated by ". ", but titles and brands can contain ". " too
("Mr. Heater", "2 in. x 60 yds."). Every category path starts with the root category
"Industrial & Scientific", so the text splits at that marker: title before it, path up to the next
". ", brand after. 134 items have an empty category ("Title. . Brand. "), handled the same way.
A text matching neither shape keeps its whole text as title (counted in notes).

Repeat purchases stay in the sequence as they are in the files (243 users have one), so a held-out item
can also appear in the user's history.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from tools.catalog import Dataset, Item, UserHistory
from tools.datasets.reader import (
    Location,
    expect_header,
    iter_lines,
    parse_int,
    parse_int_list,
    split_fields,
)
from tools.datasets.spec import DatasetSpec
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

DOMAIN = "scientific"
TEXT = "Scientific.text"
ITEM_INDEX = "Scientific.item2index"
USER_INDEX = "Scientific.user2index"
TRAIN = "Scientific.train.inter"
VALID = "Scientific.valid.inter"
TEST = "Scientific.test.inter"
FILES = (TEXT, ITEM_INDEX, USER_INDEX, TRAIN, VALID, TEST)

MAX_HISTORY = 50
ROOT_CATEGORY = "Industrial & Scientific"
_TEXT_SHAPE = re.compile(
    r"^(?P<title>.*?)\. (?P<category>" + re.escape(ROOT_CATEGORY) + r"(?:(?!\. ).)*|)\. (?P<brand>.*?)\.?$"
)
_INTER_HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token"
_INTER_FIELDS = ("user_id", "item_id_list", "item_id")


def locations(settings: DataSettings) -> list[Location]:
    ext = settings.external_data_dir
    return [
        Location(settings.bundled_data_dir / DOMAIN, "LLMREC_BUNDLED_DATA_DIR"),
        Location(ext / "amazon-scientific-2018" if ext else None, "LLMREC_EXTERNAL_DATA_DIR"),
    ]


def split_text(text: str) -> tuple[str, str, str] | None:
    """`(title, category_path, brand)` of a "Title. Category path. Brand. " text, or None."""
    match = _TEXT_SHAPE.match(text.strip())
    if match is None:
        return None
    return match["title"].strip(), match["category"].strip(), match["brand"].strip()


def _read_index(path: Path, what: str) -> list[str]:
    """An `id<TAB>int` map whose integers must be exactly 0..n-1; returns the ids by integer."""
    by_index: dict[int, str] = {}
    seen: set[str] = set()
    for line_no, line in iter_lines(path):
        key, value = split_fields(path, line_no, line, "\t", (what, "index"))
        index = parse_int(path, line_no, value, "index")
        if key in seen or index in by_index:
            raise DatasetFormatError(path, line_no, f"each {what} and each index once", line)
        seen.add(key)
        by_index[index] = key
    if sorted(by_index) != list(range(len(by_index))):
        raise DatasetFormatError(path, None, f"indexes 0..{len(by_index) - 1} without gaps")
    return [by_index[i] for i in range(len(by_index))]


def _read_items(path: Path, asins: set[str], notes: dict[str, int]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    lines = iter_lines(path)
    expect_header(path, lines, "item_id:token\ttext:token_seq")
    for line_no, line in lines:
        asin, text = split_fields(path, line_no, line, "\t", ("item_id", "text"))
        if asin not in asins:
            raise DatasetFormatError(path, line_no, f"an item_id listed in {ITEM_INDEX}", asin)
        if asin in items:
            raise DatasetFormatError(path, line_no, "each item_id once", asin)
        parts = split_text(text)
        attributes: dict[str, str] = {}
        if parts is None:
            notes["texts_not_split"] += 1
            title = text.strip().rstrip(".")
        else:
            title, category, brand = parts
            # Every path starts with the same root: dropping it keeps prompts short and loses nothing.
            category = category.removeprefix(ROOT_CATEGORY).strip()
            if category:
                attributes["category"] = category
            else:
                notes["items_without_category"] += 1
            if brand:
                attributes["brand"] = brand
            else:
                notes["items_without_brand"] += 1
        items[asin] = Item(asin, title or asin, text.strip(), attributes, DOMAIN)
    return items


def _read_inter(path: Path, n_users: int, n_items: int) -> list[tuple[int, int, list[int], int]]:
    """Rows `(line_no, user, history, target)` with every id range-checked."""
    rows = []
    lines = iter_lines(path, progress=path.name)
    expect_header(path, lines, _INTER_HEADER)
    for line_no, line in lines:
        user_s, hist_s, target_s = split_fields(path, line_no, line, "\t", _INTER_FIELDS)
        user = parse_int(path, line_no, user_s, "user_id")
        history = parse_int_list(path, line_no, hist_s, "item_id_list")
        target = parse_int(path, line_no, target_s, "item_id")
        if not 0 <= user < n_users:
            raise DatasetFormatError(path, line_no, f"a user_id in {USER_INDEX} (0..{n_users - 1})", user_s)
        if not history or len(history) > MAX_HISTORY:
            raise DatasetFormatError(path, line_no, f"1 to {MAX_HISTORY} history items", hist_s)
        for item in (*history, target):
            if not 0 <= item < n_items:
                raise DatasetFormatError(path, line_no, f"item ids in {ITEM_INDEX} (0..{n_items - 1})", str(item))
        rows.append((line_no, user, history, target))
    return rows


def _one_row_per_user(
    path: Path, rows: list[tuple[int, int, list[int], int]], n_users: int
) -> dict[int, tuple[int, list[int], int]]:
    by_user: dict[int, tuple[int, list[int], int]] = {}
    for line_no, user, history, target in rows:
        if user in by_user:
            raise DatasetFormatError(path, line_no, "one row per user", f"a second row for user {user}")
        by_user[user] = (line_no, history, target)
    if len(by_user) != n_users:
        missing = next(u for u in range(n_users) if u not in by_user)
        raise DatasetFormatError(path, None, f"a row for each of the {n_users} users", f"none for user {missing}")
    return by_user


def _rebuild_sequence(
    path: Path, user: int, rows: list[tuple[int, list[int], int]], valid_history: list[int]
) -> list[int]:
    """The user's full sequence before the valid target, chained from the prefix rows of `train.inter`.

    Row k has history `seq[:k][-50:]` and target `seq[k]`; the rows are chained by their histories,
    so their order in the file does not matter. Every row must be used exactly once.
    """
    if not rows:
        if len(valid_history) != 1:
            raise DatasetFormatError(path, None, f"prefix rows for user {user}", "none")
        return list(valid_history)
    pending: dict[tuple[int, ...], list[tuple[int, int]]] = defaultdict(list)
    for line_no, history, target in rows:
        pending[tuple(history)].append((line_no, target))
    starts = [h for h in pending if len(h) == 1]
    if len(starts) != 1:
        raise DatasetFormatError(path, rows[0][0], f"exactly one row with a 1-item history for user {user}")
    sequence = list(starts[0])
    for _ in range(len(rows)):
        window = tuple(sequence[-MAX_HISTORY:])
        queue = pending.get(window)
        if not queue:
            line_no = min(ln for q in pending.values() for ln, _ in q)
            raise DatasetFormatError(path, line_no, f"rows that chain into one sequence for user {user}")
        sequence.append(queue.pop(0)[1])
        if not queue:
            del pending[window]
    if sequence[-MAX_HISTORY:] != valid_history:
        raise DatasetFormatError(
            path, rows[0][0], f"prefix rows of user {user} that end in the valid.inter history", str(sequence)
        )
    return sequence


def parse(paths: Mapping[str, Path], seed: int) -> Dataset:
    del seed  # the split is given by the files
    notes: dict[str, int] = dict.fromkeys(
        (
            "items_without_category",
            "items_without_brand",
            "texts_not_split",
            "train_rows_checked",
            "histories_rebuilt_beyond_50_from_train",
            "users_with_repeat_purchases",
        ),
        0,
    )
    asins = _read_index(paths[ITEM_INDEX], "item_id")
    reviewers = _read_index(paths[USER_INDEX], "user_id")
    items = _read_items(paths[TEXT], set(asins), notes)
    if len(items) != len(asins):
        missing = next(a for a in asins if a not in items)
        raise DatasetFormatError(paths[TEXT], None, f"a text for every item in {ITEM_INDEX}", f"none for {missing}")

    n_users, n_items = len(reviewers), len(asins)
    valid = _one_row_per_user(paths[VALID], _read_inter(paths[VALID], n_users, n_items), n_users)
    test = _one_row_per_user(paths[TEST], _read_inter(paths[TEST], n_users, n_items), n_users)
    train_rows: dict[int, list[tuple[int, list[int], int]]] = defaultdict(list)
    for line_no, user, history, target in _read_inter(paths[TRAIN], n_users, n_items):
        train_rows[user].append((line_no, history, target))
        notes["train_rows_checked"] += 1

    users = []
    for user in range(n_users):
        _, valid_history, valid_target = valid[user]
        test_line, test_history, test_target = test[user]
        if test_history != [*valid_history, valid_target][-MAX_HISTORY:]:
            raise DatasetFormatError(
                paths[TEST],
                test_line,
                "a history equal to the valid.inter history + valid target",
                str(test_history),
            )
        sequence = _rebuild_sequence(paths[TRAIN], user, train_rows.pop(user, []), valid_history)
        if len(sequence) > MAX_HISTORY:
            notes["histories_rebuilt_beyond_50_from_train"] += 1
        if len({*sequence, valid_target, test_target}) < len(sequence) + 2:
            notes["users_with_repeat_purchases"] += 1
        users.append(
            UserHistory(
                user_id=reviewers[user],
                history=tuple(asins[i] for i in sequence),
                valid=asins[valid_target],
                test=asins[test_target],
            )
        )
    return Dataset(domain=DOMAIN, items=items, users=users, notes=dict(notes))


SPEC = DatasetSpec(
    domain=DOMAIN,
    version=2,
    files=FILES,
    locations=locations,
    parse=parse,
    description="Amazon 2018 Industrial & Scientific, chronological leave-one-out (bundled)",
)
