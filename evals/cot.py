"""Chain-of-thought tests (issue 7, item 3): does the rationale matter to the ranking that follows it?

For each user's original rationale and ranking (from `evals.faithfulness.explain_cases`), rank again with
`agent.ranking.rank` over the same record of what the model was shown and an altered rationale:

- `same`: the same rationale, the no-op control: greedy ranking is deterministic, so nothing may change.
- `truncate`: the first half of its words.
- `corrupt`: the rationale of another user (the next user in sample order, cyclically): fluent, on-topic for the
  domain, but about other candidates. Chosen over sentence shuffling, which is a no-op for the one-sentence
  rationales small models often write. With a single user there is no other rationale and `corrupt` is skipped.
- `drop`: an empty rationale (the labels read straight after the prompt).

Per perturbation: the share of users whose top-1 item changed, the mean Kendall tau between the two rankings and the
mean overlap@3. A rationale that never changes the ranking is not a reason; the rates are reported, not thresholded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tqdm import tqdm

from agent.ranking import Pass, rank
from agent.records import Shown
from agent.runtime import Recommender
from tools.progress import progress_enabled

PERTURBATIONS = ("same", "truncate", "corrupt", "drop")


def truncate(rationale: str) -> str:
    words = rationale.split()
    return " ".join(words[: len(words) // 2])


def kendall_tau(a: Sequence[str], b: Sequence[str]) -> float:
    """Kendall's tau-a between two orderings of the same items (1: identical, -1: reversed)."""
    if set(a) != set(b) or len(a) != len(b):
        raise ValueError("kendall_tau needs two orderings of the same items")
    n = len(a)
    if n < 2:
        return 1.0
    pos = {item: i for i, item in enumerate(b)}
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if pos[a[i]] < pos[a[j]]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def overlap_at(a: Sequence[str], b: Sequence[str], k: int = 3) -> float:
    return len(set(a[:k]) & set(b[:k])) / k


class CotCase(Protocol):
    """What a chain-of-thought test needs of one ranked case (evals.faithfulness.Explained is one)."""

    @property
    def user_id(self) -> str: ...
    @property
    def rationale(self) -> str: ...
    @property
    def order(self) -> tuple[str, ...]: ...
    @property
    def shown(self) -> Shown: ...


@dataclass(frozen=True)
class PassCase:
    """An evaluated pass (an LLM system's `passes` in `llmrec eval`) as a chain-of-thought case."""

    user_id: str
    rationale: str
    order: tuple[str, ...]
    shown: Shown


def pass_cases(passes: Mapping[str, Pass]) -> list[PassCase]:
    """The passes of one system, in evaluation order, keyed by query (= user) key: `llmrec eval --cot` re-ranks
    the very passes whose NDCG it reports, so the test costs one forward pass per perturbation, not a rationale."""
    return [PassCase(key, done.rationale, done.order, done.shown) for key, done in passes.items()]


@dataclass(frozen=True)
class Change:
    user_id: str
    perturbation: str
    top1_changed: bool
    tau: float
    overlap3: float


def perturbed(explained: Sequence[CotCase], index: int, perturbation: str) -> str | None:
    """The altered rationale for user `index`, or None when the perturbation does not apply."""
    rationale = explained[index].rationale
    if perturbation == "same":
        return rationale
    if perturbation == "truncate":
        return truncate(rationale)
    if perturbation == "corrupt":
        if len(explained) < 2:
            return None
        return explained[(index + 1) % len(explained)].rationale
    if perturbation == "drop":
        return ""
    raise ValueError(f"unknown perturbation {perturbation!r}")


def cot_changes(
    llm: Recommender, explained: Sequence[CotCase], *, progress: bool = False, desc: str = "chain-of-thought tests"
) -> list[Change]:
    changes = []
    bar = tqdm(
        enumerate(explained), total=len(explained), desc=desc, unit="user", disable=not progress_enabled(progress)
    )
    for index, case in bar:
        for name in PERTURBATIONS:
            rationale = perturbed(explained, index, name)
            if rationale is None:
                continue
            order = rank(llm, case.shown, rationale).order
            changes.append(
                Change(
                    case.user_id,
                    name,
                    order[0] != case.order[0],
                    kendall_tau(case.order, order),
                    overlap_at(case.order, order),
                )
            )
    return changes


def cot_summary(changes: Sequence[Change]) -> list[dict[str, Any]]:
    rows = []
    for name in PERTURBATIONS:
        mine = [c for c in changes if c.perturbation == name]
        n = len(mine)
        rows.append(
            {
                "perturbation": name,
                "users": n,
                "top1_change_rate": sum(c.top1_changed for c in mine) / n if n else None,
                "mean_kendall_tau": sum(c.tau for c in mine) / n if n else None,
                "mean_overlap@3": sum(c.overlap3 for c in mine) / n if n else None,
            }
        )
    return rows
