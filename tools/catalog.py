"""The canonical data model every loader produces and every later stage consumes.

A `Dataset` holds a catalog of `Item`s, per-user interaction histories with a held-out split, and, for
conversational data (ReDial), dialogue turns. It is written to and read from one canonical on-disk form:
a folder of JSONL files (`items.jsonl`, `users.jsonl`, `turns.jsonl`) plus `meta.json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.errors import DatasetFormatError

AttributeValue = str | list[str]

CANONICAL_FORMAT_VERSION = 1

HIDDEN_ATTRIBUTES = frozenset({"variants", "cites", "citeulike_id", "doc_id"})
"""Attributes that are bookkeeping, not facts to show a user or cite in a rationale."""


@dataclass(frozen=True)
class Item:
    """One catalog item."""

    item_id: str
    """Stable id within its domain (an ASIN, a DBpedia entity id, a paper id...)."""
    title: str
    """Human-readable title shown to users and to the model."""
    text: str
    """Searchable text: title plus descriptive fields (categories, brand, tags, abstract...)."""
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    """Structured facts a rationale may cite (brand, category, genres, year, variants...)."""
    domain: str = ""
    """The dataset domain this item belongs to (`scientific`, `clothing`, ...)."""


@dataclass(frozen=True)
class UserHistory:
    """One user's interactions and their leave-one-out split.

    `history` is what a model may see when predicting `valid`; when predicting `test` it sees
    `history + [valid]` (see `test_history`).
    """

    user_id: str
    history: tuple[str, ...]
    """Item ids before the validation item, oldest first (or in a seeded random order for unordered data)."""
    valid: str | None = None
    """Held-out validation item id."""
    test: str | None = None
    """Held-out test item id."""

    @property
    def test_history(self) -> tuple[str, ...]:
        """What a model may see when predicting the test item."""
        return self.history + ((self.valid,) if self.valid is not None else ())

    @property
    def all_items(self) -> tuple[str, ...]:
        """Every item the user interacted with, held-out ones included."""
        extra = tuple(x for x in (self.valid, self.test) if x is not None)
        return self.history + extra


@dataclass(frozen=True)
class DialogueTurn:
    """One recommendation turn of a conversation (ReDial): the context so far and the gold items."""

    dialog_id: str
    turn_id: str
    context: tuple[str, ...]
    """Utterances before the recommendation, oldest first."""
    gold: tuple[str, ...]
    """Item ids the human recommender named in the response."""
    mentioned: tuple[str, ...] = ()
    """Item ids mentioned in the context (inputs, never labels)."""


@dataclass
class Dataset:
    """A domain's catalog, histories and dialogue turns, loaded and validated."""

    domain: str
    items: dict[str, Item]
    users: list[UserHistory] = field(default_factory=list)
    turns: list[DialogueTurn] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    """What loading did that a user should know: skipped duplicates, merged variants, dropped users."""

    def __post_init__(self) -> None:
        self._check_references()

    def _check_references(self) -> None:
        # Every id a user or turn names must be in the catalog: later stages index items[...] blindly.
        for user in self.users:
            for item_id in user.all_items:
                if item_id not in self.items:
                    raise ValueError(f"{self.domain}: user {user.user_id} names unknown item {item_id!r}")
        for turn in self.turns:
            for item_id in turn.gold:
                if item_id not in self.items:
                    raise ValueError(f"{self.domain}: turn {turn.turn_id} names unknown item {item_id!r}")

    @property
    def num_interactions(self) -> int:
        return sum(len(u.all_items) for u in self.users)

    def test_users(self) -> list[UserHistory]:
        return [u for u in self.users if u.test is not None]

    # --- the canonical on-disk form -------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the canonical form (JSONL + meta.json); `load` reads it back unchanged."""
        folder.mkdir(parents=True, exist_ok=True)
        _write_jsonl(
            folder / "items.jsonl",
            (asdict(i) | {"attributes": dict(i.attributes)} for i in self.items.values()),
        )
        _write_jsonl(folder / "users.jsonl", (asdict(u) for u in self.users))
        _write_jsonl(folder / "turns.jsonl", (asdict(t) for t in self.turns))
        meta = {"format_version": CANONICAL_FORMAT_VERSION, "domain": self.domain, "notes": self.notes}
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Dataset:
        """Read a canonical folder written by `save` (or by hand, for a custom catalog)."""
        meta_path = folder / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DatasetFormatError(meta_path, None, "a meta.json file of a canonical dataset folder") from exc
        except json.JSONDecodeError as exc:
            raise DatasetFormatError(meta_path, exc.lineno, "valid JSON", exc.msg) from exc
        if meta.get("format_version") != CANONICAL_FORMAT_VERSION:
            raise DatasetFormatError(
                meta_path, None, f"format_version {CANONICAL_FORMAT_VERSION}", str(meta.get("format_version"))
            )
        domain = str(meta["domain"])
        items: dict[str, Item] = {}
        for line_no, row in _read_jsonl(folder / "items.jsonl", required=("item_id", "title", "text")):
            item = Item(
                item_id=str(row["item_id"]),
                title=str(row["title"]),
                text=str(row["text"]),
                attributes=dict(row.get("attributes") or {}),
                domain=str(row.get("domain") or domain),
            )
            if item.item_id in items:
                raise DatasetFormatError(folder / "items.jsonl", line_no, "unique item_id values", item.item_id)
            items[item.item_id] = item
        users = [
            UserHistory(
                user_id=str(row["user_id"]),
                history=tuple(str(x) for x in row["history"]),
                valid=None if row.get("valid") is None else str(row["valid"]),
                test=None if row.get("test") is None else str(row["test"]),
            )
            for _, row in _read_jsonl(folder / "users.jsonl", required=("user_id", "history"), optional_file=True)
        ]
        turns = [
            DialogueTurn(
                dialog_id=str(row["dialog_id"]),
                turn_id=str(row["turn_id"]),
                context=tuple(str(x) for x in row["context"]),
                gold=tuple(str(x) for x in row["gold"]),
                mentioned=tuple(str(x) for x in row.get("mentioned") or ()),
            )
            for _, row in _read_jsonl(
                folder / "turns.jsonl",
                required=("dialog_id", "turn_id", "context", "gold"),
                optional_file=True,
            )
        ]
        try:
            return cls(domain=domain, items=items, users=users, turns=turns, notes=dict(meta.get("notes") or {}))
        except ValueError as exc:
            raise DatasetFormatError(
                folder, None, "histories and turns that name catalog items only", str(exc)
            ) from exc


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)  # atomic: an interrupted save never leaves a half-written file behind


def _read_jsonl(
    path: Path, required: tuple[str, ...], optional_file: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    if optional_file and not path.exists():
        return
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DatasetFormatError(path, None, "a JSONL file") from exc
    with fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetFormatError(path, line_no, "one JSON object per line", line.strip()) from exc
            if not isinstance(row, dict):
                raise DatasetFormatError(path, line_no, "a JSON object", line.strip())
            missing = [k for k in required if k not in row]
            if missing:
                raise DatasetFormatError(path, line_no, f"fields {', '.join(required)}", f"missing {missing}")
            yield line_no, row
