"""The labelled understanding set (tests/data/understanding.jsonl, guide in tests/data/UNDERSTANDING.md): every line
follows the schema, the labels are consistent with one another, and the split keeps whole phrasing families apart."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "tests" / "data" / "understanding.jsonl"

CATEGORIES = frozenset(
    {
        "request_plain",
        "request_constraint",
        "request_audience",
        "request_brand",
        "request_similar",
        "unsupported",
        "dispute_item",
        "dispute_attribute",
        "dispute_claim",
        "dispute_owned",
        "accept",
        "question",
        "chitchat",
        "trap",
        "typo",
        "long",
        "robustness",
    }
)
INTENTS = frozenset({"request", "dispute", "accept", "question", "other"})
AUDIENCES = frozenset({"men", "women", "boys", "girls", "kids", "unisex"})
UNSUPPORTED = frozenset({"price", "rating", "delivery"})
DISPUTE_KINDS = frozenset({"item", "attribute", "claim", "owned"})
DOMAINS = frozenset({"scientific", "clothing"})
SPLITS = frozenset({"dev", "heldout"})
LINE_KEYS = {"id", "family", "split", "category", "domain", "message", "previous", "expected"}
EXPECTED_KEYS = {"intent", "wanted", "unwanted", "filters", "unsupported", "item", "dispute_kind", "claim"}
FILTER_KEYS = {"audience", "exclude_audience", "brand"}
NEEDS_PREVIOUS = frozenset({"dispute", "accept", "question"})


@cache
def rows() -> tuple[dict[str, Any], ...]:
    lines = SET.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


@cache
def catalog_titles() -> dict[str, frozenset[str]]:
    """Each domain's titles as the set writes them: Scientific's text up to its category path, clothing's title."""
    scientific = set()
    with gzip.open(ROOT / "data" / "scientific" / "Scientific.text.gz", "rt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            text = line.rstrip("\n").split("\t", 1)[1]
            scientific.add(text.split(". Industrial & Scientific")[0].strip())
    with gzip.open(ROOT / "data" / "clothing" / "Dataset1p2.csv.gz", "rt", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        clothing = {row[2] for row in reader}
    return {"scientific": frozenset(scientific), "clothing": frozenset(clothing)}


def _is_phrase_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(p, str) and p and p == p.strip() for p in value)


def test_every_line_parses_with_all_keys() -> None:
    for line_number, line in enumerate(SET.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        assert set(row) == LINE_KEYS, line_number
        assert set(row["expected"]) == EXPECTED_KEYS, row["id"]
        assert set(row["expected"]["filters"]) == FILTER_KEYS, row["id"]


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["id"])
def test_line_types_and_values(row: dict[str, Any]) -> None:
    assert row["category"] in CATEGORIES
    assert row["domain"] in DOMAINS and row["split"] in SPLITS
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", row["family"])
    assert re.fullmatch(re.escape(row["category"].replace("_", "-")) + r"-\d{3}", row["id"])
    assert isinstance(row["message"], str) and row["message"]
    expected = row["expected"]
    assert expected["intent"] in INTENTS
    for key in ("wanted", "unwanted"):
        assert _is_phrase_list(expected[key]), key
        assert all(p == p.lower() for p in expected[key]), key
        assert len(set(expected[key])) == len(expected[key]), key
    filters = expected["filters"]
    assert all(_is_phrase_list(filters[key]) for key in FILTER_KEYS)
    assert set(filters["audience"]) <= AUDIENCES and set(filters["exclude_audience"]) <= AUDIENCES
    assert not set(filters["audience"]) & set(filters["exclude_audience"])
    assert isinstance(expected["unsupported"], list) and set(expected["unsupported"]) <= UNSUPPORTED
    assert len(set(expected["unsupported"])) == len(expected["unsupported"])


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["id"])
def test_previous_turn_and_item(row: dict[str, Any]) -> None:
    previous, expected = row["previous"], row["expected"]
    if previous is None:
        assert expected["item"] is None
        assert expected["intent"] not in NEEDS_PREVIOUS
        assert row["category"] != "request_similar"
        return
    assert set(previous) == {"picks", "rationale"}
    assert isinstance(previous["rationale"], str) and previous["rationale"].strip()
    assert [pick["label"] for pick in previous["picks"]] == ["A", "B", "C"]
    for pick in previous["picks"]:
        assert set(pick) == {"label", "title"}
        assert isinstance(pick["title"], str) and pick["title"].strip()
        assert pick["title"] in catalog_titles()[row["domain"]], pick["title"]
    item = expected["item"]
    assert item is None or (type(item) is int and 1 <= item <= 3)
    if row["category"] == "request_similar":
        assert item is not None


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["id"])
def test_dispute_kind_and_claim(row: dict[str, Any]) -> None:
    expected = row["expected"]
    if expected["intent"] != "dispute":
        assert expected["dispute_kind"] is None and expected["claim"] is None
        return
    assert expected["dispute_kind"] in DISPUTE_KINDS
    if expected["dispute_kind"] == "claim":
        # the disputed statement as the user put it: a span of the message
        assert isinstance(expected["claim"], str) and expected["claim"]
        assert expected["claim"].lower() in row["message"].lower()
    else:
        assert expected["claim"] is None
    if row["category"].startswith("dispute_"):
        assert expected["dispute_kind"] == row["category"].removeprefix("dispute_")


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["id"])
def test_other_extracts_nothing(row: dict[str, Any]) -> None:
    expected = row["expected"]
    if expected["intent"] != "other":
        return
    assert expected["wanted"] == [] and expected["unwanted"] == [] and expected["unsupported"] == []
    assert expected["item"] is None and not any(expected["filters"].values())


def test_long_messages_are_long() -> None:
    for row in rows():
        if row["category"] == "long":
            assert 60 <= len(row["message"].split()) <= 200, row["id"]


def test_ids_unique() -> None:
    ids = [row["id"] for row in rows()]
    assert len(ids) == len(set(ids))


def test_families_keep_one_split_and_category() -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    categories: dict[str, set[str]] = defaultdict(set)
    for row in rows():
        splits[row["family"]].add(row["split"])
        categories[row["family"]].add(row["category"])
    assert {family for family, s in splits.items() if len(s) > 1} == set()
    assert {family for family, c in categories.items() if len(c) > 1} == set()
    sizes = Counter(row["family"] for row in rows())
    assert {family for family, n in sizes.items() if n < 3} == set()


def test_coverage() -> None:
    data = rows()
    assert len(data) >= 450
    per_category = Counter(row["category"] for row in data)
    heldout = Counter(row["category"] for row in data if row["split"] == "heldout")
    assert set(per_category) == CATEGORIES
    assert {c: n for c, n in per_category.items() if n < 25} == {}
    assert {c: heldout[c] for c in CATEGORIES if heldout[c] < 10} == {}
    domains = Counter(row["domain"] for row in data)
    assert set(domains) == DOMAINS
    assert min(domains.values()) >= 0.4 * len(data)
    assert 0.3 <= sum(heldout.values()) / len(data) <= 0.5
