"""Evaluation protocols: which queries are asked, which candidates each is ranked over, what counts as a hit.

A protocol turns a dataset into `Case`s; the harness scores every case with every system. Built in:

- `candidates` (the paper's and RecLM-eval's): per evaluation user, the held-out test item plus 19 negatives drawn
  uniformly without replacement from catalog items the user never interacted with (`all_items`), shuffled;
  the query history is `test_history`. NDCG@10, HR@1/5/10, MRR.
- `full`: per evaluation user, the whole catalog minus the user's `test_history` (the test item itself always stays
  in, even when the user bought it before). Recall@20/50, NDCG@10, HR@10, MRR.
- `conversational` (ReDial and any ReDial-format domain): per recommendation turn, the whole catalog given the
  dialogue context. As in CRSLab and the KBRD / KGSF / UniCRS papers, each (turn, gold item) pair is one sample, a
  hit at k when that item is in the top k: a turn naming two movies counts twice, and Recall@k is the share of
  samples hit. Recall@1/5/10/20/50 (the CIKM'23 zero-shot LLM CRS papers report 1/5/10/20), NDCG@10, MRR, also
  per stratum: "mentioned" (the gold item is already in the context, i.e. the query's history: 9.7% of ReDial's
  samples, where retrievers earn most of their hits) and "new". Items already mentioned in the context stay
  rankable (CRSLab does the same) unless `exclude_mentioned` (`--exclude-mentioned`, the CIKM'23 paper's
  "new items only"): then they are excluded from the ranking (`Case.excluded`) and mentioned gold samples are
  dropped (`Case.dropped`; a turn left without gold is not scored).
- `rerank` (evals/rerank.py): per evaluation user, the hybrid retriever's top 20 with the held-out item put in.

Users: the user protocols ask only evaluation users, the test users on the evaluation side of the fixed user
split of `tools.splits` (a quarter of them, `EVAL_SHARE`); training takes its examples only from the other side.
The split seed is the project seed (`DataSettings().seed`: LLMREC_SEED, else 2026), read when a protocol is made
unless given as `split_seed`; it is not the run seed of `cases` and `select_units`, so `--seed` changes negatives,
subsamples and tie-breaks but never lets a training user into an evaluation.

Randomness: a user's negatives and order come from a generator seeded by (seed, user id), and `select_units`
keeps the N units (of the evaluation users) with the smallest (seed, unit id) hash, so a user's candidates never
depend on which other users are evaluated, the same N and seed give the same units, and a smaller N gives a subset
of a larger one.

Registering a protocol (what the retrieval issue does for `rerank`)::

    register_protocol("rerank", RerankProtocol)

after which `make_protocol("rerank")` returns it and the planned-protocol message no longer applies.
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from evals.errors import (
    EvalConfigError,
    ProtocolNotApplicableError,
    ProtocolNotAvailableError,
    UnknownProtocolError,
)
from evals.seeding import derive_seed, derived_random
from evals.systems import Query
from tools.catalog import Dataset, UserHistory
from tools.settings import DataSettings
from tools.splits import EVAL_SHARE, is_eval_user


@dataclass(frozen=True)
class Case:
    """One query of a protocol, ranked by every system over the same candidates."""

    query: Query
    candidates: tuple[str, ...]
    """Ids the systems score; catalog-wide protocols share one tuple object across all cases."""
    targets: tuple[tuple[str, ...], ...]
    """One relevant-id set per metric sample: `((test,),)` for a user, `(gold,)` per gold item of a turn."""
    excluded: tuple[int, ...] = ()
    """Positions in `candidates` scored but dropped before ranking (the full protocol's seen items)."""
    stratum: str | None = None
    """The group this case's samples are also reported in (`EvalProtocol.strata`), e.g. the rerank protocol's
    "found" (the retriever found the held-out item) or "put_in"; None when the protocol has no groups."""
    target_strata: tuple[str, ...] = ()
    """One stratum per target, when the samples of one case fall in different groups (the conversational
    protocol's "mentioned" / "new" gold items); empty: every target is in `stratum`."""
    dropped: int = 0
    """Metric samples the protocol left out of `targets` (mentioned gold items under `exclude_mentioned`); the
    report counts them. A case with no targets left is not scored."""

    def __post_init__(self) -> None:
        if self.target_strata and len(self.target_strata) != len(self.targets):
            raise ValueError(f"{len(self.targets)} targets but {len(self.target_strata)} target strata")

    def sample_strata(self) -> tuple[str | None, ...]:
        """The stratum of each target, in order (None: reported overall only)."""
        return self.target_strata or (self.stratum,) * len(self.targets)


class EvalProtocol(ABC):
    """A way of turning a dataset into ranking cases. Subclasses set the class attributes below."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    """Metric names (see `evals.metrics.parse_metric`) averaged over all samples."""
    unit: ClassVar[str] = "users"
    """What one evaluated unit is, for reports: "users" or "turns"."""
    num_candidates: int | None = None
    """Candidates per query when fixed (20 for `candidates`); None when it is the catalog."""
    strata: ClassVar[dict[str, str]] = {}
    """Stratum name -> what it means; the report gives every metric per stratum. Empty: no groups."""

    @abstractmethod
    def describe(self) -> str:
        """One line for reports, e.g. "1 held-out item + 19 sampled negatives per user"."""

    @abstractmethod
    def unit_ids(self, dataset: Dataset) -> list[str]:
        """Ids of all units the protocol can evaluate, in dataset order; raises ProtocolNotApplicableError."""

    @abstractmethod
    def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
        """One case per unit id (same order), built deterministically from `seed`."""

    def stats(self) -> dict[str, Any]:
        """Figures about the cases built so far for the report (e.g. a first stage's recall); none by default."""
        return {}


def select_units(unit_ids: Sequence[str], n: int | None, seed: int) -> list[str]:
    """The N units with the smallest seeded hash of their id, in their original order; all if N is None.

    Same ids, N and seed give the same units; N=100 is a subset of N=200; N above the total gives all.
    """
    if n is None:
        return list(unit_ids)
    if n < 1:
        raise EvalConfigError(f"--users must be at least 1, got {n}")
    if len(set(unit_ids)) != len(unit_ids):
        raise EvalConfigError("the dataset repeats a user or turn id, so a subsample would be ambiguous")
    chosen = set(sorted(unit_ids, key=lambda u: derive_seed(seed, "subsample", u))[:n])
    return [u for u in unit_ids if u in chosen]


class _UserProtocol(EvalProtocol):
    split_seed: int
    """Seed of the training / evaluation user split (`tools.splits`): the project seed unless given."""

    def __init__(self, *, split_seed: int | None = None) -> None:
        self.split_seed = DataSettings().seed if split_seed is None else split_seed

    def _per_user(self) -> str:
        return f"per evaluation user (split seed {self.split_seed})"

    def unit_ids(self, dataset: Dataset) -> list[str]:
        """The evaluation users (`tools.splits.is_eval_user`) among the users with a held-out test item."""
        users = dataset.test_users()
        if not users:
            hint = " (it has dialogue turns: use --protocol conversational)" if dataset.turns else ""
            raise ProtocolNotApplicableError(
                f"protocol {self.name!r} needs users with a held-out test item; domain {dataset.domain!r} "
                f"has none{hint}"
            )
        ids = [u.user_id for u in users if is_eval_user(u.user_id, self.split_seed)]
        if not ids:
            raise ProtocolNotApplicableError(
                f"domain {dataset.domain!r} has no evaluation users: none of its {len(users)} test users falls "
                f"in the {EVAL_SHARE:.0%} held out from training at split seed {self.split_seed}"
            )
        return ids

    @staticmethod
    def _users(dataset: Dataset, unit_ids: Sequence[str]) -> Iterator[UserHistory]:
        by_id = {u.user_id: u for u in dataset.test_users()}
        for uid in unit_ids:
            yield by_id[uid]

    @staticmethod
    def _query(dataset: Dataset, user: UserHistory) -> Query:
        return Query(user_id=user.user_id, history=user.test_history, domain=dataset.domain)


class CandidateProtocol(_UserProtocol):
    """The held-out test item among `num_negatives` negatives the user never interacted with."""

    name = "candidates"
    metrics = ("ndcg@10", "hr@1", "hr@5", "hr@10", "mrr")

    def __init__(self, num_negatives: int = 19, *, split_seed: int | None = None) -> None:
        super().__init__(split_seed=split_seed)
        if num_negatives < 1:
            raise EvalConfigError(f"num_negatives must be at least 1, got {num_negatives}")
        self.num_negatives = num_negatives
        self.num_candidates = num_negatives + 1

    def describe(self) -> str:
        return f"1 held-out item + {self.num_negatives} sampled negatives {self._per_user()}"

    def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
        catalog = sorted(dataset.items)  # sorted: the draw must not depend on the loader's item order
        for user in self._users(dataset, unit_ids):
            assert user.test is not None  # test_users() guarantees it
            rng = derived_random(seed, self.name, user.user_id)
            seen = set(user.all_items)
            available = len(catalog) - len(seen)
            if available < self.num_negatives:
                raise ProtocolNotApplicableError(
                    f"user {user.user_id} of {dataset.domain!r} leaves {available} catalog items to sample "
                    f"{self.num_negatives} negatives from"
                )
            if available >= 2 * self.num_negatives:
                # Rejection sampling: each accepted draw is uniform over the allowed items not yet drawn,
                # so this is uniform sampling without replacement, at 19 draws instead of a 4k-item pool.
                drawn: list[str] = []
                taken = set(seen)
                while len(drawn) < self.num_negatives:
                    item = catalog[rng.randrange(len(catalog))]
                    if item not in taken:
                        taken.add(item)
                        drawn.append(item)
            else:
                drawn = rng.sample([i for i in catalog if i not in seen], self.num_negatives)
            candidates = [user.test, *drawn]
            rng.shuffle(candidates)  # LLM rankers read the list in order: the answer must not always be first
            yield Case(query=self._query(dataset, user), candidates=tuple(candidates), targets=((user.test,),))


class FullRankingProtocol(_UserProtocol):
    """The held-out test item ranked against the whole catalog minus what the user already has."""

    name = "full"
    metrics = ("recall@20", "recall@50", "ndcg@10", "hr@10", "mrr")

    def describe(self) -> str:
        return f"the whole catalog minus the user's history, {self._per_user()}"

    def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
        catalog = tuple(sorted(dataset.items))
        position = {item: i for i, item in enumerate(catalog)}
        for user in self._users(dataset, unit_ids):
            assert user.test is not None
            seen = set(user.test_history) - {user.test}
            yield Case(
                query=replace(self._query(dataset, user), exclude=tuple(sorted(seen))),
                candidates=catalog,
                targets=((user.test,),),
                excluded=tuple(sorted(position[i] for i in seen)),
            )


class ConversationalProtocol(EvalProtocol):
    """Each recommendation turn ranks the whole catalog; each gold item is one sample (see the module docstring)."""

    name = "conversational"
    metrics = ("recall@1", "recall@5", "recall@10", "recall@20", "recall@50", "ndcg@10", "mrr")
    unit = "turns"
    strata: ClassVar[dict[str, str]] = {
        "mentioned": "the gold item was already mentioned in the dialogue context (the query's history): "
        "a retriever matching the context's titles finds it",
        "new": "the gold item is not mentioned in the context (what --exclude-mentioned keeps)",
    }

    def __init__(self, *, exclude_mentioned: bool = False) -> None:
        self.exclude_mentioned = exclude_mentioned

    def describe(self) -> str:
        text = "the whole catalog per dialogue turn, one sample per gold item"
        if self.exclude_mentioned:
            text += "; items mentioned in the context excluded from the ranking and from the gold (new items only)"
        return text

    def unit_ids(self, dataset: Dataset) -> list[str]:
        turns = [t for t in dataset.turns if t.gold]
        if not turns:
            hint = " (it has users: use --protocol candidates or full)" if dataset.users else ""
            raise ProtocolNotApplicableError(
                f"protocol {self.name!r} needs dialogue turns with gold items; domain {dataset.domain!r} has none{hint}"
            )
        return [_turn_key(t.dialog_id, t.turn_id) for t in turns]

    def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
        catalog = tuple(sorted(dataset.items))
        position = {item: i for i, item in enumerate(catalog)}
        by_key = {_turn_key(t.dialog_id, t.turn_id): t for t in dataset.turns}
        for key in unit_ids:
            turn = by_key[key]
            query = Query(
                user_id=turn.dialog_id,
                history=turn.mentioned,
                context=turn.context,
                domain=dataset.domain,
                turn_id=turn.turn_id,
            )
            gold = tuple(dict.fromkeys(turn.gold))  # a movie named twice in one response is one sample
            mentioned = set(turn.mentioned)
            if self.exclude_mentioned:
                new = tuple(g for g in gold if g not in mentioned)
                yield Case(
                    query=replace(query, exclude=tuple(i for i in turn.mentioned if i in position)),
                    candidates=catalog,
                    targets=tuple((g,) for g in new),
                    excluded=tuple(sorted(position[i] for i in mentioned if i in position)),
                    dropped=len(gold) - len(new),
                )
            else:
                yield Case(
                    query=query,
                    candidates=catalog,
                    targets=tuple((g,) for g in gold),
                    target_strata=tuple("mentioned" if g in mentioned else "new" for g in gold),
                )


def _turn_key(dialog_id: str, turn_id: str) -> str:
    return f"{dialog_id}/{turn_id}"  # equals Query.key of the turn's query


ProtocolFactory = Callable[..., EvalProtocol]

PLANNED_PROTOCOLS: dict[str, str] = {}
"""Protocols that are designed but not built yet, with the sentence a user sees when asking for one."""

_PROTOCOLS: dict[str, ProtocolFactory] = {
    CandidateProtocol.name: CandidateProtocol,
    FullRankingProtocol.name: FullRankingProtocol,
    ConversationalProtocol.name: ConversationalProtocol,
}


def register_protocol(name: str, factory: ProtocolFactory, *, replace: bool = False) -> None:
    """Make `factory(**options)` available as `make_protocol(name, **options)`."""
    if name in _PROTOCOLS and not replace and _PROTOCOLS[name] is not factory:
        raise EvalConfigError(f"a protocol named {name!r} is already registered")
    _PROTOCOLS[name] = factory


BUILTIN_PROTOCOL_MODULES: tuple[str, ...] = ("evals.rerank", "evals.pipeline")
"""Modules that register protocols when imported (they need retrieval, so they load on first use)."""


def _import_builtins() -> None:
    for module in BUILTIN_PROTOCOL_MODULES:
        importlib.import_module(module)


def known_protocols() -> list[str]:
    """Registered and planned protocol names, sorted."""
    _import_builtins()
    return sorted(set(_PROTOCOLS) | set(PLANNED_PROTOCOLS))


def _accepts(factory: ProtocolFactory, options: dict[str, Any]) -> bool:
    try:
        inspect.signature(factory).bind(**options)
    except TypeError:
        return False
    return True


def make_protocol(name: str, **options: Any) -> EvalProtocol:
    """The protocol registered as `name`; a planned one raises ProtocolNotAvailableError saying why."""
    if name not in _PROTOCOLS:
        _import_builtins()
    if name in _PROTOCOLS:
        factory = _PROTOCOLS[name]
        try:
            inspect.signature(factory).bind(**options)
        except TypeError:
            taking = [p for p, f in _PROTOCOLS.items() if _accepts(f, options)]
            raise EvalConfigError(
                f"protocol {name!r} has no option {', '.join(sorted(options))}"
                + (f"; it applies to: {', '.join(taking)}" if taking else "")
            ) from None
        return factory(**options)
    if name in PLANNED_PROTOCOLS:
        raise ProtocolNotAvailableError(PLANNED_PROTOCOLS[name])
    raise UnknownProtocolError(name, known_protocols())
