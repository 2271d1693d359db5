"""A learned word tagger for the things a request asks for: which words of the message are wanted phrases.

Why: the rules of agent/profile.py (`wanted_phrases`) were written on the development part of the labelled
understanding set (tests/data/understanding.jsonl) and keep words a user did not ask for in phrasings they never saw
("I'm in the market for a pea coat" -> "market", "pea coat"; "skip the SainSmart stuff, I need an oscilloscope" ->
"skip", "oscilloscope"): on the held-out phrasing families their wanted phrases had precision 0.52. Issue 18's rule:
where a learned component measures better on the held-out part than the rules, it replaces them. This one does for
the wanted phrases of a request (README, "Understanding what the user says"), and, since it was fitted with the
training supplement (2026-12-07), for the ruled-out phrases too (`served_phrases`); before, the rules read those
better (held-out F1 0.59 against the tagger's 0.49 in the fifth session).

Each word of the message (as agent/language.py splits it, typos already corrected) is tagged O, B-W, I-W, B-U or
I-U (begins / continues a wanted / ruled-out phrase) by a small neural network (since the twelfth session: one
hidden layer of 128 ReLU units, three of them fitted with seeds 0, 1, 2 and averaged; a multinomial logistic
regression before) over
- the word's MiniLM contextual vector (the mean of its sub-words' vectors in the packaged sentence encoder's last
  layer: tools/embeddings.py `token_states`) and its neighbours' (the word before and after),
- lexical classes of the word and of its neighbours (-3..+2): clause break, negation or rule-out cue, filler,
  stopword, audience word, relative, pick reference, request verb, complaint word, digit, "-free", joiner, copula, "?",
- whether a negation cue came earlier in its clause, its position, whether there are picks, the message's intent
  and dispute kind, and
- the rules' own tags (their phrases aligned back onto the words): the tagger learns where to overrule them.
It is fitted by `llmrec train intent` on the development part only (lines whose labels do not align onto the words
are left out) and saved as plain JSON weights with the encoder they were fitted for; weights for another encoder
are refused. The regression's C was chosen by 5-fold leave-family-out cross-validation on the development part
(`python -m evals.phrase_tagger`): 0.3 on 1,330 lines (served wanted F1 0.881, 0.887, 0.888, 0.883 at C = 0.03,
0.1, 0.3, 1; held-out, 485 lines, 0.700 against the rules' 0.611), 0.1 on today's 2,282 lines with the fine-tuned
reader's intents (0.857, 0.849, 0.840 at C = 0.1, 0.3, 1; held-out, 757 lines, 0.729 against the rules' 0.595). The
fine-tuned reader's own upper-layer word vectors beside MiniLM's read held-out wanted phrases no better (0.721).

Why a network, with the neighbours' vectors, and three of them (2026-12-07, twelfth session; 5-fold cross-validation
by phrasing family on the development part / on the training supplement, which is out of sample for the rules too,
4,179 lines; served wanted F1, then the tagger's ruled-out F1): the logistic regression 0.882 / 0.747, 0.873 / 0.653;
with the neighbours' vectors 0.880 / 0.770, 0.849 / 0.649; a network without them (L2 0.01) 0.875 / 0.759, 0.887 /
0.703; a network with them 0.890 / 0.791 and 0.883 / 0.790 (seeds 0 and 1), 0.885 / 0.703 and 0.891 / 0.724; the
three seeds averaged 0.893 / 0.800, 0.891 / 0.740 (served). A network reads the interactions the regression cannot
(a noun after a negation cue in the same clause is ruled out; the same noun in a story is not wanted); one seed's
network is as much luck as fit (held-out all fields 0.671 with one, 0.696 with three). On the 825 held-out lines
(`llmrec eval --protocol understanding`): wanted F1 0.764 -> 0.818, ruled-out F1 0.704 -> 0.739, every field of a
line right 0.679 -> 0.696. Its cost (`python -m benchmarks.understanding`, side by side with the regression): 16.6 ->
18.0 ms a message at the median, 44.1 -> 47.2 at the 95th percentile; the weights are 5 MB of JSON.

The tags are decoded as the most probable well-formed sequence (`viterbi`: a continuation I-W / I-U only after a
word of its own kind), not word by word: measured 2026-12-07 on 2,586 lines at C = 0.1, cross-validated served wanted
F1 0.838 -> 0.849, and on the 825 held-out lines (`llmrec eval --protocol understanding`) wanted F1 0.719 -> 0.735,
all fields right 0.622 -> 0.635, ruled-out unchanged. Word by word, "a digital caliper" could read "digital" as a
continuation after an O and "caliper" as a new phrase.

It reads requests, and the wishes of disputes other than claims: cross-validated, tagging those disputes too
reads development wanted phrases at 0.888 against 0.879 (disputes alone 0.767 against 0.708), with no fallback to
the rules (a disputed pick with no wish is common: 0.718 with the fallback). A claim's wishes, and a correction's
("a pH meter is not a multimeter" keeps wanting the multimeter, not the pH meter), stay with agent/dispute.py.

A request whose words the tagger tags as nothing keeps the rules' phrases: a request always asks for something,
and a search for nothing falls back to history alone (cross-validated, the fallback moves development wanted F1 by
-0.001).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agent.language import COMPLAINT_WORDS, FILLER_WORDS, REFERENCE_WORDS, Word, read_word_spans, singular
from agent.learned import (
    MAX_READ_TOKENS,
    LearnedModelError,
    TokenEncoder,
    check_encoder,
    fit_mlp_softmax,
    read_weights,
    save_weights,
)
from agent.profile import RELATIVES, audience_words
from agent.records import Profile
from tools.settings import REPO_ROOT
from tools.tokenize import ENGLISH_STOPWORDS, tokenize

PHRASE_MODEL_PATH = REPO_ROOT / "adapters" / "intent" / "phrase_model.json"
PHRASE_MODEL_VERSION = 2
PHRASE_ALPHA = 0.01
PHRASE_HIDDEN = 128
PHRASE_SEEDS = (0, 1, 2)
TAGGED_DISPUTES = ("item", "owned", "attribute")
"""The disputes whose wishes the tagger reads ("not B, a hoodie please"); a claim's wishes stay with the rules."""
MAX_TAGGED_WORDS = 250
"""Longer messages are read by the rules alone (no message of the set or its supplement has more than 200 words; a
pasted page is not a request). Words past the encoder's first 128 word pieces have no vector and are tagged from
their lexical features and the rules' tags alone, as they were in the fit. Measured 2026-12-07 with `python -m
evals.phrase_tagger` (C = 0.1, the readers fitted with the training supplement): served wanted F1 with a limit of
60 words against none, cross-validated on the development part 0.858 -> 0.882, on the supplement by family (out of
sample for the rules too) 0.708 -> 0.732, held-out 0.752 -> 0.764. With fewer training lines (before the supplement,
2026-12-06) a limit of 40 or 60 words read best (0.879 against 0.874 with 200): the long messages tell stories whose
every noun the tagger was tempted by."""
TAGS = ("O", "B-W", "I-W", "B-U", "I-U")
INTENTS = ("request", "dispute", "accept", "question", "other")
KINDS = (None, "item", "attribute", "claim", "owned")
_NEGATION = frozenset(
    {"no", "not", "without", "avoid", "never", "nothing", "none", "except", "but", "hate", "allergic", "skip", "drop"}
    | {"anything", "free", "nor", "rather", "instead", "wrong", "limits"}
)
_ASKING = frozenset(
    {"need", "want", "looking", "find", "show", "get", "recommend", "prefer", "like", "something", "any"}
)
_JOINERS = frozenset({"for", "with", "and", "in", "that", "or"})
_COPULAS = frozenset({"is", "are", "was", "s"})
_WINDOW = (-3, -2, -1, 1, 2)
Spans = list[tuple[Word, int, int]]
Vectors = npt.NDArray[np.float64]


class PhraseModelError(LearnedModelError):
    """The saved phrase model does not fit this encoder or version."""


@dataclass(frozen=True)
class RulesReading:
    """What the rest of the agent read of the message, which the tagger reads beside its words."""

    intent: str
    wanted: list[str]
    unwanted: list[str]
    labels: list[str] = field(default_factory=list)
    """The previous picks' labels ("A", "B", ...), empty on a first turn."""
    dispute_kind: str | None = None


def word_vectors(encoder: TokenEncoder, text: str, spans: Spans) -> Vectors:
    """Each word's contextual vector: the mean of the encoder's last-layer vectors of the sub-words it overlaps
    (zero for a word past the encoder's 128 word pieces (`MAX_READ_TOKENS`))."""
    hidden, offsets = encoder.token_states(text, MAX_READ_TOKENS)
    out = np.zeros((len(spans), hidden.shape[1]))
    real = [k for k, (a, z) in enumerate(offsets) if z > a]  # not the special tokens; in text order
    starts = np.array([offsets[k][0] for k in real])
    ends = np.array([offsets[k][1] for k in real])
    for i, (_, start, end) in enumerate(spans):
        first, last = int(np.searchsorted(ends, start, side="right")), int(np.searchsorted(starts, end, side="left"))
        if first < last:
            out[i] = hidden[real[first:last]].mean(axis=0)
    return out


def _lexical(word: Word, labels: Sequence[str]) -> list[float]:
    t = word.text
    return [
        float(word.is_break),
        float(t in _NEGATION),
        float(t in FILLER_WORDS),
        float(t in ENGLISH_STOPWORDS),
        float(bool(audience_words(word.parts))),
        float(t in RELATIVES),
        float(t in REFERENCE_WORDS or t in {label.lower() for label in labels}),
        float(t in _ASKING),
        float(t in COMPLAINT_WORDS),
        float(any(ch.isdigit() for ch in t)),
        float(t.endswith("-free")),
        float(t in _JOINERS),
        float(t in _COPULAS),
        float(t == "?"),
    ]


def phrase_key(phrase: str) -> str:
    """How phrases are compared (here and by the `understanding` protocol): NFKC, lower case, no possessive, each
    word singular, single spaces."""
    text = unicodedata.normalize("NFKC", phrase).lower().replace("\u2019", "'")
    words = [w.removesuffix("'s").strip('.,;:!?"()') for w in text.split()]
    return " ".join(singular(w) for w in words if w)


def aligned(spans: Spans, phrases: Mapping[str, Sequence[str]]) -> tuple[list[str], bool]:
    """BIO tags of `phrases` ({"W": wanted, "U": ruled out}) on the words, and whether every phrase was found."""
    tags = ["O"] * len(spans)
    keys = [phrase_key(word.text) for word, _, _ in spans]
    complete = True
    for kind, listed in phrases.items():
        for phrase in listed:
            wanted = phrase_key(phrase).split()
            for i in range(len(spans) - len(wanted) + 1):
                free = len(wanted) == 1 and keys[i].endswith("-free") and keys[i][:-5] == wanted[0]
                if (keys[i : i + len(wanted)] == wanted or free) and all(t == "O" for t in tags[i : i + len(wanted)]):
                    tags[i] = f"B-{kind}"
                    for k in range(i + 1, i + len(wanted)):
                        tags[k] = f"I-{kind}"
                    break
            else:
                complete = False
    return tags, complete


def word_features(vectors: Vectors, spans: Spans, reading: RulesReading) -> Vectors:
    """One row of features per word (see the module docstring)."""
    lexical = np.array([_lexical(word, reading.labels) for word, _, _ in spans]).reshape(len(spans), -1)
    width = lexical.shape[1]
    context = [float(reading.intent == x) for x in INTENTS] + [float(reading.dispute_kind == x) for x in KINDS]
    rule_tags, _ = aligned(spans, {"W": reading.wanted, "U": reading.unwanted})
    rows = []
    negated = 0.0
    zero = np.zeros(vectors.shape[1])
    for i, (word, _, _) in enumerate(spans):
        window = [lexical[i + d] if 0 <= i + d < len(spans) else np.zeros(width) for d in _WINDOW]
        if word.is_break:
            negated = 0.0
        ruled = [float(rule_tags[i] == tag) for tag in TAGS[1:]]
        position = [negated, i / len(spans), float(bool(reading.labels))]
        before = vectors[i - 1] if i else zero
        after = vectors[i + 1] if i + 1 < len(spans) else zero
        rows.append(np.concatenate([vectors[i], before, after, lexical[i], *window, position, context, ruled]))
        if word.text in _NEGATION:
            negated = 1.0
    return np.array(rows)


def decode(spans: Spans, tags: Sequence[str]) -> tuple[list[str], list[str]]:
    """(wanted, ruled-out) phrases of BIO tags, each once; an I- tag without its B- starts a phrase."""
    out: dict[str, dict[str, None]] = {"W": {}, "U": {}}
    run: list[str] = []
    kind = ""
    for (word, _, _), tag in zip([*spans, (Word(".", (), False), 0, 0)], [*tags, "O"], strict=True):
        if tag == "O" or tag.startswith("B-") or tag[2:] != kind:
            if run:
                out[kind].setdefault(" ".join(run))
            run, kind = [], ""
        if tag != "O":
            kind = tag[2:]
            run.append(word.text.removesuffix("-free"))
    return list(out["W"]), list(out["U"])


def _allowed(before: str, tag: str) -> bool:
    """An I- tag only continues a phrase of its own kind ("O I-W" and "B-U I-W" are not phrases)."""
    return not tag.startswith("I-") or (before != "O" and before[2:] == tag[2:])


def viterbi(tags: Sequence[str], logits: npt.NDArray[np.float64]) -> list[str]:
    """The most probable tag sequence under the tagger's per-word probabilities whose every I- tag continues a
    phrase of its kind (a first word is never I-)."""
    scores = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    n, k = scores.shape
    allowed = np.array([[_allowed(a, b) for b in tags] for a in tags])
    best = np.where([_allowed("O", t) for t in tags], scores[0], -np.inf)
    back = np.zeros((n, k), dtype=int)
    for i in range(1, n):
        step = np.where(allowed, best[:, None], -np.inf)
        back[i] = np.argmax(step, axis=0)
        best = step[back[i], np.arange(k)] + scores[i]
    path = [int(np.argmax(best))]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i][path[-1]]))
    return [tags[j] for j in reversed(path)]


@dataclass(frozen=True)
class PhraseModel:
    encoder: str
    """Identity of the sentence encoder the weights were fitted on (tools/embeddings.py `model_identity`)."""
    tags: list[str]
    coef: list[list[float]]
    """[tags x hidden units]: the output layer (over the features themselves when there is no hidden layer)."""
    intercept: list[float]
    fitted_on: dict[str, object]
    hidden: list[list[float]] = field(default_factory=list)
    """[features x hidden units] of the ReLU layer over the features; empty: a linear tagger."""
    hidden_intercept: list[float] = field(default_factory=list)
    version: int = PHRASE_MODEL_VERSION

    @cached_property
    def _weights(self) -> tuple[Vectors, ...]:
        # Read once per loaded model: its 481,152 hidden weights, as lists, cost 10 ms a message to convert.
        return tuple(
            np.asarray(values, dtype=np.float64)
            for values in (self.hidden, self.hidden_intercept, self.coef, self.intercept)
        )

    def logits(self, x: Vectors) -> Vectors:
        """Each word's tag scores [words x tags]."""
        hidden, hidden_intercept, coef, intercept = self._weights
        if hidden.size:
            x = np.maximum(x @ hidden + hidden_intercept, 0.0)
        return np.asarray(x @ coef.T + intercept)

    def tag(self, x: Vectors, *, structured: bool = True) -> list[str]:
        """Each word's tag: the most probable well-formed sequence (`viterbi`), or each word's most probable tag
        alone (`structured=False`, measured against it in evals/phrase_tagger.py)."""
        logits = self.logits(x)
        if not structured:
            return [self.tags[k] for k in np.argmax(logits, axis=1)]
        return viterbi(self.tags, logits)

    def phrases(self, encoder: TokenEncoder, message: str, reading: RulesReading) -> tuple[list[str], list[str]] | None:
        """(wanted, ruled-out) phrases of `message` (typos already corrected), as the tagger reads them; None for a
        message of more than `MAX_TAGGED_WORDS` words: the rules read it. A word past the first `MAX_READ_TOKENS`
        word pieces has a zero vector, as in the fit."""
        check_encoder(self.encoder, encoder, "phrase model", "llmrec train intent", PhraseModelError)
        text, spans = read_word_spans(message)
        if not spans:
            return [], []
        if len(spans) > MAX_TAGGED_WORDS:
            return None
        vectors = word_vectors(encoder, text, spans)
        return decode(spans, self.tag(word_features(vectors, spans, reading)))

    def save(self, path: Path) -> None:
        save_weights(asdict(self), path)

    @classmethod
    def load(cls, path: Path) -> PhraseModel:
        return cls(**read_weights(path, PHRASE_MODEL_VERSION, "phrase model", PhraseModelError))


def served_phrases(
    model: PhraseModel | None,
    encoder: TokenEncoder | None,
    message: str,
    reading: RulesReading,
    brands: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(wanted, ruled-out) phrases the agent acts on, from one pass of the tagger at most; `reading` is the rules'
    reading of `message` (spelled as the rules read it).

    Wanted: a request's are the tagger's when one is shipped and it finds any, else the rules'; the wishes of a
    dispute of a pick, of an attribute or of a pick the user owns (`TAGGED_DISPUTES`) are the tagger's, none
    included; a claim's (and a correction's: the caller keeps those) and every other intent's are the rules'.

    Ruled out: the tagger's in the same messages (a request, a dispute of `TAGGED_DISPUTES`), the rules' in the
    rest. Measured 2026-12-07 with `python -m evals.phrase_tagger` (C = 0.1, the readers fitted with the training
    supplement), ruled-out F1 with the rules' phrases and the tagger's only in an attribute dispute where the rules
    read none (served until then) against the tagger's alone: on the supplement by family, which is out of sample
    for the rules as well as the tagger, 0.558 -> 0.649 (precision 0.66 -> 0.77, recall 0.48 -> 0.56); held-out
    0.686 -> 0.713 (precision 0.79 -> 0.82, recall 0.61 -> 0.63); cross-validated on the development part, where
    the rules were written, 0.888 -> 0.878. The tagger's phrases first and the rules' where it reads none: 0.628 /
    0.708, both lists together 0.618 / 0.698. Before the supplement the rules read better (2,078 lines: held-out
    0.623 against the tagger's 0.620): the tagger needed the lines. The rules' ruled-out `brands` (those of their
    phrases that name a catalog brand: agent/profile.py `naming_values`) stay beside the tagger's: a brand ruled
    out is a filter, and after picks the tagger reads a brand as pointing at the pick that has it ("anything but
    Levi's" with a Levi's pick shown: O at 0.54 against B-U at 0.44), which put Levi's back on the list."""
    rules = (list(reading.wanted), list(reading.unwanted))
    if model is None or encoder is None:
        return rules
    request = reading.intent == "request"
    if not request and not (reading.intent == "dispute" and reading.dispute_kind in TAGGED_DISPUTES):
        return rules
    read = model.phrases(encoder, message, reading)
    if read is None:
        return rules
    wanted = [phrase for phrase in read[0] if not _points(phrase, reading.labels)]
    unwanted = [phrase for phrase in read[1] if not _points(phrase, reading.labels)]
    keys = {phrase_key(phrase) for phrase in unwanted}
    unwanted += [brand for brand in brands if brand in rules[1] and phrase_key(brand) not in keys]
    return (wanted or rules[0]) if request else wanted, unwanted


def claim_phrases(
    model: PhraseModel | None, encoder: TokenEncoder | None, message: str, reading: RulesReading
) -> tuple[list[str], list[str]]:
    """A claim dispute's (wanted, ruled-out) phrases: the rules' (a correction's: "a pH meter is not a multimeter"
    keeps wanting the multimeter and rules the pH meter out), and where they read no wish, the tagger's wanted
    phrases ("you called B autoclavable, it isn't": autoclavable). Measured with `python -m evals.phrase_tagger`
    (2,586 lines), on the claims alone: held-out wanted F1 0.554 -> 0.623 (recall 0.39 -> 0.52, precision 0.95 ->
    0.77); cross-validated on the development part, where the rules were written, 0.884 -> 0.869. The ruled-out
    phrases stay the rules': the tagger's would read held-out claims' F1 0.522 -> 0.539, at precision 0.64, and
    a wrongly ruled-out word removes what the user wants ("A is described as cordless, it has a power cord" ruled
    out "cordless"), where a missed one only leaves the search as it was."""
    rules = (list(reading.wanted), list(reading.unwanted))
    if model is None or encoder is None or rules[0]:
        return rules
    tagged = model.phrases(encoder, message, reading)
    if tagged is None:
        return rules
    return [phrase for phrase in tagged[0] if not _points(phrase, reading.labels)], rules[1]


def served_wanted(
    model: PhraseModel | None, encoder: TokenEncoder | None, message: str, reading: RulesReading
) -> list[str]:
    """The wanted phrases of `served_phrases`."""
    return served_phrases(model, encoder, message, reading)[0]


def served_unwanted(
    model: PhraseModel | None, encoder: TokenEncoder | None, message: str, reading: RulesReading
) -> list[str]:
    """The ruled-out phrases of `served_phrases`."""
    return served_phrases(model, encoder, message, reading)[1]


def _points(phrase: str, labels: Sequence[str]) -> bool:
    """Once there are picks, a phrase of words that only point at them is no wish ("cousin" of "got a close cousin
    of B?": the tagger tagged it in 4 of the set's sixth-round development lines)."""
    refs = {label.lower() for label in labels} | REFERENCE_WORDS | FILLER_WORDS
    return bool(labels) and all(token in refs for token in tokenize(phrase))


def phrase_words(phrases: Iterable[str], labels: Sequence[str] = ()) -> list[str]:
    """The profile's wanted words of phrases: their tokens, less filler, relatives and pick labels, each once."""
    refs = {label.lower() for label in labels} | REFERENCE_WORDS
    words = (token for phrase in phrases for token in tokenize(phrase))
    return list(dict.fromkeys(t for t in words if t not in FILLER_WORDS and t not in RELATIVES and t not in refs))


def with_filter_words(words: Sequence[str], profile: Profile) -> list[str]:
    """`words` (the tagger's), then the profile's wanted words that name its audience or a value of its constraints
    ("men" of "men's bootcut jeans", "levi" of "levi's bootcut jeans"). The tagger leaves those out, as the labels do:
    they are filters, not wishes. But the search finds the items of that audience by them: searched as "bootcut
    jeans", the request "men's bootcut jeans, anything but levi's" kept 1 men's jean of the 20 found after the audience
    filter, and committed one item (searched as "men bootcut jeans", three men's jeans)."""
    named = {part for values in profile["constraints"].values() for value in values for part in tokenize(value)}
    audience = set(profile.get("audience", []))
    chosen = set(words)
    # In the order the message names them, as the rules listed them: the dense search reads word order ("hoodie
    # bootcut jeans men" brought a jean where "hoodie men bootcut jeans" brought three hoodies).
    ordered = [w for w in profile["wanted"] if w in chosen or w in named or w in audience or audience_words([w])]
    return [*ordered, *(w for w in words if w not in set(ordered))]


@dataclass(frozen=True)
class TaggedLine:
    """A labelled message for the fit: spelled as the agent reads it, with the rest of the agent's reading."""

    message: str
    reading: RulesReading
    wanted: list[str]
    unwanted: list[str]


def line_rows(encoder: TokenEncoder, line: TaggedLine) -> tuple[Vectors, list[str], bool] | None:
    """(features, gold tags, whether every labelled phrase aligned) of one line; None for a line without words."""
    text, spans = read_word_spans(line.message)
    if not spans:
        return None
    gold, complete = aligned(spans, {"W": line.wanted, "U": line.unwanted})
    return word_features(word_vectors(encoder, text, spans), spans, line.reading), gold, complete


def fit_phrase_model(
    encoder: str,
    rows: Sequence[tuple[Vectors, list[str], bool]],
    *,
    alpha: float = PHRASE_ALPHA,
    hidden: int = PHRASE_HIDDEN,
    fitted_on: dict[str, object] | None = None,
) -> PhraseModel:
    """Fit the tagger on the rows of `line_rows` whose labels aligned completely; `encoder` is the identity of the
    encoder that read them."""
    fit = [row for row in rows if row[2]]
    if not fit:
        raise PhraseModelError("no labelled line aligns onto its words: nothing to fit the phrase model on")
    weights = fit_mlp_softmax(
        np.vstack([r[0] for r in fit]), [t for r in fit for t in r[1]], hidden=hidden, alpha=alpha, seeds=PHRASE_SEEDS
    )
    return PhraseModel(encoder=encoder, fitted_on={**(fitted_on or {}), "lines": len(fit)}, **weights)


def open_phrase_model(path: Path = PHRASE_MODEL_PATH) -> PhraseModel | None:
    """The shipped phrase model, or None when there is none (requests are then read by the rules alone)."""
    return PhraseModel.load(path) if path.exists() else None
