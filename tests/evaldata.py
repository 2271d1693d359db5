"""Small in-memory datasets for the evals tests: a skewed shop (users), a ReDial-like chat log (turns), and three
hand-made turns with a scorer that puts their items at chosen ranks (for hand-computed figures)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from evals.metrics import Scores
from evals.systems import Query
from tools.catalog import Dataset, DialogueTurn, Item, UserHistory


def make_items(n: int, domain: str) -> dict[str, Item]:
    ids = [f"i{k:03d}" for k in range(n)]
    return {i: Item(item_id=i, title=f"Item {i}", text=f"Item {i}", domain=domain) for i in ids}


def shop(num_users: int = 120, num_items: int = 80, seed: int = 0, domain: str = "tiny") -> Dataset:
    """Users whose items follow a Zipf-like popularity (weight 1/rank), so popularity beats random."""
    items = make_items(num_items, domain)
    ids = list(items)
    weights = [1.0 / (rank + 1) for rank in range(num_items)]
    rng = random.Random(seed)
    users = []
    for u in range(num_users):
        size = rng.randint(5, 9)
        chosen: list[str] = []
        while len(chosen) < size:
            item = rng.choices(ids, weights)[0]
            if item not in chosen:
                chosen.append(item)
        users.append(UserHistory(user_id=f"u{u:03d}", history=tuple(chosen[:-2]), valid=chosen[-2], test=chosen[-1]))
    return Dataset(domain=domain, items=items, users=users)


def chats(num_dialogues: int = 30, num_items: int = 60, seed: int = 0, domain: str = "chat") -> Dataset:
    """Dialogues of 2-3 recommendation turns; each turn's context mentions the earlier turns' gold items."""
    items = make_items(num_items, domain)
    ids = list(items)
    weights = [1.0 / (rank + 1) for rank in range(num_items)]
    rng = random.Random(seed)
    turns = []
    for d in range(num_dialogues):
        mentioned: list[str] = [rng.choice(ids)]
        context = [f"I liked {mentioned[0]}"]
        for t in range(rng.randint(2, 3)):
            gold = tuple(dict.fromkeys(rng.choices(ids, weights, k=rng.randint(1, 2))))
            turns.append(
                DialogueTurn(
                    dialog_id=f"d{d:03d}",
                    turn_id=str(100 * d + t),
                    context=tuple(context),
                    gold=gold,
                    mentioned=tuple(dict.fromkeys(mentioned)),
                )
            )
            context.append(f"Try {' and '.join(gold)}")
            mentioned.extend(gold)
    return Dataset(domain=domain, items=items, turns=turns)


class Scripted:
    """Ranks the named items at the given 1-based ranks and every other candidate, in id order, around them."""

    name = "scripted"

    def __init__(self, ranks: dict[str, dict[str, int]]) -> None:
        self.ranks = ranks

    def fit(self, dataset: Dataset) -> None:
        pass

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        placed = self.ranks[query.key]
        slots: list[str | None] = [None] * len(candidate_ids)
        for item, rank in placed.items():
            slots[rank - 1] = item
        rest = iter(sorted(c for c in candidate_ids if c not in placed))
        order = [slot if slot is not None else next(rest) for slot in slots]
        position = {item: i for i, item in enumerate(order)}
        return [float(len(order) - position[c]) for c in candidate_ids]


def three_turns() -> tuple[Dataset, Scripted]:
    """d1: gold g1 (mentioned, rank 1) and g2 (new, rank 7); d2: g3 (new, rank 30), m6 mentioned at rank 2;
    d3: g4 (mentioned, rank 3), m5 mentioned at rank 1. 60 items."""
    items = {
        i: Item(i, i, i, domain="hand") for i in [*(f"x{n:02d}" for n in range(54)), "g1", "g2", "g3", "g4", "m5", "m6"]
    }
    turns = [
        DialogueTurn("d1", "1", ("I liked g1",), gold=("g1", "g2"), mentioned=("g1",)),
        DialogueTurn("d2", "1", ("I liked m6",), gold=("g3",), mentioned=("m6",)),
        DialogueTurn("d3", "1", ("I liked m5 and g4",), gold=("g4",), mentioned=("m5", "g4")),
    ]
    ranks = {"d1/1": {"g1": 1, "g2": 7}, "d2/1": {"m6": 2, "g3": 30}, "d3/1": {"m5": 1, "g4": 3}}
    return Dataset(domain="hand", items=items, turns=turns), Scripted(ranks)
