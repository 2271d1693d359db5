"""Scientific (RecBole atomic files) on small synthetic copies: parsing, text splitting, malformed input."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.datasets.scientific import MAX_HISTORY, split_text
from tools.errors import DatasetFormatError, DatasetNotFoundError
from tools.settings import DataSettings

HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token"


def scientific_files(sequences: dict[str, list[str]]) -> dict[str, str]:
    """The six files for users' full chronological sequences (history, valid target, test target)."""
    asins = sorted({a for seq in sequences.values() for a in seq})
    index = {a: i for i, a in enumerate(asins)}
    users = list(sequences)
    text = ["item_id:token\ttext:token_seq"] + [
        f"{a}\tWidget {a}. Industrial & Scientific Lab Supplies. Acme. " for a in asins
    ]
    train, valid, test = [HEADER], [HEADER], [HEADER]
    for u, user in enumerate(users):
        seq = [index[a] for a in sequences[user]]

        def row(k: int, u: int = u, seq: list[int] = seq) -> str:
            return f"{u}\t{' '.join(map(str, seq[:k][-MAX_HISTORY:]))}\t{seq[k]}"

        train += [row(k) for k in range(len(seq) - 3, 0, -1)]  # longest prefix first, as in the original
        valid.append(row(len(seq) - 2))
        test.append(row(len(seq) - 1))
    return {
        "Scientific.item2index": "".join(f"{a}\t{i}\n" for a, i in index.items()),
        "Scientific.user2index": "".join(f"{user}\t{u}\n" for u, user in enumerate(users)),
        "Scientific.text": "\n".join(text) + "\n",
        "Scientific.train.inter": "\n".join(train) + "\n",
        "Scientific.valid.inter": "\n".join(valid) + "\n",
        "Scientific.test.inter": "\n".join(test) + "\n",
    }


def write_files(folder: Path, files: dict[str, str], gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content.encode(), mtime=0))
        else:
            (folder / name).write_text(content, encoding="utf-8")


def settings_for(tmp_path: Path, seed: int = 2026) -> DataSettings:
    return DataSettings(
        data_dir=tmp_path / "cache",
        bundled_data_dir=tmp_path / "bundled",
        external_data_dir=tmp_path / "external",
        seed=seed,
    )


SEQUENCES = {
    "U1": ["A1", "A2", "A3", "A4", "A5"],
    "U2": ["A2", "A2", "A6", "A3", "A1", "A4"],  # a repeat purchase
    "U3": [f"B{i:03d}" for i in range(60)],  # longer than the 50 items a row keeps
}


def load(tmp_path: Path, files: dict[str, str], gz: bool = False) -> Dataset:
    write_files(tmp_path / "bundled" / "scientific", files, gz)
    return load_dataset("scientific", settings_for(tmp_path), use_cache=False)


@pytest.mark.parametrize("gz", [False, True])
def test_parses_histories_and_items(tmp_path: Path, gz: bool) -> None:
    ds = load(tmp_path, scientific_files(SEQUENCES), gz)
    users = {u.user_id: u for u in ds.users}
    assert users["U1"].history == ("A1", "A2", "A3") and users["U1"].valid == "A4" and users["U1"].test == "A5"
    assert users["U2"].history == ("A2", "A2", "A6", "A3")
    # Rebuilt in full from train.inter although valid/test rows hold only the last 50 items.
    assert users["U3"].history == tuple(SEQUENCES["U3"][:58])
    assert ds.notes["histories_rebuilt_beyond_50_from_train"] == 1
    assert ds.notes["users_with_repeat_purchases"] == 1
    item = ds.items["A1"]
    assert item.title == "Widget A1"
    assert item.attributes == {"category": "Lab Supplies", "brand": "Acme"}


def test_gz_and_plain_give_equal_datasets(tmp_path: Path) -> None:
    files = scientific_files(SEQUENCES)
    assert load(tmp_path / "a", files, gz=False) == load(tmp_path / "b", files, gz=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Heater Connector Kit 3/8. Industrial & Scientific Hydraulics Fittings. Mr. Heater. ",
            ("Mr. Heater Connector Kit 3/8", "Industrial & Scientific Hydraulics Fittings", "Mr. Heater"),
        ),
        (
            "Duct Tape: 2 in. x 60 yds. (Black). Industrial & Scientific Tapes. Nashua. ",
            ("Duct Tape: 2 in. x 60 yds. (Black)", "Industrial & Scientific Tapes", "Nashua"),
        ),
        (
            "Ideal 2006S Crimp Connector (Pack of 100). . Ideal. ",
            ("Ideal 2006S Crimp Connector (Pack of 100)", "", "Ideal"),
        ),
        ("Protective Eyewear, Clear. . . ", ("Protective Eyewear, Clear", "", "")),
        (
            "Screws. Industrial & Scientific Fasteners Screws. C. B. Gitty. ",
            ("Screws", "Industrial & Scientific Fasteners Screws", "C. B. Gitty"),
        ),
        ("no structure at all", None),
    ],
)
def test_split_text(text: str, expected: tuple[str, str, str] | None) -> None:
    assert split_text(text) == expected


def test_unsplittable_text_keeps_whole_text_as_title(tmp_path: Path) -> None:
    files = scientific_files(SEQUENCES)
    files["Scientific.text"] = files["Scientific.text"].replace(
        "Widget A1. Industrial & Scientific Lab Supplies. Acme. ", "Just a name"
    )
    ds = load(tmp_path, files)
    assert ds.items["A1"].title == "Just a name" and ds.notes["texts_not_split"] == 1


def replace_line(content: str, line_no: int, new: str) -> str:
    lines = content.split("\n")
    lines[line_no - 1] = new
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        (
            "Scientific.valid.inter",
            lambda c: replace_line(c, 2, c.split("\n")[1].replace("\t", ",")),
            r"Scientific\.valid\.inter, line 2: "
            r"expected 3 tab-separated fields user_id, item_id_list, item_id",
        ),
        (
            "Scientific.test.inter",
            lambda c: replace_line(c, 3, "1\t0 1 2"),
            r"Scientific\.test\.inter, line 3: expected 3 tab-separated fields",
        ),
        (
            "Scientific.test.inter",
            lambda c: replace_line(c, 2, "0\t0 1 999\t3"),
            r"Scientific\.test\.inter, line 2: expected item ids in Scientific\.item2index",
        ),
        (
            "Scientific.test.inter",
            lambda c: replace_line(c, 2, "0\t0 1 x\t3"),
            r"Scientific\.test\.inter, line 2: expected space-separated integers",
        ),
        (
            "Scientific.test.inter",
            lambda c: replace_line(c, 2, "0\t0 1 2 4\t3"),
            r"Scientific\.test\.inter, line 2: expected a history equal to the valid\.inter history",
        ),
        (
            "Scientific.valid.inter",
            lambda c: replace_line(c, 1, "user\titems\titem"),
            r"Scientific\.valid\.inter, line 1: expected header",
        ),
        (
            "Scientific.valid.inter",
            lambda c: "\n".join(c.split("\n")[:-2]) + "\n",  # the last user's row is missing
            r"Scientific\.valid\.inter: expected a row for each of the 3 users",
        ),
        (
            "Scientific.train.inter",
            lambda c: replace_line(c, 2, "0\t0 1 3\t2"),
            r"Scientific\.train\.inter, line \d+: expected rows that chain into one sequence for user 0",
        ),
        (
            "Scientific.item2index",
            lambda c: replace_line(c, 2, "A2 1"),
            r"Scientific\.item2index, line 2: expected 2 tab-separated fields item_id, index",
        ),
        (
            "Scientific.text",
            lambda c: replace_line(c, 2, "ZZZ\tNot an item. Industrial & Scientific X. Y. "),
            r"Scientific\.text, line 2: expected an item_id listed in Scientific\.item2index, found 'ZZZ'",
        ),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, file: str, edit: Callable[[str], str], message: str
) -> None:
    files = scientific_files(SEQUENCES)
    files[file] = edit(files[file])
    with pytest.raises(DatasetFormatError, match=message):
        load(tmp_path, files)


def test_truncated_gz_copy_is_a_clear_error(tmp_path: Path) -> None:
    files = scientific_files(SEQUENCES)
    write_files(tmp_path / "bundled" / "scientific", files, gz=True)
    path = tmp_path / "bundled" / "scientific" / "Scientific.train.inter.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DatasetFormatError, match=r"Scientific\.train\.inter\.gz, line \d+: expected a complete gzip"):
        load_dataset("scientific", settings_for(tmp_path), use_cache=False)


def test_missing_files_say_which_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("scientific", settings_for(tmp_path))
    assert "LLMREC_BUNDLED_DATA_DIR" in str(info.value) and "LLMREC_EXTERNAL_DATA_DIR" in str(info.value)


def test_falls_back_to_the_external_copy(tmp_path: Path) -> None:
    write_files(tmp_path / "external" / "amazon-scientific-2018", scientific_files(SEQUENCES))
    assert len(load_dataset("scientific", settings_for(tmp_path)).users) == 3
