"""Protocols: who is asked, over which candidates, with which answers; seeded and order-independent."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from evals import protocols
from evals.errors import (
    EvalConfigError,
    ProtocolNotApplicableError,
    ProtocolNotAvailableError,
    UnknownProtocolError,
)
from evals.protocols import (
    CandidateProtocol,
    Case,
    ConversationalProtocol,
    EvalProtocol,
    FullRankingProtocol,
    known_protocols,
    make_protocol,
    register_protocol,
    select_units,
)
from evals.systems import Query
from tests.evaldata import chats, make_items, shop
from tools.catalog import Dataset, UserHistory
from tools.splits import is_eval_user, split_users


def _cases(protocol: EvalProtocol, dataset: Dataset, seed: int = 2026) -> dict[str, Case]:
    units = protocol.unit_ids(dataset)
    return {c.query.key: c for c in protocol.cases(dataset, units, seed)}


def _eval_users(dataset: Dataset, split_seed: int = 2026) -> list[UserHistory]:
    return [u for u in dataset.test_users() if is_eval_user(u.user_id, split_seed)]


# --- candidates ---------------------------------------------------------------------------------------


def test_candidates_are_the_test_item_and_19_unseen_negatives() -> None:
    data = shop()
    cases = _cases(CandidateProtocol(), data)
    assert list(cases) == [u.user_id for u in _eval_users(data)]
    for user in _eval_users(data):
        case = cases[user.user_id]
        assert len(case.candidates) == 20 == len(set(case.candidates))
        assert case.targets == ((user.test,),)
        negatives = set(case.candidates) - {user.test}
        assert len(negatives) == 19
        assert not negatives & set(user.all_items)
        assert case.query.history == user.test_history
        assert case.query.domain == data.domain
        assert case.excluded == ()


def test_candidate_order_is_shuffled() -> None:
    cases = _cases(CandidateProtocol(), shop())
    positions = Counter(c.candidates.index(c.targets[0][0]) for c in cases.values())
    assert len(positions) > 5  # 40 evaluation users: the held-out item is not pinned to one slot


def test_candidates_repeat_with_the_seed_and_change_with_another() -> None:
    data = shop()
    first = _cases(CandidateProtocol(), data, seed=1)
    assert first == _cases(CandidateProtocol(), data, seed=1)
    other = _cases(CandidateProtocol(), data, seed=2)
    assert sum(first[k].candidates != other[k].candidates for k in first) > 0.8 * len(first)


def test_a_users_candidates_do_not_depend_on_the_other_users_or_their_order() -> None:
    data = shop()
    protocol = CandidateProtocol()
    everyone = _cases(protocol, data)
    ids = list(everyone)
    some = [ids[len(ids) // 2], ids[0], ids[-1]]
    alone = {c.query.key: c for c in protocol.cases(data, some, 2026)}
    assert list(alone) == some
    for uid in some:
        assert alone[uid] == everyone[uid]
    shuffled = Dataset(domain=data.domain, items=dict(reversed(data.items.items())), users=data.users[::-1])
    assert _cases(protocol, shuffled) == everyone


@pytest.mark.parametrize("num_items", [30, 200])
def test_negatives_are_uniform_over_unseen_items(num_items: int) -> None:
    # 30 items: 25 unseen, fewer than 2 x 19, so the explicit-pool branch; 200: the rejection-sampling one.
    items = make_items(num_items, "u")
    user = UserHistory("u", history=("i000", "i001", "i002"), valid="i003", test="i004")
    data = Dataset(domain="u", items=items, users=[user])
    protocol = CandidateProtocol(num_negatives=5)
    counts: Counter[str] = Counter()
    seeds = 3000
    for seed in range(seeds):
        (case,) = protocol.cases(data, ["u"], seed)
        counts.update(set(case.candidates) - {"i004"})
    unseen = num_items - 5
    assert set(counts) == set(items) - set(user.all_items)
    expected = seeds * 5 / unseen
    for count in counts.values():  # binomial SE is at most sqrt(expected) here; allow 5 of them
        assert abs(count - expected) < 5 * expected**0.5


def test_too_few_unseen_items_is_not_applicable() -> None:
    items = make_items(10, "u")
    data = Dataset(domain="u", items=items, users=[UserHistory("u", ("i000", "i001"), "i002", "i003")])
    with pytest.raises(ProtocolNotApplicableError, match="leaves 6 catalog items to sample 19"):
        list(CandidateProtocol().cases(data, ["u"], 0))


def test_user_protocols_need_test_users() -> None:
    with pytest.raises(ProtocolNotApplicableError, match="use --protocol conversational"):
        CandidateProtocol().unit_ids(chats())
    with pytest.raises(ProtocolNotApplicableError, match="held-out test item"):
        FullRankingProtocol().unit_ids(chats())


# --- the evaluation users ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["candidates", "full", "rerank"])
def test_user_protocols_ask_only_evaluation_users(name: str) -> None:
    data = shop(num_users=400)
    protocol = make_protocol(name)
    ids = protocol.unit_ids(data)
    assert ids == [u.user_id for u in _eval_users(data)]  # the project seed's split, in dataset order
    assert 0.2 * 400 < len(ids) < 0.3 * 400
    training, _ = split_users(data.users, 2026)
    assert not set(ids) & {u.user_id for u in training}  # no training user is ever asked
    assert set(select_units(ids, 50, 9)) <= set(ids)  # --users picks among them


def test_the_split_seed_is_the_project_seed_not_the_run_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    data = shop(num_users=400)
    assert CandidateProtocol(split_seed=7).unit_ids(data) == [u.user_id for u in _eval_users(data, 7)]
    assert CandidateProtocol(split_seed=7).unit_ids(data) != CandidateProtocol().unit_ids(data)
    monkeypatch.setenv("LLMREC_SEED", "7")  # the seed training reads too, so both sides move together
    assert make_protocol("full").unit_ids(data) == CandidateProtocol(split_seed=7).unit_ids(data)
    assert "split seed 7" in make_protocol("candidates").describe()


def test_a_domain_without_evaluation_users_says_so() -> None:
    data = shop(num_users=6)
    seed = next(s for s in range(1000) if not any(is_eval_user(u.user_id, s) for u in data.users))
    with pytest.raises(ProtocolNotApplicableError, match="no evaluation users: none of its 6 test users"):
        FullRankingProtocol(split_seed=seed).unit_ids(data)


# --- full ranking -------------------------------------------------------------------------------------


def test_full_ranking_shares_the_catalog_and_excludes_the_history() -> None:
    data = shop()
    cases = list(FullRankingProtocol().cases(data, [u.user_id for u in data.test_users()], 0))
    catalog = cases[0].candidates
    assert catalog == tuple(sorted(data.items))
    for case, user in zip(cases, data.test_users(), strict=True):
        assert case.candidates is catalog  # one tuple object: systems can cache per-catalog work
        excluded = {catalog[i] for i in case.excluded}
        assert excluded == set(user.test_history) - {user.test}
        assert case.targets == ((user.test,),)


def test_full_ranking_keeps_a_test_item_the_user_had_before() -> None:
    items = make_items(30, "u")
    user = UserHistory("u", history=("i001", "i002"), valid="i003", test="i001")  # bought again
    data = Dataset(domain="u", items=items, users=[user])
    (case,) = FullRankingProtocol().cases(data, ["u"], 0)
    assert {case.candidates[i] for i in case.excluded} == {"i002", "i003"}


# --- conversational ----------------------------------------------------------------------------------


def test_conversational_one_sample_per_gold_item() -> None:
    data = chats()
    protocol = ConversationalProtocol()
    cases = _cases(protocol, data)
    assert len(cases) == len(data.turns)
    for turn in data.turns:
        case = cases[f"{turn.dialog_id}/{turn.turn_id}"]
        assert case.targets == tuple((g,) for g in dict.fromkeys(turn.gold))
        assert case.candidates == tuple(sorted(data.items))
        assert case.query.user_id == turn.dialog_id
        assert case.query.turn_id == turn.turn_id
        assert case.query.context == turn.context
        assert case.query.history == turn.mentioned
    assert sum(len(c.targets) for c in cases.values()) > len(cases)  # some turns name two movies
    for turn in data.turns:
        case = cases[f"{turn.dialog_id}/{turn.turn_id}"]
        gold = tuple(dict.fromkeys(turn.gold))
        assert case.target_strata == tuple("mentioned" if g in turn.mentioned else "new" for g in gold)
        assert case.sample_strata() == case.target_strata
        assert case.excluded == () and case.dropped == 0
    strata = Counter(s for c in cases.values() for s in c.target_strata)
    assert strata["mentioned"] > 0 and strata["new"] > 0  # chats() repeats earlier answers in later contexts
    assert set(strata) == set(protocol.strata) == {"mentioned", "new"}


def test_conversational_exclude_mentioned_drops_and_excludes_mentioned_items() -> None:
    data = chats()
    protocol = make_protocol("conversational", exclude_mentioned=True)
    assert isinstance(protocol, ConversationalProtocol) and protocol.exclude_mentioned
    assert "new items only" in protocol.describe()
    cases = _cases(protocol, data)
    assert list(cases) == list(_cases(ConversationalProtocol(), data))  # the same turns are asked
    catalog = tuple(sorted(data.items))
    for turn in data.turns:
        case = cases[f"{turn.dialog_id}/{turn.turn_id}"]
        gold = tuple(dict.fromkeys(turn.gold))
        new = tuple(g for g in gold if g not in turn.mentioned)
        assert case.targets == tuple((g,) for g in new)
        assert case.dropped == len(gold) - len(new)
        assert {catalog[i] for i in case.excluded} == set(turn.mentioned)
        assert case.target_strata == ()  # every sample left is new: no groups to report
    assert sum(c.dropped for c in cases.values()) > 0
    assert any(not c.targets for c in cases.values())  # some turns only repeat mentioned movies


def test_case_checks_one_stratum_per_target() -> None:
    with pytest.raises(ValueError, match="2 targets but 1 target strata"):
        Case(query=Query("u", ()), candidates=("a", "b"), targets=(("a",), ("b",)), target_strata=("new",))
    case = Case(query=Query("u", ()), candidates=("a", "b"), targets=(("a",), ("b",)), stratum="found")
    assert case.sample_strata() == ("found", "found")


def test_conversational_skips_turns_without_gold_and_needs_turns() -> None:
    data = chats()
    emptied = Dataset(domain=data.domain, items=data.items, turns=[replace(data.turns[0], gold=()), *data.turns[1:]])
    assert len(ConversationalProtocol().unit_ids(emptied)) == len(data.turns) - 1
    with pytest.raises(ProtocolNotApplicableError, match="use --protocol candidates or full"):
        ConversationalProtocol().unit_ids(shop())


# --- subsampling --------------------------------------------------------------------------------------


def test_select_units_is_seeded_nested_and_order_preserving() -> None:
    ids = [f"u{i:04d}" for i in range(1000)]
    a = select_units(ids, 100, 2026)
    assert a == select_units(ids, 100, 2026)
    assert a == sorted(a)  # original order kept
    assert set(a) < set(select_units(ids, 300, 2026))
    assert set(a) != set(select_units(ids, 100, 7))
    assert set(select_units(ids[::-1], 100, 2026)) == set(a)  # the choice ignores the dataset order
    assert select_units(ids, None, 0) == ids
    assert select_units(ids, 5000, 0) == ids


def test_select_units_rejects_bad_n_and_repeated_ids() -> None:
    with pytest.raises(EvalConfigError, match="at least 1"):
        select_units(["a"], 0, 0)
    with pytest.raises(EvalConfigError, match="repeats"):
        select_units(["a", "a"], 1, 0)


# --- registry ----------------------------------------------------------------------------------------


def test_planned_protocols_explain_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocols, "PLANNED_PROTOCOLS", {"session": "protocol 'session' arrives later"})
    assert "session" in known_protocols()
    with pytest.raises(ProtocolNotAvailableError, match="arrives later"):
        make_protocol("session")


def test_unknown_protocol_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProtocolError, match="candidates, conversational, full, pipeline, rerank"):
        make_protocol("leave-one-out")


def test_a_later_issue_can_register_a_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocols, "_PROTOCOLS", dict(protocols._PROTOCOLS))

    class Custom(CandidateProtocol):
        name = "custom"

    register_protocol("custom", Custom)
    assert isinstance(make_protocol("custom"), Custom)
    with pytest.raises(EvalConfigError, match="already registered"):
        register_protocol("custom", CandidateProtocol)


def test_make_protocol_passes_options() -> None:
    protocol = make_protocol("candidates", num_negatives=99)
    assert protocol.num_candidates == 100
    assert "99 sampled negatives" in protocol.describe()


def test_an_option_the_protocol_lacks_is_a_config_error() -> None:
    with pytest.raises(EvalConfigError, match="has no option exclude_mentioned; it applies to: conversational"):
        make_protocol("candidates", exclude_mentioned=True)
