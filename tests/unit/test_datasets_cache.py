"""`load_dataset`: the registry, the canonical-form cache, its key and its recovery from corruption."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.unit.test_datasets_scientific import SEQUENCES, scientific_files, settings_for, write_files
from tools.catalog import Dataset
from tools.datasets import DOMAINS, REGISTRY, dataset_cache_dir, load_dataset
from tools.errors import UnknownDomainError


@pytest.fixture
def parse_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Synthetic scientific files, and a counter of how often the real parser runs."""
    write_files(tmp_path / "bundled" / "scientific", scientific_files(SEQUENCES), gz=True)
    spec = REGISTRY["scientific"]
    calls: list[int] = []

    def counting_parse(paths: Mapping[str, Path], seed: int) -> Dataset:
        calls.append(seed)
        return spec.parse(paths, seed)

    monkeypatch.setitem(REGISTRY, "scientific", dataclasses.replace(spec, parse=counting_parse))
    return calls


def test_domains() -> None:
    assert DOMAINS == ("scientific", "clothing", "redial", "citeulike", "movielens")


def test_unknown_domain_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDomainError, match="known: scientific, clothing, redial, citeulike, movielens"):
        load_dataset("books")


def test_second_load_reads_the_cache(tmp_path: Path, parse_calls: list[int]) -> None:
    settings = settings_for(tmp_path)
    first = load_dataset("scientific", settings)
    second = load_dataset("scientific", settings)
    assert parse_calls == [2026]
    assert first == second
    folder = dataset_cache_dir("scientific", settings)
    assert folder.parent == tmp_path / "cache" / "datasets" / "scientific"
    assert (folder / "cache.json").is_file() and (folder / "items.jsonl").is_file()


def test_key_follows_seed_and_source_bytes(tmp_path: Path, parse_calls: list[int]) -> None:
    base = dataset_cache_dir("scientific", settings_for(tmp_path))
    assert dataset_cache_dir("scientific", settings_for(tmp_path, seed=1)) != base
    text = tmp_path / "bundled" / "scientific" / "Scientific.text.gz"
    text.write_bytes(text.read_bytes() + b"")
    assert dataset_cache_dir("scientific", settings_for(tmp_path)) == base
    (tmp_path / "bundled" / "scientific" / "Scientific.text.gz").unlink()
    write_files(
        tmp_path / "bundled" / "scientific",
        {"Scientific.text": scientific_files(SEQUENCES)["Scientific.text"]},
    )
    assert dataset_cache_dir("scientific", settings_for(tmp_path)) != base


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda f: (f / "items.jsonl").write_text((f / "items.jsonl").read_text()[:-40]),  # cut mid-line
        lambda f: (f / "users.jsonl").write_text("\n".join((f / "users.jsonl").read_text().split("\n")[:1])),
        lambda f: (f / "cache.json").unlink(),
        lambda f: (f / "cache.json").write_text("{not json"),
        lambda f: (f / "meta.json").write_text("{}"),
    ],
    ids=["truncated-items", "dropped-users", "no-manifest", "bad-manifest", "bad-meta"],
)
def test_corrupt_cache_is_rebuilt(tmp_path: Path, parse_calls: list[int], corrupt: Callable[[Path], object]) -> None:
    settings = settings_for(tmp_path)
    original = load_dataset("scientific", settings)
    corrupt(dataset_cache_dir("scientific", settings))
    assert load_dataset("scientific", settings) == original
    assert len(parse_calls) == 2
    assert load_dataset("scientific", settings) == original
    assert len(parse_calls) == 2


def test_unwritable_cache_still_returns_the_dataset(tmp_path: Path, parse_calls: list[int]) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    assert len(load_dataset("scientific", settings).users) == 3
