"""Reference systems every report carries: `random` (the floor) and `popularity` (the bar to clear).

Leakage: both are fitted on the harness's training view, which has no test items and no gold labels, so
neither can see a target. Popularity counts interactions in users' `test_history` (history + validation
item), and on dialogue data the items mentioned in dialogue contexts, never the recommender's gold items.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evals.seeding import derived_generator
from evals.systems import Query, SystemContext, register_system
from tools.catalog import Dataset


class RandomScorer:
    """Uniform random scores, seeded per query: the expected floor of every metric."""

    name = "random"

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, dataset: Dataset) -> None:
        """Nothing to learn."""

    def score(self, query: Query, candidate_ids: Sequence[str]) -> npt.NDArray[np.float64]:
        # Seeded by the query, not by call order, so a query scores the same in any subset of users.
        return derived_generator(self.seed, "random-scorer", query.key).random(len(candidate_ids))


class PopularityScorer:
    """Scores an item by how often it was interacted with (or, in dialogues, mentioned) in training data.

    On dialogue data an item counts once per dialogue whose context mentions it, and a query does not count
    its own dialogue: ReDial ships a test split only, and a later turn's context repeats an earlier turn's
    gold answer, so counting the query's own dialogue would leak that answer into its score.
    """

    name = "popularity"

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._dialogue_mentions: dict[str, frozenset[str]] = {}
        self._cached_ids: Sequence[str] | None = None
        self._cached_scores: npt.NDArray[np.float64] = np.zeros(0)
        self._cached_positions: dict[str, int] = {}

    def fit(self, dataset: Dataset) -> None:
        counts: Counter[str] = Counter()
        for user in dataset.users:
            counts.update(user.test_history)
        mentions: dict[str, set[str]] = {}
        for turn in dataset.turns:
            mentions.setdefault(turn.dialog_id, set()).update(turn.mentioned)
        for items in mentions.values():
            counts.update(items)
        self._counts = counts
        self._dialogue_mentions = {d: frozenset(items) for d, items in mentions.items()}
        self._cached_ids = None

    def score(self, query: Query, candidate_ids: Sequence[str]) -> npt.NDArray[np.float64]:
        # Full-ranking protocols pass one shared catalog tuple: look counts up once per run, not per query.
        if candidate_ids is not self._cached_ids:
            self._cached_scores = np.fromiter(
                (self._counts.get(i, 0) for i in candidate_ids), dtype=np.float64, count=len(candidate_ids)
            )
            self._cached_scores.flags.writeable = False  # handed out to every query: nobody may edit it
            self._cached_positions = {}
            self._cached_ids = candidate_ids
        own = self._dialogue_mentions.get(query.user_id, frozenset()) if query.turn_id is not None else ()
        if not own:
            return self._cached_scores
        if not self._cached_positions:
            self._cached_positions = {item: i for i, item in enumerate(candidate_ids)}
        scores = self._cached_scores.copy()
        for item in own:
            pos = self._cached_positions.get(item)
            if pos is not None:
                scores[pos] -= 1.0
        return scores


def _make_random(ctx: SystemContext) -> RandomScorer:
    return RandomScorer(seed=ctx.seed)


def _make_popularity(ctx: SystemContext) -> PopularityScorer:
    return PopularityScorer()


register_system("random", _make_random)
register_system("popularity", _make_popularity)
