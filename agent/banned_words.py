"""Words the rationale may not say, banned in decoding the same way in both backends.

A user with no history has no history items to link a candidate to, yet the shipped student (trained mostly on users
with 1-10 history items) wrote "it shares "multimeter" with your history item" to a new user in 1 of its first 2
answers. Every true sentence about a new user's candidates rests on the request alone, so when the prompt shows no
history the words that name one are taken out of the model's vocabulary for that rationale: vLLM's `logit_bias`
(-100) and transformers' `bad_words_ids` both remove a token outright. Only single tokens are banned, because a
server's `logit_bias` can only bias single tokens and the two backends must decode alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.labels import Encoder
from agent.records import Shown

NO_HISTORY_WORDS = ("history", "histories", "your", "yours")
"""What the model may not say to a user whose prompt shows no history ("The user has no history yet." is in it)."""


def banned_words(shown: Shown) -> tuple[str, ...]:
    """The words the rationale for `shown` may not contain."""
    return () if shown["history_ids"] else NO_HISTORY_WORDS


def banned_token_ids(tokenizer: Encoder, words: Sequence[str]) -> list[int]:
    """The single-token spellings of `words`: bare and after a space, lower case and capitalised (" history",
    "History", ...). A spelling the tokenizer splits is left out (SmolLM2 has all four of "history" as one token)."""
    ids: set[int] = set()
    for word in words:
        for variant in (word, word.capitalize()):
            for spelling in (variant, " " + variant):
                encoded = tokenizer.encode(spelling, add_special_tokens=False)
                if len(encoded) == 1:
                    ids.add(encoded[0])
    return sorted(ids)
