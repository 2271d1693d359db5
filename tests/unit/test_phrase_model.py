"""The learned word tagger of a request's wanted phrases (agent/phrase_model.py): labels aligned onto words and
decoded back, the fit, the saved weights, the rules' phrases when it finds none, and its words in the profile and in
the planner's search. The shipped tagger with the packaged MiniLM is read in a real test at the end; its figures are
measured by `llmrec eval --protocol understanding` and `python -m evals.phrase_tagger`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from agent import nodes
from agent.language import read_word_spans
from agent.phrase_model import (
    PhraseModel,
    PhraseModelError,
    RulesReading,
    TaggedLine,
    aligned,
    decode,
    fit_phrase_model,
    line_rows,
    open_phrase_model,
    phrase_words,
    served_wanted,
    viterbi,
    with_filter_words,
)
from agent.profile import search_query, thing_query
from agent.understanding import PreviousPick, read_message
from tests.unit.hash_encoder import HashEncoder


def test_the_decoder_reads_only_well_formed_phrases() -> None:
    tags = ["B-U", "B-W", "I-U", "I-W", "O"]
    # Word by word, "digital" reads I-W after an O (0.5 against B-W's 0.3): no phrase starts with a continuation,
    # so the best well-formed reading makes it the start of "digital caliper".
    probs = np.array([[0.05, 0.05, 0.05, 0.05, 0.8], [0.05, 0.3, 0.05, 0.5, 0.1], [0.05, 0.1, 0.05, 0.7, 0.1]])
    logits = np.log(probs)
    assert [tags[k] for k in np.argmax(logits, axis=1)] == ["O", "I-W", "I-W"]
    assert viterbi(tags, logits) == ["O", "B-W", "I-W"]
    # On any scores, every continuation follows a word of its own kind, and a first word never continues.
    rng = np.random.default_rng(7)
    for _ in range(200):
        path = viterbi(tags, rng.normal(size=(6, 5)) * 3)
        for before, tag in zip(["O", *path], path, strict=False):
            assert not tag.startswith("I-") or before[2:] == tag[2:], path
    model = PhraseModel("e", tags, np.eye(5).tolist(), [0.0] * 5, {})
    assert model.tag(logits) == ["O", "B-W", "I-W"] and model.tag(logits, structured=False) == ["O", "I-W", "I-W"]


def test_labels_align_onto_words_and_decode_back() -> None:
    text, spans = read_word_spans("latex-free gloves, no Polyester please")
    assert [text[a:b] for _, a, b in spans] == ["latex-free", "gloves", ",", "no", "polyester", "please"]
    tags, complete = aligned(spans, {"W": ["gloves"], "U": ["latex", "polyester"]})
    assert complete
    assert tags == ["B-U", "B-W", "O", "O", "B-U", "O"]
    assert decode(spans, tags) == (["gloves"], ["latex", "polyester"])


def test_a_phrase_that_is_not_in_the_message_leaves_the_line_out() -> None:
    _, spans = read_word_spans("a digital caliper")
    tags, complete = aligned(spans, {"W": ["digital caliper", "large lcd"], "U": []})
    assert not complete
    assert tags == ["O", "B-W", "I-W"]


def test_an_orphan_inside_tag_starts_a_phrase_and_a_phrase_comes_once() -> None:
    _, spans = read_word_spans("men's bootcut jeans")
    assert decode(spans, ["O", "I-W", "I-W"]) == (["bootcut jeans"], [])
    assert decode(spans, ["B-W", "B-W", "I-U"]) == (["men's", "bootcut"], ["jeans"])
    _, spans = read_word_spans("a polo from us polo")
    assert decode(spans, ["O", "B-W", "O", "O", "B-W"]) == (["polo"], [])


def _line(message: str, rules: list[str], gold: list[str]) -> TaggedLine:
    return TaggedLine(message, RulesReading("request", rules, []), gold, [])


# The rules keep "market" and "browsing" as wanted words; the labels do not.
LINES = [
    _line("in the market for a pea coat", ["market", "pea coat"], ["pea coat"]),
    _line("in the market for nitrile gloves", ["market", "nitrile gloves"], ["nitrile gloves"]),
    _line("browsing for a wool scarf", ["browsing", "wool scarf"], ["wool scarf"]),
    _line("browsing for safety goggles", ["browsing", "safety goggles"], ["safety goggles"]),
    _line("I need a digital caliper", ["digital caliper"], ["digital caliper"]),
    _line("I need a lab coat", ["lab coat"], ["lab coat"]),
]


def _fitted(alpha: float = 1e-4) -> PhraseModel:
    encoder = HashEncoder()
    rows = [row for row in (line_rows(encoder, line) for line in LINES) if row]
    return fit_phrase_model(encoder.identity, rows, alpha=alpha, fitted_on={"test": True})


def test_the_tagger_learns_where_to_overrule_the_rules_saves_and_loads(tmp_path: Path) -> None:
    model = _fitted()
    assert model.fitted_on["lines"] == len(LINES)
    rules = RulesReading("request", ["market", "hiking boots"], [])
    assert model.phrases(HashEncoder(), "in the market for hiking boots", rules) == (["hiking boots"], [])
    model.save(tmp_path / "phrase_model.json")
    loaded = PhraseModel.load(tmp_path / "phrase_model.json")
    x = line_rows(HashEncoder(), LINES[0])
    assert x is not None and loaded.tag(x[0]) == model.tag(x[0])
    assert open_phrase_model(tmp_path / "missing.json") is None


def test_weights_for_another_encoder_are_refused() -> None:
    other = HashEncoder()
    other.identity = "another-encoder"
    try:
        _fitted().phrases(other, "a pea coat", RulesReading("request", ["pea coat"], []))
    except PhraseModelError as exc:
        assert "llmrec train intent" in str(exc)
    else:
        raise AssertionError("weights of another encoder were used")


def test_nothing_to_fit_is_a_clear_error() -> None:
    encoder = HashEncoder()
    row = line_rows(encoder, _line("a pea coat", ["pea coat"], ["duffle coat"]))
    assert row is not None and not row[2]  # the label is not in the message
    try:
        fit_phrase_model(encoder.identity, [row])
    except PhraseModelError as exc:
        assert "aligns" in str(exc)
    else:
        raise AssertionError("fitted on nothing")


def _silent() -> PhraseModel:
    """A tagger that tags every word O."""
    model = _fitted()
    intercept = [100.0 if tag == "O" else -100.0 for tag in model.tags]
    return replace(model, intercept=intercept)


def test_a_request_the_tagger_finds_nothing_in_keeps_the_rules_phrases_and_a_dispute_does_not() -> None:
    rules = RulesReading("request", ["pea coat"], [])
    assert served_wanted(_silent(), HashEncoder(), "a pea coat", rules) == ["pea coat"]
    assert served_wanted(None, None, "a pea coat", rules) == ["pea coat"]
    # A disputed pick often comes with no wish ("I already own B"): what the tagger finds stands, nothing included.
    owned = RulesReading("dispute", ["own"], [], ["A", "B"], "owned")
    assert served_wanted(_silent(), HashEncoder(), "I already own B", owned) == []
    # A claim's wishes stay with the rules (a correction keeps wanting what it says the pick is not).
    claim = RulesReading("dispute", ["multimeter"], [], ["A"], "claim")
    assert served_wanted(_silent(), HashEncoder(), "a pH meter is not a multimeter", claim) == ["multimeter"]
    accept = RulesReading("accept", [], [], ["A"])
    assert served_wanted(_fitted(), HashEncoder(), "I'll take A", accept) == []


def test_a_message_past_the_encoders_window_is_tagged_and_a_pasted_page_is_read_by_the_rules() -> None:
    rules = RulesReading("request", ["market", "hiking boots"], [])
    # 245 words: past the encoder's 128 word pieces, the words keep their lexical features and a zero vector.
    story = "in the market for hiking boots " + "and more " * 120
    assert _fitted().phrases(HashEncoder(), story, rules) is not None
    page = "in the market for hiking boots " + "and more " * 130  # 265 words: more than MAX_TAGGED_WORDS
    assert _fitted().phrases(HashEncoder(), page, rules) is None
    assert served_wanted(_fitted(), HashEncoder(), page, rules) == ["market", "hiking boots"]


def test_the_profile_words_of_phrases_leave_out_filler_relatives_and_labels() -> None:
    assert phrase_words(["pea coat", "please", "my sister", "B"], ["A", "B"]) == ["pea", "coat"]


def test_the_reading_and_the_graph_take_a_requests_words_from_the_tagger() -> None:
    model, encoder = _fitted(), HashEncoder()
    reading = read_message("in the market for hiking boots", phrase_model=model, encoder=encoder)
    assert (reading.intent, reading.wanted) == ("request", ["hiking boots"])
    assert read_message("in the market for hiking boots").wanted == ["market", "hiking boots"]  # the rules
    ctx = cast(Any, SimpleNamespace(phrase_model=model, encoder=encoder, vocabulary=None))
    rules = RulesReading("request", ["market", "hiking boots"], [])
    assert nodes._asked(ctx, "in the market for hiking boots", rules) == ["hiking", "boots"]
    failing = cast(Any, SimpleNamespace(phrase_model=model, encoder=SimpleNamespace(identity="x"), vocabulary=None))
    assert nodes._asked(failing, "in the market for hiking boots", rules) is None
    assert nodes._asked(cast(Any, SimpleNamespace(phrase_model=None)), "boots", rules) is None


def test_the_search_keeps_the_audience_and_brand_words_the_tagger_leaves_to_the_filters() -> None:
    profile: Any = {
        "wanted": ["levi", "bootcut", "jeans", "men", "market"],
        "unwanted": [],
        "constraints": {"brand": ["levi's"]},
        "audience": ["men"],
    }
    assert with_filter_words(["bootcut", "jeans"], profile) == ["levi", "bootcut", "jeans", "men"]
    assert with_filter_words(["pea", "coat"], {**profile, "wanted": ["men", "market"]}) == ["men", "pea", "coat"]
    assert with_filter_words(["hoodie"], {"wanted": ["hoodie", "kids"], "unwanted": [], "constraints": {}}) == [
        "hoodie",
        "kids",
    ]


def test_the_planner_searches_the_words_the_turn_read() -> None:
    profile: Any = {"wanted": ["hiking", "boots", "wool"], "unwanted": [], "constraints": {}}
    message = "in the market for hiking boots"
    assert search_query(message, profile).split()[0] == "market"  # read by the rules
    assert search_query(message, profile, asked=["hiking", "boots"]) == "hiking boots wool"
    message = "just browsing multimeters for hobby work"
    assert thing_query(message) == "browsing multimeters"  # read by the rules
    assert thing_query(message, asked=["multimeters", "hobby", "work"]) == "multimeters"


def test_the_shipped_tagger_reads_a_request_with_the_packaged_encoder(scientific_catalog: Any) -> None:
    from agent.dispute_kind_model import open_dispute_kind_model
    from agent.intent_model import open_intent_model
    from agent.profile import Vocabulary
    from agent.spelling import Speller
    from tools.embeddings import Encoder
    from tools.settings import RetrievalSettings

    model = open_phrase_model()
    assert model is not None, "adapters/intent/phrase_model.json is shipped: run `llmrec train intent`"
    assert np.isfinite(np.asarray(model.coef)).all()
    items = scientific_catalog.items
    context: dict[str, Any] = {
        "items": items,
        "vocabulary": Vocabulary.from_items(items.values()),
        "speller": Speller.from_items(items.values()),
        "intent_model": open_intent_model(),
        "encoder": Encoder.from_settings(RetrievalSettings()),
    }
    for message, rules, tagged in (
        ("skip the SainSmart stuff, I'm in the market for an oscilloscope", ["skip", "market", "oscilloscope"], None),
        ("currently shopping for nitrile gloves, no powder", ["currently shopping", "nitrile gloves"], None),
        ("I want a good multimeter for electronics hobby work", None, ["multimeter", "electronics hobby work"]),
    ):
        by_rules = read_message(message, **context)
        by_tagger = read_message(message, phrase_model=model, **context)
        assert by_rules.intent == by_tagger.intent == "request"
        assert by_rules.unwanted == by_tagger.unwanted  # the rules keep the ruled-out phrases
        if rules is not None:  # the rules keep words nobody asked for; the tagger drops them
            assert by_rules.wanted == rules
            assert by_tagger.wanted == rules[-1:], by_tagger.wanted
        else:
            assert by_tagger.wanted == by_rules.wanted == tagged
    # A dispute's wishes, as `revise` reads them: a pick ruled out, and what the user would rather have.
    titles = [item.title for item in list(items.values())[:3]]
    previous = [PreviousPick(label, title) for label, title in zip("ABC", titles, strict=True)]
    dispute = read_message(
        "I already own the first one, show me a digital caliper instead",
        previous,
        dispute_kind_model=open_dispute_kind_model(),
        phrase_model=model,
        **context,
    )
    assert (dispute.intent, dispute.dispute_kind, dispute.item) == ("dispute", "owned", 1)
    assert dispute.wanted == ["digital caliper"], dispute.wanted
    # A complaint about what the picks have, with no negation cue the rules know: the tagger's ruled-out phrase.
    complaint = read_message(
        "ugh, fleece lining on all of them",
        previous,
        dispute_kind_model=open_dispute_kind_model(),
        phrase_model=model,
        **context,
    )
    assert (complaint.intent, complaint.dispute_kind) == ("dispute", "attribute")
    assert complaint.unwanted == ["fleece lining"], complaint.unwanted


def test_a_claims_wishes_are_the_rules_and_the_taggers_where_the_rules_read_none() -> None:
    from agent.phrase_model import claim_phrases

    model, encoder = _fitted(), HashEncoder()
    # A correction's phrases stand as the rules read them; the tagger is not asked.
    corrected = RulesReading("dispute", ["multimeter"], ["ph meter"], ["A", "B"], "claim")
    assert claim_phrases(model, encoder, "a pH meter is not a multimeter", corrected) == (["multimeter"], ["ph meter"])
    # A claim the rules read nothing in: the tagger's phrases.
    bare = RulesReading("dispute", [], ["market"], ["A", "B"], "claim")
    assert claim_phrases(model, encoder, "in the market for hiking boots", bare) == (["hiking boots"], ["market"])
    assert claim_phrases(_silent(), encoder, "in the market for hiking boots", bare) == ([], ["market"])
    assert claim_phrases(None, None, "in the market for hiking boots", bare) == ([], ["market"])


def test_the_graph_reads_a_claims_wishes_as_the_reading_does() -> None:
    from agent.state import Pick, empty_profile

    ctx = cast(Any, SimpleNamespace(phrase_model=_fitted(), encoder=HashEncoder()))
    picks = [
        Pick(item_id=i, title=t, label=label, logprob=0.0, reason="", grounded=False)
        for i, t, label in (("a", "Pea Coat", "A"), ("b", "Hiking Boots", "B"))
    ]
    profile = empty_profile()
    assert nodes._claimed(ctx, "in the market for hiking boots", picks, profile) == ["hiking", "boots"]
    assert profile["wanted"] == ["hiking", "boots"]
    # A correction's wishes stand as the rules read them (agent/dispute.py `dispute_preferences`).
    assert nodes._claimed(ctx, "a pea coat is not a duffle coat", picks, empty_profile()) is None
    assert nodes._claimed(cast(Any, SimpleNamespace(phrase_model=None)), "boots", picks, empty_profile()) is None


def test_the_networks_of_several_seeds_are_served_as_one_whose_logits_are_their_mean() -> None:
    """`fit_mlp_softmax` writes the seeds' networks as one (hidden units side by side, output layers averaged) with
    the standardisation folded in: it must score a word exactly as the mean of the seeds' own networks does."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from agent.learned import fit_mlp_softmax

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)) * [1.0, 10.0, 0.01, 1.0] + [0.0, 5.0, 0.0, -2.0]
    score = x[:, 0] + x[:, 3] + 2.0
    labels = ["O" if v < -0.5 else "B-W" if v < 0.5 else "I-W" for v in score]
    fields = fit_mlp_softmax(x, labels, hidden=3, alpha=1e-4, seeds=(0, 1))
    binary = fit_mlp_softmax(x, ["O" if v < 0 else "B-W" for v in score], hidden=3, alpha=1e-4)
    assert np.asarray(binary["coef"]).shape == (2, 3)  # one logistic unit, written as the logits (0, z)
    model = PhraseModel(encoder="e", fitted_on={}, **fields)
    scaler = StandardScaler().fit(x)
    y = np.array([sorted(set(labels)).index(label) for label in labels])
    nets = [
        MLPClassifier(hidden_layer_sizes=(3,), alpha=1e-4, batch_size=60, max_iter=200, random_state=s).fit(
            scaler.transform(x), y
        )
        for s in (0, 1)
    ]
    mean_log_probability = np.mean([np.log(net.predict_proba(scaler.transform(x))) for net in nets], axis=0)
    served = model.logits(x)
    served -= np.logaddexp.reduce(served, axis=1, keepdims=True)
    shift = mean_log_probability - served  # a constant per row: the decoding of each row is the same
    assert np.allclose(shift, shift[:, :1], atol=1e-4)
    assert model.tags == sorted(set(labels)) and len(model.hidden[0]) == 6
