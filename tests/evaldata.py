"""Small in-memory datasets for the evals tests: a skewed shop (users) and a ReDial-like chat log (turns)."""

from __future__ import annotations

import random

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
