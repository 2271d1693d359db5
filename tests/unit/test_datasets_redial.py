"""ReDial on synthetic files: DBpedia title parsing, years from the dialogues, turns and their checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.datasets.redial import parse_dbpedia_uri
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

R = "<http://dbpedia.org/resource/"
ENTITIES = {
    f"{R}Police_Academy_(film)>": 10,
    f"{R}Police_Academy_2:_Their_First_Assignment>": 11,
    f"{R}Super_Troopers>": 12,
    f"{R}Halloween_(1978_film)>": 13,
    f"{R}Israel>": 14,
    f"{R}What_About_Bob%3F>": 15,
}
ITEMS = [10, 11, 12, 13, 15]


def turn(dialog: str, turn_id: int, context: list[str], rec: list[int], **extra: object) -> str:
    row = {
        "context": ["", *context],
        "resp": "",
        "rec": rec,
        "entity": extra.pop("entity", rec),
        "prev_entity": extra.pop("prev_entity", []),
        "dialog_id": dialog,
        "turn_id": turn_id,
        "is_user": 0,
        "entity_name": extra.pop("entity_name", []),
    }
    return json.dumps(row | extra)


TURNS = [
    turn(
        "d1",
        1,
        ["Hi, I loved Super Troopers (2001)"],
        [10],
        entity=[10, 14],
        prev_entity=[12],
        entity_name=["You", "Police Academy (1984)"],
    ),
    turn(
        "d1",
        2,
        ["Hi", "You should watch Police Academy (1984)", "Seen it"],
        [11, 13],
        prev_entity=[12, 10, 14],
        entity_name=["Police Academy 2: Their First Assignment (1985)", "Halloween (2018)"],
    ),
    turn("d2", 1, [], [15]),
]


def load(tmp_path: Path, turns: list[str] = TURNS, items: object = ITEMS) -> Dataset:
    folder = tmp_path / "bundled" / "redial"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "entity2id.json").write_text(json.dumps(ENTITIES))
    (folder / "item_ids.json").write_text(json.dumps(items))
    (folder / "test.jsonl").write_text("\n".join(turns) + "\n")
    settings = DataSettings(data_dir=tmp_path / "cache", bundled_data_dir=tmp_path / "bundled", external_data_dir=None)
    return load_dataset("redial", settings, use_cache=False)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"{R}Police_Academy_(film)>", ("Police Academy", None, "film")),
        (f"{R}Water_(1985_film)>", ("Water", "1985", "1985 film")),
        (f"{R}Dave_(2001_American_film)>", ("Dave", "2001", "2001 American film")),
        (f"{R}Shall_We_Dance%3F_(1996_film)>", ("Shall We Dance?", "1996", "1996 film")),
        (f"{R}48_Hrs.>", ("48 Hrs.", None, None)),
        (f"{R}Tully_(village),_New_York>", ("Tully (village), New York", None, None)),
        (f"{R}It_(novel)>", ("It", None, "novel")),
    ],
)
def test_parse_dbpedia_uri(uri: str, expected: tuple[str, str | None, str | None]) -> None:
    assert parse_dbpedia_uri(uri) == expected


def test_items_titles_and_years(tmp_path: Path) -> None:
    ds = load(tmp_path)
    assert sorted(ds.items, key=int) == ["10", "11", "12", "13", "15"]
    assert ds.items["10"].title == "Police Academy (1984)"  # year from the turn's entity_name
    assert ds.items["10"].attributes["dbpedia_kind"] == "film"
    assert ds.items["11"].title == "Police Academy 2: Their First Assignment (1985)"
    assert ds.items["12"].title == "Super Troopers (2001)"  # from "<name> (year)" in the context
    assert ds.items["13"].title == "Halloween (1978)"  # the URI's year beats a mention of the remake
    assert ds.items["15"].title == "What About Bob?"
    assert ds.notes["items_uri_year_differs_from_a_mention"] == 1
    assert ds.notes["items_year_from_dialogues"] == 3


def test_turns(tmp_path: Path) -> None:
    ds = load(tmp_path)
    assert len(ds.turns) == 3 and not ds.users
    first, second, third = ds.turns
    assert first.context == ("Hi, I loved Super Troopers (2001)",)  # the empty leading utterance is dropped
    assert first.gold == ("10",) and first.mentioned == ("12",)
    assert second.gold == ("11", "13") and second.mentioned == ("12", "10")
    assert third.context == ()
    assert ds.notes["context_entities_not_items"] == 1  # Israel


def test_gold_outside_the_catalog_is_counted(tmp_path: Path) -> None:
    ds = load(tmp_path, [*TURNS, turn("d3", 1, ["x"], [14, 10])])
    assert ds.turns[-1].gold == ("10",)
    assert ds.notes["gold_ids_not_recommendable_skipped"] == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"context": [""], "rec": [1]', r"test\.jsonl, line 2: expected one JSON object per line"),
        ('{"context": [""], "rec": [10], "turn_id": 5}', r"test\.jsonl, line 2: expected a JSON object with"),
        (turn("d9", 9, [], [999]), r"test\.jsonl, line 2: expected entity ids present in entity2id\.json"),
        (turn("d9", 9, [], ["10"]), r"test\.jsonl, line 2: expected 'rec' as a list of integer entity ids"),
        (turn("d1", 1, [], [10]), r"test\.jsonl, line 2: expected each \(dialog_id, turn_id\) once"),
    ],
)
def test_malformed_turns_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        load(tmp_path, [TURNS[0], line])


def test_unknown_item_ids_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match=r"item_ids\.json: expected entity ids present in entity2id"):
        load(tmp_path, items=[10, 77])
