"""Clothing on synthetic CSVs: variant merging, duplicate and small-user handling, the seeded split."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.catalog import Dataset
from tools.datasets import load_dataset
from tools.datasets.clothing import merge_variants, normalize_title, title_brands
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

TITLES = {
    "B01": "acme tunic top",
    "B02": "Acme  Tunic Top.",  # a variant: same title up to case, spacing and trailing punctuation
    "B03": "acme tunic top ",
    "B04": "zed jeans",
    "B05": "zed jeans slim",
    "B06": "wool socks",
    "B07": "cotton scarf",
    "B08": "silk tie",
    "B09": "leather belt",
    "B10": "canvas shoes",
}


def clothing_files(ratings: list[tuple[str, str]], titles: dict[str, str] = TITLES) -> dict[str, str]:
    rows = [";Rating;User_ID;Item_ID"] + [f"{i};5.0;{u};{a}" for i, (u, a) in enumerate(ratings)]
    names = [";Item_ID;Item_title;Pred_EI"] + [f"{i};{a};{t};4" for i, (a, t) in enumerate(titles.items())]
    return {"Dataset1p1.csv": "\r\n".join(rows) + "\r\n", "Dataset1p2.csv": "\r\n".join(names) + "\r\n"}


RATINGS = (
    [("alice", a) for a in ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08"]]
    + [("alice", "B04")]  # a repeated row
    + [("bob", a) for a in ["B01", "B02", "B03", "B04", "B06", "B07"]]  # 6 ASINs but 4 products
    + [("carol", a) for a in ["B02", "B04", "B05", "B06", "B07", "B08", "B09", "B10"]]
)


def load(tmp_path: Path, files: dict[str, str], seed: int = 2026) -> Dataset:
    folder = tmp_path / "bundled" / "clothing"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content.encode())
    settings = DataSettings(
        data_dir=tmp_path / "cache", bundled_data_dir=tmp_path / "bundled", external_data_dir=None, seed=seed
    )
    return load_dataset("clothing", settings, use_cache=False)


def test_normalize_title() -> None:
    assert normalize_title("  Acme\tTunic   TOP. ") == normalize_title("acme tunic top") == "acme tunic top"
    assert normalize_title('"quoted" title!') == 'quoted" title'
    assert normalize_title("zed jeans slim") != normalize_title("zed jeans")


def test_merge_variants_uses_the_smallest_asin() -> None:
    mapping = merge_variants(TITLES)
    assert mapping["B01"] == mapping["B02"] == mapping["B03"] == "B01"
    assert mapping["B04"] == "B04" and mapping["B05"] == "B05"


def test_merge_drop_and_counts(tmp_path: Path) -> None:
    ds = load(tmp_path, clothing_files(RATINGS))
    assert ds.items["B01"].attributes["variants"] == ["B01", "B02", "B03"]
    assert "B02" not in ds.items and len(ds.items) == 8
    assert [u.user_id for u in ds.users] == ["alice", "carol"]
    notes = ds.notes
    assert notes["rating_rows"] == 23
    assert notes["duplicate_user_asin_rows_skipped"] == 1
    assert notes["asins_merged_into_products"] == 2
    assert notes["repeated_user_product_pairs_dropped"] == 2 + 2  # alice and bob each rated 3 tunic variants
    assert notes["users_dropped_under_5_products"] == 1 and notes["interactions_of_dropped_users"] == 4
    alice = next(u for u in ds.users if u.user_id == "alice")
    assert sorted(alice.all_items) == ["B01", "B04", "B05", "B06", "B07", "B08"]


def test_no_held_out_title_in_the_history(tmp_path: Path) -> None:
    ds = load(tmp_path, clothing_files(RATINGS))
    for user in ds.users:
        seen = {normalize_title(ds.items[i].title) for i in user.test_history}
        assert normalize_title(ds.items[str(user.test)].title) not in seen


def test_split_is_deterministic_per_seed_and_independent_of_row_order(tmp_path: Path) -> None:
    first = load(tmp_path / "a", clothing_files(RATINGS), seed=7)
    again = load(tmp_path / "b", clothing_files(list(reversed(RATINGS))), seed=7)
    assert first.users == again.users
    splits = {tuple(load(tmp_path / f"s{s}", clothing_files(RATINGS), seed=s).users) for s in range(6)}
    assert len(splits) > 1


@pytest.mark.parametrize(
    ("file", "line", "message"),
    [
        (
            "Dataset1p1.csv",
            "3,5.0,alice,B01",
            r"Dataset1p1\.csv, line 4: expected 4 semicolon-separated fields",
        ),
        ("Dataset1p1.csv", "3;five;alice;B01", r"Dataset1p1\.csv, line 4: expected a numeric Rating"),
        (
            "Dataset1p1.csv",
            "3;5.0;alice;NOPE",
            r"Dataset1p1\.csv, line 4: expected an Item_ID listed in Dataset1p2",
        ),
        ("Dataset1p1.csv", "3;9.0;alice;B01", r"Dataset1p1\.csv, line 4: expected a Rating from 1 to 5"),
        ("Dataset1p2.csv", "3;B03", r"Dataset1p2\.csv, line 4: expected 4 semicolon-separated fields"),
        ("Dataset1p2.csv", "3;B01;again;4", r"Dataset1p2\.csv, line 4: expected each Item_ID once"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path: Path, file: str, line: str, message: str) -> None:
    files = clothing_files(RATINGS)
    lines = files[file].split("\r\n")
    lines[3] = line
    files[file] = "\r\n".join(lines)
    with pytest.raises(DatasetFormatError, match=message):
        load(tmp_path, files)


def test_wrong_header_is_reported(tmp_path: Path) -> None:
    files = clothing_files(RATINGS)
    files["Dataset1p1.csv"] = files["Dataset1p1.csv"].replace(";Rating;User_ID;Item_ID", "Rating,User_ID,Item_ID", 1)
    with pytest.raises(DatasetFormatError, match=r"Dataset1p1\.csv, line 1: expected header"):
        load(tmp_path, files)


def test_a_brand_is_the_title_text_before_the_audience_when_several_products_share_it() -> None:
    brands = title_brands(
        {
            "1": "levi's men's 505 regular fit jean",
            "2": "levi's women's 515 boot cut jean",
            "3": "u.s. polo assn. men's faux sherpa jacket",
            "4": "u.s. polo assn. boys' polo",
            "5": "hanes big men's tagless crew undershirt",  # "big" belongs to the audience
            "6": "hanes women's crew socks",
            "7": "men's pattern dress socks",  # starts with the audience: no brand
            "8": "acme solo women's tunic",  # a prefix seen once: no brand
            "9": "plain cotton scarf",  # no audience word
        }
    )
    assert brands == {
        "1": "levi's",
        "2": "levi's",
        "3": "u.s. polo assn.",
        "4": "u.s. polo assn.",
        "5": "hanes",
        "6": "hanes",
    }
