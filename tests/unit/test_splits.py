"""The training / evaluation user split: fixed by (seed, user id), uniform, disjoint, and its real counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.catalog import UserHistory
from tools.datasets import load_dataset
from tools.settings import REPO_ROOT, DataSettings
from tools.splits import EVAL_SHARE, is_eval_user, split_users

IDS = [f"user{k:05d}" for k in range(10_000)]


def _users(ids: list[str]) -> list[UserHistory]:
    return [UserHistory(uid, history=("a",), valid="b", test="c") for uid in ids]


def test_the_split_is_pinned() -> None:
    # Every reported figure rests on these: a change to the hashing must show up here, not in the results.
    chosen = [u for u in IDS[:20] if is_eval_user(u, 2026)]
    assert chosen == ["user00000", "user00002", "user00013", "user00015"]


def test_the_split_repeats_in_another_process() -> None:
    # Python salts str hashes per process; the split must not notice.
    code = f"from tools.splits import is_eval_user; print([is_eval_user(u, 2026) for u in {IDS[:200]!r}])"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == str([is_eval_user(u, 2026) for u in IDS[:200]])


def test_split_is_deterministic_disjoint_complete_and_keeps_order() -> None:
    users = _users(IDS)
    train, evaluation = split_users(users, 2026)
    assert (train, evaluation) == split_users(users, 2026)
    held_out = {u.user_id for u in evaluation}
    assert not {u.user_id for u in train} & held_out
    assert len(train) + len(evaluation) == len(users)
    assert [u.user_id for u in train] == [u for u in IDS if u not in held_out]
    assert [u.user_id for u in evaluation] == [u for u in IDS if is_eval_user(u, 2026)]
    assert split_users(users[::-1], 2026)[1] == evaluation[::-1]  # a user's side ignores the order


@pytest.mark.parametrize("share", [EVAL_SHARE, 0.1, 0.5])
def test_share_is_uniform(share: float) -> None:
    # Binomial standard error at 10,000 ids is at most 0.005: 0.02 is 4 of them.
    _, evaluation = split_users(_users(IDS), 2026, share)
    assert abs(len(evaluation) / len(IDS) - share) < 0.02
    # Uniform over the ids too, not only on average: each tenth of them holds its share.
    for k in range(10):
        part = IDS[k * 1000 : (k + 1) * 1000]
        assert abs(sum(is_eval_user(u, 2026, share) for u in part) / 1000 - share) < 0.06


def test_a_smaller_share_is_a_subset_and_the_extremes_hold() -> None:
    small = {u for u in IDS if is_eval_user(u, 2026, 0.1)}
    assert small < {u for u in IDS if is_eval_user(u, 2026, 0.25)}
    assert not any(is_eval_user(u, 2026, 0.0) for u in IDS[:100])
    assert all(is_eval_user(u, 2026, 1.0) for u in IDS[:100])
    with pytest.raises(ValueError, match="between 0 and 1"):
        is_eval_user("u", 2026, 1.5)


def test_different_seeds_give_independent_splits() -> None:
    a = {u for u in IDS if is_eval_user(u, 2026)}
    b = {u for u in IDS if is_eval_user(u, 7)}
    assert a != b
    # Independent splits share 0.25 x 0.25 of the ids, not 0.25.
    assert abs(len(a & b) / len(IDS) - EVAL_SHARE**2) < 0.015


@pytest.mark.integration
@pytest.mark.parametrize(("domain", "evaluation", "training"), [("scientific", 2071, 6371), ("clothing", 428, 1168)])
def test_real_counts(session_data_dir: Path, domain: str, evaluation: int, training: int) -> None:
    """The counts the README and `EVAL_SHARE`'s docstring quote, at the project seed."""
    settings = DataSettings(data_dir=session_data_dir, bundled_data_dir=REPO_ROOT / "data", seed=2026)
    users = load_dataset(domain, settings).test_users()
    train, held_out = split_users(users, settings.seed)
    assert (len(held_out), len(train)) == (evaluation, training)
