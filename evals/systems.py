"""What a recommender system must offer to be evaluated, and the registry that names systems.

A system is anything that scores a query's candidates (`Scorer`). The harness fits each system once per run on
a view of the dataset with every held-out test item and gold label removed, then calls `score` once per query
with that query's candidates; it ranks them itself (ties broken at random), so systems only return scores.

Registering a system (what later issues do for bm25, dense, hybrid, llm-base, llm-rec)::

    from evals.systems import SystemContext, register_system

    def make_bm25(ctx: SystemContext) -> Scorer:
        return BM25Scorer(settings=ctx.settings)

    register_system("bm25", make_bm25)

and add the module's name to `BUILTIN_SYSTEM_MODULES` so that `make_system("bm25")` finds it without the
caller importing it first. Nothing in the harness, the report or the CLI changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from evals.errors import EvalConfigError, UnknownSystemError
from evals.metrics import Scores
from tools.catalog import Dataset
from tools.settings import DataSettings


@dataclass(frozen=True)
class Query:
    """What a system may know when it ranks one query's candidates."""

    user_id: str
    """The user the ranking is for; on ReDial, the dialogue id (one seeker per dialogue)."""
    history: tuple[str, ...]
    """Item ids the user interacted with, oldest first; on ReDial, the items mentioned in the context."""
    context: tuple[str, ...] = ()
    """Dialogue utterances before the recommendation, oldest first (ReDial); empty for history-only data."""
    domain: str = ""
    """The dataset domain (`scientific`, `clothing`, `redial`...)."""
    turn_id: str | None = None
    """The dialogue turn (ReDial); None for user-level protocols."""
    exclude: tuple[str, ...] = ()
    """Items the protocol drops from the ranking whatever their score (its `Case.excluded`), so a system with a
    first stage of its own does not spend places on them."""

    @property
    def key(self) -> str:
        """A unique, stable id of the query within a run (user id, or dialogue id / turn id)."""
        return self.user_id if self.turn_id is None else f"{self.user_id}/{self.turn_id}"


@runtime_checkable
class Scorer(Protocol):
    """A system under evaluation.

    `fit` is called once per run, before any `score`, with the training view of the dataset: users keep
    `history` and `valid` (their `test_history`) but not `test`, and dialogue turns keep their context and
    mentioned items but not `gold`. `score` returns one score per candidate, higher is better, in the order
    of `candidate_ids`, as a sequence of floats or a 1-D numpy array. The full-ranking protocols pass the
    whole catalog (the same tuple object for every query), so score in bulk with numpy, not item by item.
    """

    name: str

    def fit(self, dataset: Dataset) -> None: ...

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores: ...


@dataclass(frozen=True)
class SystemContext:
    """What a system factory receives. New fields get defaults, so existing factories keep working."""

    seed: int = 2026
    """The run seed; a system that draws random numbers derives its own seeds from it."""
    settings: DataSettings = field(default_factory=DataSettings)
    """Where caches and indexes may be written (`settings.data_dir`)."""


SystemFactory = Callable[[SystemContext], Scorer]

BUILTIN_SYSTEM_MODULES: tuple[str, ...] = (
    "evals.baselines",
    "evals.retrieval_systems",
    "evals.sequential_systems",
    "evals.llm_systems",
    "evals.teacher_system",
)
"""Modules that register systems when imported; `make_system` imports them on first use."""

_FACTORIES: dict[str, SystemFactory] = {}
_builtins_loaded = False


def register_system(name: str, factory: SystemFactory, *, replace: bool = False) -> None:
    """Make `factory` available as `make_system(name)`; registering a taken name needs `replace=True`."""
    if not name or "," in name or name != name.strip():
        raise EvalConfigError(f"invalid system name {name!r}: use a non-empty name without commas or spaces")
    if name in _FACTORIES and not replace and _FACTORIES[name] is not factory:
        raise EvalConfigError(f"a system named {name!r} is already registered")
    _FACTORIES[name] = factory


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        for module in BUILTIN_SYSTEM_MODULES:
            importlib.import_module(module)
        _builtins_loaded = True


def known_systems() -> list[str]:
    """Names `make_system` accepts, sorted."""
    _load_builtins()
    return sorted(_FACTORIES)


def make_system(name: str, context: SystemContext | None = None) -> Scorer:
    """A new, unfitted system registered as `name`; raises `UnknownSystemError` listing the known names."""
    _load_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise UnknownSystemError(name, _FACTORIES) from None
    return factory(context if context is not None else SystemContext())
