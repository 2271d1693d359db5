"""The harness: same cases for every system, no test labels at fit time, ties at random, errors named."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pytest

from evals import systems as systems_module
from evals.baselines import PopularityScorer, RandomScorer
from evals.errors import EvalConfigError, SystemOutputError, UnknownSystemError
from evals.harness import EvalResult, run_eval, training_view
from evals.metrics import Scores, analytic_random_ndcg
from evals.protocols import Case, ConversationalProtocol
from evals.systems import Query, Scorer, SystemContext, known_systems, make_system, register_system
from tests.evaldata import chats, shop, three_turns
from tools.catalog import Dataset
from tools.splits import is_eval_user


class Recorder:
    """Constant scores; remembers what it was fitted on and every candidate list it saw."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fitted_on: Dataset | None = None
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    def fit(self, dataset: Dataset) -> None:
        self.fitted_on = dataset

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        self.seen.append((query.key, tuple(candidate_ids)))
        return np.zeros(len(candidate_ids))


class Oracle:
    """Knows the answers (from outside the harness) and ranks them first: checks the metric pipeline."""

    name = "oracle"

    def __init__(self, answers: dict[str, set[str]], boost: dict[str, set[str]] | None = None) -> None:
        self.answers = answers
        self.boost = boost or {}

    def fit(self, dataset: Dataset) -> None:
        pass

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        wanted, boost = self.answers[query.key], self.boost.get(query.key, set())
        return [2.0 if c in boost else 1.0 if c in wanted else 0.0 for c in candidate_ids]


class Broken:
    name = "broken"

    def __init__(self, output: str) -> None:
        self.output = output

    def fit(self, dataset: Dataset) -> None:
        pass

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        if self.output == "short":
            return [0.0] * (len(candidate_ids) - 1)
        return [math.nan] * len(candidate_ids)


def test_baselines_satisfy_the_scorer_protocol() -> None:
    assert isinstance(RandomScorer(0), Scorer)
    assert isinstance(PopularityScorer(), Scorer)
    assert isinstance(Recorder("r"), Scorer)


def test_random_and_popularity_on_candidates() -> None:
    data = shop(num_users=360)  # 109 of them are evaluation users at the project seed
    evaluated = sum(is_eval_user(u.user_id, 2026) for u in data.test_users())
    result = run_eval(data, "candidates", ["random", "popularity"], seed=3, progress=False)
    assert isinstance(result, EvalResult)
    assert (result.protocol, result.users, result.samples, result.seed) == ("candidates", evaluated, evaluated, 3)
    assert result.num_candidates == 20
    assert list(result.systems) == ["random", "popularity"]
    for summaries in result.systems.values():
        assert list(summaries) == ["ndcg@10", "hr@1", "hr@5", "hr@10", "mrr"]
        for s in summaries.values():
            assert 0.0 <= s.mean <= 1.0
            assert s.stderr is not None and 0.0 < s.stderr < 0.1
            assert s.n == evaluated
    random_ndcg = result.systems["random"]["ndcg@10"]
    assert random_ndcg.stderr is not None
    assert abs(random_ndcg.mean - analytic_random_ndcg(20, 10)) < 4 * random_ndcg.stderr
    assert result.means("popularity")["ndcg@10"] > result.means("random")["ndcg@10"] + 0.1


def test_constant_scorer_scores_like_random() -> None:
    result = run_eval(shop(num_users=600), "candidates", [Recorder("constant")], progress=False)
    ndcg = result.systems["constant"]["ndcg@10"]
    assert ndcg.stderr is not None
    assert abs(ndcg.mean - analytic_random_ndcg(20, 10)) < 4 * ndcg.stderr


def test_every_system_sees_the_same_cases_and_only_the_training_view() -> None:
    data = shop()
    a, b = Recorder("a"), Recorder("b")
    run_eval(data, "candidates", [a, b], users=20, progress=False)  # 20 of the 40 evaluation users
    assert a.seen == b.seen
    assert len(a.seen) == 20
    for recorder in (a, b):
        assert recorder.fitted_on is not None
        assert all(u.test is None for u in recorder.fitted_on.users)
        assert [u.test_history for u in recorder.fitted_on.users] == [u.test_history for u in data.users]


def test_training_view_drops_gold_labels_of_dialogues() -> None:
    data = chats()
    view = training_view(data)
    assert all(t.gold == () for t in view.turns)
    assert [t.mentioned for t in view.turns] == [t.mentioned for t in data.turns]
    assert all(t.gold for t in data.turns)  # the original is untouched


def test_oracle_is_perfect_and_excluded_items_never_rank() -> None:
    data = shop()
    answers = {u.user_id: {u.test} for u in data.test_users() if u.test is not None}
    result = run_eval(data, "candidates", [Oracle(answers)], progress=False)
    assert result.means("oracle") == pytest.approx({"ndcg@10": 1, "hr@1": 1, "hr@5": 1, "hr@10": 1, "mrr": 1})
    # On the full protocol the oracle scores everything the user already has above the answer: had
    # the harness not dropped those items, the answer would sit below up to 8 of them.
    seen = {u.user_id: set(u.test_history) - {u.test} for u in data.users if u.test is not None}
    full = run_eval(data, "full", [Oracle(answers, boost=seen)], progress=False)
    assert full.means("oracle")["mrr"] == pytest.approx(1.0)
    assert full.means("oracle")["recall@20"] == pytest.approx(1.0)


def test_conversational_counts_each_gold_item() -> None:
    data = chats()
    answers = {f"{t.dialog_id}/{t.turn_id}": set(t.gold) for t in data.turns}
    result = run_eval(data, ConversationalProtocol(), [Oracle(answers), "random"], progress=False)
    assert result.unit == "turns"
    assert result.users == len(data.turns)
    assert result.samples == sum(len(set(t.gold)) for t in data.turns)
    means = result.means("oracle")
    assert list(means) == ["recall@1", "recall@5", "recall@10", "recall@20", "recall@50", "ndcg@10", "mrr"]
    # A turn with two gold items can put only one at rank 1: recall@1 = turns / samples.
    assert means["recall@1"] == pytest.approx(result.users / result.samples)
    assert means["recall@10"] == 1.0


def test_conversational_metrics_and_strata_by_hand() -> None:
    data, scorer = three_turns()
    result = run_eval(data, "conversational", [scorer], progress=False)
    assert (result.users, result.samples, result.dropped_samples, result.dropped_units) == (3, 4, 0, 0)
    # Samples: mentioned = g1 at rank 1, g4 at rank 3; new = g2 at rank 7, g3 at rank 30.
    expected = {
        "all": {"recall@1": 1 / 4, "recall@5": 2 / 4, "recall@10": 3 / 4, "recall@20": 3 / 4, "recall@50": 1.0,
                "ndcg@10": (1 + 1 / math.log2(4) + 1 / math.log2(8)) / 4, "mrr": (1 + 1 / 3 + 1 / 7 + 1 / 30) / 4},
        "mentioned": {"recall@1": 1 / 2, "recall@5": 1.0, "recall@10": 1.0, "recall@20": 1.0, "recall@50": 1.0,
                      "ndcg@10": (1 + 0.5) / 2, "mrr": (1 + 1 / 3) / 2},
        "new": {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 1 / 2, "recall@20": 1 / 2, "recall@50": 1.0,
                "ndcg@10": (1 / 3) / 2, "mrr": (1 / 7 + 1 / 30) / 2},
    }  # fmt: skip
    assert result.means("scripted") == pytest.approx(expected["all"])
    per = result.strata["scripted"]
    assert list(per) == ["mentioned", "new"]
    for stratum in ("mentioned", "new"):
        assert {m: s.mean for m, s in per[stratum].items()} == pytest.approx(expected[stratum])
        assert {s.n for s in per[stratum].values()} == {2}
    assert result.stratum_samples() == {"mentioned": 2, "new": 2}
    assert set(result.strata_notes) == {"mentioned", "new"}


def test_exclude_mentioned_by_hand() -> None:
    data, scorer = three_turns()
    result = run_eval(data, ConversationalProtocol(exclude_mentioned=True), [scorer], progress=False)
    # d1: g1 dropped and excluded, so g2 moves up from rank 7 to 6; d2: m6 excluded, g3 from 30 to 29;
    # d3: its only gold item was mentioned: dropped, the turn is not scored.
    assert (result.users, result.samples, result.dropped_samples, result.dropped_units) == (2, 2, 2, 1)
    assert result.means("scripted") == pytest.approx(
        {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.5, "recall@20": 0.5, "recall@50": 1.0,
         "ndcg@10": (1 / math.log2(7)) / 2, "mrr": (1 / 6 + 1 / 29) / 2}
    )  # fmt: skip
    assert result.strata == {} and result.strata_notes == {}  # all samples left are new


def test_a_stratum_the_protocol_does_not_declare_is_an_error() -> None:
    class Mislabelled(ConversationalProtocol):
        def cases(self, dataset: Dataset, unit_ids: Sequence[str], seed: int) -> Iterator[Case]:
            for case in super().cases(dataset, unit_ids, seed):
                yield replace(case, target_strata=("old",) * len(case.targets))

    data, scorer = three_turns()
    with pytest.raises(EvalConfigError, match="stratum 'old', which its `strata` does not declare"):
        run_eval(data, Mislabelled(), [scorer], progress=False)


def test_runs_repeat_exactly_and_subsample() -> None:
    data = shop()
    first = run_eval(data, "candidates", ["random", "popularity"], users=30, seed=9, progress=False)
    again = run_eval(data, "candidates", ["random", "popularity"], users=30, seed=9, progress=False)
    assert first.systems == again.systems
    assert first.users == 30


def test_the_run_seed_changes_the_cases_but_not_the_users() -> None:
    data = shop()
    one, two = Recorder("one"), Recorder("two")
    run_eval(data, "candidates", [one], seed=1, progress=False)
    run_eval(data, "candidates", [two], seed=2, progress=False)
    evaluation = [u.user_id for u in data.test_users() if is_eval_user(u.user_id, 2026)]
    assert [key for key, _ in one.seen] == [key for key, _ in two.seen] == evaluation
    assert [c for _, c in one.seen] != [c for _, c in two.seen]


def test_bad_system_output_is_named() -> None:
    with pytest.raises(SystemOutputError, match=r"'broken' returned scores of shape \(19,\) for 20"):
        run_eval(shop(), "candidates", [Broken("short")], progress=False)
    with pytest.raises(SystemOutputError, match="NaN"):
        run_eval(shop(), "candidates", [Broken("nan")], progress=False)


def test_system_list_errors() -> None:
    with pytest.raises(EvalConfigError, match="listed twice"):
        run_eval(shop(), "candidates", ["random", "random"], progress=False)
    with pytest.raises(EvalConfigError, match="no systems"):
        run_eval(shop(), "candidates", [], progress=False)
    with pytest.raises(UnknownSystemError, match=r"unknown system 'bm99'; known systems: .*bm25, .*dense, hybrid"):
        run_eval(shop(), "candidates", ["bm99"], progress=False)


# --- baselines --------------------------------------------------------------------------------------


def test_random_scorer_is_seeded_by_query_not_call_order() -> None:
    scorer = RandomScorer(seed=1)
    q1, q2 = Query("u1", ()), Query("u2", ())
    cands = ["a", "b", "c"]
    first = scorer.score(q1, cands)
    scorer.score(q2, cands)
    assert np.array_equal(first, scorer.score(q1, cands))
    assert not np.array_equal(first, RandomScorer(seed=2).score(q1, cands))


def test_popularity_counts_training_interactions_only() -> None:
    data = shop()
    scorer = PopularityScorer()
    scorer.fit(training_view(data))
    catalog = tuple(sorted(data.items))
    scores = dict(zip(catalog, scorer.score(Query("u000", ()), catalog), strict=True))
    expected: dict[str, int] = {}
    for u in data.users:
        for i in u.test_history:
            expected[i] = expected.get(i, 0) + 1
    assert scores == {i: float(expected.get(i, 0)) for i in catalog}
    only_tested = {u.test for u in data.users} - set(expected)
    assert all(scores[i] == 0.0 for i in only_tested)


def test_popularity_on_dialogues_leaves_the_querys_own_dialogue_out() -> None:
    data = chats()
    scorer = PopularityScorer()
    scorer.fit(training_view(data))
    catalog = tuple(sorted(data.items))
    dialogues: dict[str, set[str]] = {}
    for t in data.turns:
        dialogues.setdefault(t.dialog_id, set()).update(t.mentioned)
    turn = data.turns[0]
    got = dict(zip(catalog, scorer.score(Query(turn.dialog_id, (), turn_id=turn.turn_id), catalog), strict=True))
    for item in catalog:
        others = sum(item in items for d, items in dialogues.items() if d != turn.dialog_id)
        assert got[item] == others
    # Gold items are never counted: an item that is only ever a final answer scores 0.
    final_answers = {g for t in data.turns for g in t.gold} - {i for s in dialogues.values() for i in s}
    assert all(got[i] == 0 for i in final_answers)


def test_popularity_beats_random_on_dialogues() -> None:
    result = run_eval(chats(num_dialogues=80), "conversational", ["random", "popularity"], progress=False)
    assert result.means("popularity")["recall@10"] > result.means("random")["recall@10"]


# --- registry ---------------------------------------------------------------------------------------


def test_registry_lists_builtins_and_accepts_new_systems(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"random", "popularity"} <= set(known_systems())
    monkeypatch.setattr(systems_module, "_FACTORIES", dict(systems_module._FACTORIES))

    def make_constant(ctx: SystemContext) -> Scorer:
        return Recorder("constant")

    register_system("constant", make_constant)
    assert "constant" in known_systems()
    assert isinstance(make_system("constant"), Recorder)
    with pytest.raises(EvalConfigError, match="already registered"):
        register_system("constant", lambda ctx: Recorder("other"))
    with pytest.raises(EvalConfigError, match="invalid system name"):
        register_system("a,b", make_constant)


def test_make_system_passes_the_seed() -> None:
    scorer = make_system("random", SystemContext(seed=5))
    assert isinstance(scorer, RandomScorer)
    assert scorer.seed == 5


def test_paired_differences_have_the_standard_error_of_the_difference() -> None:
    from evals.harness import paired_differences

    rng = np.random.default_rng(0)
    prior = rng.uniform(0, 1, 400).tolist()
    agent = [p + 0.01 for p in prior]  # the same samples, shifted: the difference is exact
    other = rng.uniform(0, 1, 400).tolist()
    out = paired_differences({"prior": {"ndcg@10": prior}, "agent": {"ndcg@10": agent}, "x": {"ndcg@10": other}})
    assert set(out) == {"agent - prior", "x - prior"}
    shifted = out["agent - prior"]["ndcg@10"]
    assert abs(shifted.mean - 0.01) < 1e-9 and shifted.stderr is not None and shifted.stderr < 1e-9
    unrelated = out["x - prior"]["ndcg@10"]
    assert unrelated.stderr is not None and unrelated.stderr > 0.01  # independent samples: no such shrinkage
    assert paired_differences({"agent": {"ndcg@10": agent}}) == {}  # no reference in the run


class SlowConcurrent:
    """Scores by a hash of (query, item), after a short sleep, and may be called from several threads at once."""

    concurrent = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.threads: set[str] = set()

    def fit(self, dataset: Dataset) -> None:
        pass

    def score(self, query: Query, candidate_ids: Sequence[str]) -> Scores:
        self.threads.add(threading.current_thread().name)
        time.sleep(0.002)
        return [float(hash((query.key, c)) % 1000) for c in candidate_ids]


def test_concurrent_scoring_gives_the_same_figures() -> None:
    # `llmrec eval --workers N`: systems behind a batching server score N cases at a time; nothing else changes.
    data = shop(num_users=40, num_items=60)
    one = run_eval(data, "candidates", [SlowConcurrent("s"), RandomScorer(5)], seed=5, progress=False)
    many_system = SlowConcurrent("s")
    many = run_eval(data, "candidates", [many_system, RandomScorer(5)], seed=5, progress=False, workers=4)
    assert len(many_system.threads) > 1
    for name in ("s", "random"):
        assert one.means(name) == many.means(name)
    assert one.paired == many.paired and one.users == many.users
