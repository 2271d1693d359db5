"""An experiment, not a served part: would a learned word tagger read the wanted and ruled-out phrases better than the
rules (issue 18, "where a learned component measures better on the held-out part than the rules, it replaces them")?

    python -m evals.phrase_tagger --results reports/understanding/results.json --out reports/phrase_tagger.json

Each word of a message (as agent/language.py splits it, typos corrected as the agent reads them) is tagged O, B-W,
I-W, B-U or I-U (begins / continues a wanted / ruled-out phrase) by a multinomial logistic regression over
- the word's MiniLM contextual vector (the mean of its sub-word vectors in the packaged sentence encoder's last layer),
- lexical classes of the word and of its neighbours (-3..+2): clause break, negation or rule-out cue, filler,
  stopword, audience word, relative, pick reference, request verb, complaint word, digit, "-free", joiner, copula, "?",
- whether a negation cue came earlier in its clause, its position, the message's intent and dispute kind as the
  agent read them (from `--results`, the understanding protocol's readings), and
- with `--stack` (the default), the rules' own tags: the served reading's phrases aligned back onto the words.
It is fitted on the development part (the labels aligned onto the words; lines whose phrases do not align are left
out of the fit) and scored on the held-out part with the protocol's phrase F1 (evals/understanding.py `phrase_key`).

Measured (2026-12-06, README "Understanding what the user says"): fitted on 513 development lines, the tagger lost
to the rules on both lists; fitted on 845, stacked on the rules' tags, it read the held-out wanted phrases better than
the rules (F1 0.727 against 0.611 on 485 lines) and the ruled-out ones worse (0.472 against 0.586). It is not served
yet: serving it means a second MiniLM pass per message (about 10 ms) and the profile's wanted words from it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from agent.language import COMPLAINT_WORDS, FILLER_WORDS, REFERENCE_WORDS, Word, read_word_spans
from agent.profile import RELATIVES, audience_words
from agent.understanding_set import Line, load_lines
from evals.understanding import _catalog_context, _f1, _keys, phrase_key
from tools.tokenize import ENGLISH_STOPWORDS

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
Spans = list[tuple[Word, int, int]]


def word_spans(message: str) -> tuple[str, Spans]:
    """The message as agent/language.py prepares it, and its words with their character spans in that text."""
    return read_word_spans(message)


def word_vectors(model: Any, text: str, spans: Spans) -> npt.NDArray[np.float64]:
    """Each word's contextual vector: the mean of the encoder's last-layer vectors of the sub-words it overlaps."""
    import torch

    batch = model.tokenizer(text, return_offsets_mapping=True, return_tensors="pt", truncation=True, max_length=256)
    offsets = batch.pop("offset_mapping")[0].tolist()
    with torch.inference_mode():
        hidden = model[0].auto_model(**batch).last_hidden_state[0].float().numpy()
    out = np.zeros((len(spans), hidden.shape[1]))
    for i, (_, start, end) in enumerate(spans):
        rows = [k for k, (a, z) in enumerate(offsets) if z > a and a < end and z > start]
        if rows:
            out[i] = hidden[rows].mean(axis=0)
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


def _aligned(spans: Spans, phrases: Mapping[str, Sequence[str]]) -> tuple[list[str], bool]:
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


def features(
    vectors: npt.NDArray[np.float64], spans: Spans, reading: Mapping[str, Any], labels: Sequence[str], stack: bool
) -> npt.NDArray[np.float64]:
    lexical = np.array([_lexical(word, labels) for word, _, _ in spans]).reshape(len(spans), -1)
    width = lexical.shape[1]
    context = [float(reading["intent"] == x) for x in INTENTS] + [float(reading["dispute_kind"] == x) for x in KINDS]
    rule_tags, _ = _aligned(spans, {"W": reading["wanted"], "U": reading["unwanted"]})
    rows = []
    negated = 0.0
    for i, (word, _, _) in enumerate(spans):
        window = [lexical[j] if 0 <= j < len(spans) else np.zeros(width) for j in (i - 3, i - 2, i - 1, i + 1, i + 2)]
        if word.is_break:
            negated = 0.0
        ruled = [float(rule_tags[i] == tag) for tag in TAGS[1:]] if stack else []
        rows.append(
            np.concatenate(
                [vectors[i], lexical[i], *window, [negated, i / len(spans), float(bool(labels))], context, ruled]
            )
        )
        if word.text in _NEGATION:
            negated = 1.0
    return np.array(rows)


def decode(spans: Spans, tags: Sequence[str]) -> tuple[list[str], list[str]]:
    """(wanted, ruled-out) phrases of BIO tags; an I- tag without its B- starts a phrase."""
    out: dict[str, list[str]] = {"W": [], "U": []}
    run: list[str] = []
    kind = ""
    for (word, _, _), tag in zip([*spans, (Word(".", (), False), 0, 0)], [*tags, "O"], strict=True):
        if tag == "O" or tag.startswith("B-") or tag[2:] != kind:
            if run:
                out[kind].append(" ".join(run))
            run, kind = [], ""
        if tag != "O":
            kind = tag[2:]
            run.append(word.text.removesuffix("-free"))
    return out["W"], out["U"]


def run(lines: Sequence[Line], readings: Mapping[str, Mapping[str, Any]], *, c: float, stack: bool) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    from tools.embeddings import Encoder
    from tools.settings import RetrievalSettings

    model = Encoder.from_settings(RetrievalSettings()).model
    spellers = {domain: _catalog_context(domain)[3] for domain in sorted({line.domain for line in lines})}
    rows = []
    for line in tqdm(lines, desc="Tagging words"):
        text, spans = word_spans(spellers[line.domain].correct(line.message)[0])
        if not spans:
            continue
        labels = [pick.label for pick in line.previous]
        x = features(word_vectors(model, text, spans), spans, readings[line.id], labels, stack)
        gold, complete = _aligned(spans, {"W": line.expected["wanted"], "U": line.expected["unwanted"]})
        rows.append((line, spans, x, gold, complete))
    fit = [r for r in rows if r[0].split == "dev" and r[4]]
    tagger = LogisticRegression(C=c, max_iter=3000).fit(np.vstack([r[2] for r in fit]), [t for r in fit for t in r[3]])
    counts: dict[str, list[tuple[int, int, int]]] = {"tagger_W": [], "tagger_U": [], "rules_W": [], "rules_U": []}
    for line, spans, x, _, _ in rows:
        if line.split != "heldout":
            continue
        reading = readings[line.id]
        tags = list(tagger.predict(x)) if reading["intent"] in ("request", "dispute") else ["O"] * len(spans)
        wanted, ruled_out = decode(spans, tags)
        for name, got, field in (
            ("tagger_W", wanted, "wanted"),
            ("tagger_U", ruled_out, "unwanted"),
            ("rules_W", reading["wanted"], "wanted"),
            ("rules_U", reading["unwanted"], "unwanted"),
        ):
            found, expected = _keys(got), _keys(line.expected[field])
            counts[name].append((len(found & expected), len(found), len(expected)))
    return {
        "fit_lines": len(fit),
        "aligned_lines": sum(r[4] for r in rows),
        "heldout_lines": sum(r[0].split == "heldout" for r in rows),
        "c": c,
        "stack": stack,
        "heldout_f1": {name: _f1(values) for name, values in counts.items()},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=Path, default=Path("tests/data/understanding.jsonl"))
    parser.add_argument("--results", type=Path, default=Path("reports/understanding/results.json"))
    parser.add_argument("--system", default="agent", help="whose readings give the intent and the rules' tags")
    parser.add_argument("--c", type=float, default=0.1)
    parser.add_argument("--no-stack", dest="stack", action="store_false", help="leave the rules' tags out")
    parser.add_argument("--out", type=Path, default=Path("reports/phrase_tagger.json"))
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))["systems"][args.system]["readings"]
    readings = {row["id"]: row["reading"] for row in results}
    lines = [line for line in load_lines(args.messages) if line.id in readings]
    report = run(lines, readings, c=args.c, stack=args.stack)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(report["heldout_f1"], indent=2) + "\n")


if __name__ == "__main__":
    main()
