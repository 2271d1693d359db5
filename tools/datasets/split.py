"""Leave-one-out splits: chronological where the data has an order, seeded random where it has none."""

from __future__ import annotations

import random
from collections.abc import Sequence

from tools.catalog import UserHistory


def user_rng(seed: int, user_id: str) -> random.Random:
    """A generator per user: one user's split never depends on which other users are in the file."""
    return random.Random(f"{seed}:{user_id}")


def random_holdout(user_id: str, items: Sequence[str], seed: int) -> UserHistory:
    """Shuffle the user's distinct items with a per-user seeded RNG; the last is test, the one before valid.

    Items are sorted before shuffling, so the split does not depend on the order of rows in the source file.
    """
    order = sorted(set(items))
    user_rng(seed, user_id).shuffle(order)
    if len(order) < 3:
        raise ValueError(f"user {user_id} has {len(order)} items; a holdout split needs at least 3")
    return UserHistory(user_id=user_id, history=tuple(order[:-2]), valid=order[-2], test=order[-1])


def chronological_holdout(user_id: str, items: Sequence[str]) -> UserHistory:
    """Items oldest first: the last is test, the one before valid, the rest history."""
    if len(items) < 3:
        raise ValueError(f"user {user_id} has {len(items)} items; a holdout split needs at least 3")
    return UserHistory(user_id=user_id, history=tuple(items[:-2]), valid=items[-2], test=items[-1])
