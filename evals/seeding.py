"""Seeds derived from names, so every random draw in a run depends only on (run seed, what it is for).

A per-user or per-query seed makes a user's negatives, a random scorer's scores and a tie-break the same
whichever other users are evaluated and in whatever order: `--users 100` is then a subset of the full run.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed from the run seed and any labels (purpose, system name, user id...).

    blake2b rather than `hash()`: Python salts string hashes per process, which would make runs unrepeatable.
    """
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def derived_random(seed: int, *parts: object) -> random.Random:
    """A `random.Random` seeded by `derive_seed(seed, *parts)`."""
    return random.Random(derive_seed(seed, *parts))


def derived_generator(seed: int, *parts: object) -> np.random.Generator:
    """A numpy `Generator` seeded by `derive_seed(seed, *parts)`."""
    return np.random.default_rng(derive_seed(seed, *parts))
