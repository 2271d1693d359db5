"""Summary statistics of a loaded dataset (`llmrec data stats`): pure functions over a `Dataset`."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.catalog import Dataset


@dataclass(frozen=True)
class Distribution:
    """Five-number summary plus mean; quartiles interpolate linearly (numpy's default)."""

    min: float
    p25: float
    median: float
    mean: float
    p75: float
    max: float

    @classmethod
    def of(cls, values: Sequence[int]) -> Distribution | None:
        if not values:
            return None
        if len(values) == 1:
            v = float(values[0])
            return cls(v, v, v, v, v, v)
        p25, median, p75 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(
            min=float(min(values)),
            p25=p25,
            median=median,
            mean=statistics.fmean(values),
            p75=p75,
            max=float(max(values)),
        )


@dataclass(frozen=True)
class DatasetStats:
    domain: str
    items: int
    users: int
    """Users with a history (ReDial has none: its unit is the dialogue turn)."""
    test_users: int
    """Users with a held-out test item."""
    interactions: int
    """History plus held-out items, over all users."""
    turns: int
    dialogues: int
    history_length: Distribution | None
    """Items a model sees when predicting a user's test item (`UserHistory.test_history`)."""
    context_length: Distribution | None
    """Utterances before each recommendation turn."""
    gold_per_turn: Distribution | None
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dataset_stats(dataset: Dataset) -> DatasetStats:
    return DatasetStats(
        domain=dataset.domain,
        items=len(dataset.items),
        users=len(dataset.users),
        test_users=len(dataset.test_users()),
        interactions=dataset.num_interactions,
        turns=len(dataset.turns),
        dialogues=len({t.dialog_id for t in dataset.turns}),
        history_length=Distribution.of([len(u.test_history) for u in dataset.users]),
        context_length=Distribution.of([len(t.context) for t in dataset.turns]),
        gold_per_turn=Distribution.of([len(t.gold) for t in dataset.turns]),
        notes=dict(sorted(dataset.notes.items())),  # the cached form stores them sorted too
    )
