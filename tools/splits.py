"""The fixed split of users into training users and evaluation users, by a seeded hash of the user id.

Evaluation (evals/protocols.py: the candidates, full and rerank protocols) asks only evaluation users; training
(training/) takes its (history -> target) pairs only from training users. Both read the split from here, so no
user of any evaluation test set is ever trained on. A user's side depends only on (seed, user id): not on the
other users, the dataset order, the process or the Python version.

The seed is the project seed, `tools.settings.DataSettings().seed` (LLMREC_SEED, else 2026); callers pass it in.
Changing EVAL_SHARE or the seed moves users between the sides and so changes every reported figure, and a model
trained on one split must not be evaluated on another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from tools.catalog import UserHistory

EVAL_SHARE: float = 0.25
"""Share of users held out for evaluation: enough that a domain's figure is precise, the rest left to train on.

At seed 2026 it holds out 2,071 of scientific's 8,442 users (6,371 train), 428 of clothing's 1,596 (1,168),
235 of movielens's 943 (708) and 1,412 of citeulike's 5,551 (4,139); each is more than the 200 users per domain
of the quick eval run. Per-user NDCG@10 on the candidate protocol has a standard deviation of 0.26-0.40 (random
0.26-0.27, popularity and BM25 0.35-0.40), so its standard error is 0.013-0.020 at 400 users, 0.006-0.009 on
scientific's 2,071 and 0.018-0.028 at 200."""

_SCALE = float(2**64)


def is_eval_user(user_id: str, seed: int, share: float = EVAL_SHARE) -> bool:
    """Whether `user_id` is an evaluation user under `seed`: true for a uniform `share` of ids.

    The hash is compared with `share`, so a smaller share holds out a subset of what a larger one does.
    blake2b rather than `hash()`: Python salts string hashes per process, so the split would not repeat.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    digest = hashlib.blake2b(f"{seed}:split:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE < share


def split_users(
    users: Sequence[UserHistory], seed: int, share: float = EVAL_SHARE
) -> tuple[list[UserHistory], list[UserHistory]]:
    """(training users, evaluation users), each in the order of `users`."""
    train: list[UserHistory] = []
    evaluation: list[UserHistory] = []
    for user in users:
        (evaluation if is_eval_user(user.user_id, seed, share) else train).append(user)
    return train, evaluation
