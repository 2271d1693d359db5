"""The one tokenizer of lexical search: the BM25 index and every BM25 query go through `tokenize`.

Rules, in order:
1. Unicode: NFKC (full-width forms, ligatures, "½" -> "1⁄2"), accents dropped ("café" -> "cafe"), lower case.
2. Tokens are runs of letters and digits; a number keeps its decimal point or fraction slash
   ("3.5", "1/2"), so "4 1/2-Inch" -> ["4", "1/2", "inch"].
3. A number glued to a unit is split, so "10yd" and "10 yd" index alike ("3.5mm" -> ["3.5", "mm"]);
   model numbers that start with letters ("dw4524", "cr2032") or mix them ("2x4") stay whole.
4. English stopwords are dropped; numbers and single letters that are not stopwords are kept
   ("vitamin c", "size 8").

Changing any rule changes which documents match, so it must bump `TOKENIZER_VERSION`: BM25 indexes record
the version they were built with and are reported stale when it differs.
"""

from __future__ import annotations

import re
import unicodedata

TOKENIZER_VERSION = 1

ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    {
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
    }
)
"""Function words that carry no product or topic meaning (close to NLTK's English list, without the negations
of auxiliaries such as "isn"); "s" and "t" come from split possessives and contractions ("men's", "don't")."""

# Characters NFKC leaves alone but a shopper types differently: fraction slash, multiplication sign, dashes.
_TRANSLATE = str.maketrans({"\u2044": "/", "\u00d7": "x", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_TOKEN = re.compile(r"[a-z0-9]+(?:[./][0-9]+)*")
_NUMBER_THEN_UNIT = re.compile(r"^([0-9]+(?:[./][0-9]+)*)([a-z]+)$")


def normalize_text(text: str) -> str:
    """Unicode-normalise, drop accents and lower-case (rule 1)."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokenize(text: str) -> list[str]:
    """Split `text` into BM25 terms (see the module docstring for the rules)."""
    tokens: list[str] = []
    for raw in _TOKEN.findall(normalize_text(text)):
        glued = _NUMBER_THEN_UNIT.match(raw)
        parts = glued.groups() if glued else (raw,)
        tokens.extend(part for part in parts if part not in ENGLISH_STOPWORDS)
    return tokens
