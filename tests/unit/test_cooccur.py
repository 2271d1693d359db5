"""Co-occurrence and popularity over training histories (tools/cooccur.py), checked against hand counts."""

from __future__ import annotations

import math

from tools.cooccur import CoOccurrence

SEQUENCES = [("a", "b", "c"), ("a", "b"), ("b", "d", "b"), ("e",)]


def test_pairs_and_popularity_by_hand() -> None:
    co = CoOccurrence(SEQUENCES)
    assert co.together("a", "b") == 2 and co.together("b", "a") == 2
    assert co.together("b", "d") == 1 and co.together("a", "d") == 0 and co.together("zz", "a") == 0
    assert co.popularity["b"] == 3  # a repeated item counts once per user
    assert co.log_popularity("e") == math.log(2) and co.log_popularity("never") == 0.0
    assert co.users == 4


def test_with_history_and_similar() -> None:
    co = CoOccurrence(SEQUENCES)
    assert co.with_history("b", ["c", "a", "a", "x"]) == [("a", 2), ("c", 1)]
    assert co.history_count("b", ["c", "a"]) == 3
    assert co.similar("b", 2) == [("a", 2), ("c", 1)]
    assert co.similar("b", 5, exclude={"a"}) == [("c", 1), ("d", 1)]
    assert co.similar("e", 3) == [] and co.similar("unknown", 3) == []
