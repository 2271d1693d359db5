"""A catalog whose histories follow a pattern a sequential model can learn, for the seqrec, prior and pipeline tests."""

from __future__ import annotations

import random

from tools.catalog import Dataset, Item, UserHistory

_KINDS = ("caliper", "multimeter", "glue", "sandpaper", "drill", "solder", "gloves", "tape", "wrench", "level")


def cyclic(num_users: int = 120, num_items: int = 12, seed: int = 0, domain: str = "cyclic") -> Dataset:
    """Every history walks the catalog in order (i3 -> i4 -> i5...): after i3 the next item is always i4. Titles
    name a kind of tool, so text search has something to match too."""
    kinds = [_KINDS[k % len(_KINDS)] for k in range(num_items)]
    items = {
        f"i{k}": Item(f"i{k}", f"{kinds[k]} {k}", f"{kinds[k]} number {k}", domain=domain) for k in range(num_items)
    }
    rng = random.Random(seed)
    users = []
    for u in range(num_users):
        start, size = rng.randrange(num_items), rng.randint(4, 7)
        walk = [f"i{(start + k) % num_items}" for k in range(size)]
        users.append(UserHistory(f"u{u}", tuple(walk[:-2]), valid=walk[-2], test=walk[-1]))
    return Dataset(domain=domain, items=items, users=users)
