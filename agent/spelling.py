"""Typo correction against the catalog's own words ("multimter" -> "multimeter", "nitrle gloves" -> "nitrile
gloves"), with SymSpell (symspellpy): BM25 finds nothing for a misspelt word, and the profile should hold what the
user meant.

A word is corrected when a catalog word used by at least MIN_CATALOG_COUNT titles lies within one edit (two for
words of 8+ letters) and DOMINANCE times more common than the typed word, both in the catalog's titles and in
symspellpy's English frequency list (82,765 words): "calliper" (51 thousand in the English list) becomes "caliper"
(769 thousand), "infared" (in two titles, not in the list) becomes "infrared", while "nurse" stays (a real word
more common than "purse"). Tokens with digits are never touched.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from agent.language import singular
from agent.profile import AUDIENCES, RELATIVES
from tools.catalog import Item
from tools.tokenize import normalize_text

MIN_CATALOG_COUNT = 3
"""Titles a correction target must appear in: fewer is as likely a typo in the catalog as a word."""
MIN_LENGTH = 4
DOMINANCE = 10
COMMON_ENGLISH = 100_000
"""A word this frequent in the English list is a word ("niece", "worn", "clue", "onto": 1-10 million), never a
typo, however much more common its neighbour is ("piece", "work", "blue", "into"); "calliper" (51 thousand) is below."""
MIN_ENGLISH_TYPO = 6
"""A typed word of 6+ letters may be corrected to a common English word the catalog does not use; shorter ones are
slang, interjections and brands as often as typos ("sumn", "haha", "hanes", "korad")."""
_WORD = re.compile(r"[a-z]+")
_HYPHENATED = re.compile(r"(?<![\w'-])[A-Za-z]+(?:-[A-Za-z]+)+(?![\w'-])")
# A key hit beside a letter inside a word: "sh;orts", "bea]nie", "magnif=ying", "solder[ing"
_STRAY = re.compile(r"(?<![\w'-])([A-Za-z]{2,})[;\[\]=\\|`]([A-Za-z]{2,})(?![\w'-])")
_FREE = re.compile(r"(?<=[A-Za-z]-)(?:fre|fee|freee|frree|frre|fere)\b", re.IGNORECASE)
JOINED_ENGLISH = 1_000_000
"""A hyphenated pair is joined into an English word this common that no title uses ("ear-rings" -> "earrings",
12.8 million); rarer ones keep their hyphen ("pre-shrunk", "anti-static", "non-stick": 0.3-0.8 million)."""
_SPLIT_WORD = re.compile(r"(?<![\w'-])[A-Za-z]{2,}(?![\w'-])")


@cache
def _english() -> dict[str, int]:
    path = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            word, _, count = line.strip().partition(" ")
            if word and count.isdigit():
                counts[word] = int(count)
    return counts


@cache
def _common_english() -> Any:
    """SymSpell over the English list's common words (COMMON_ENGLISH or more, 4+ letters: 54 thousand words; about
    1.5 s and 150 MB to build, once per process)."""
    from symspellpy import SymSpell

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for word, count in _english().items():
        if count >= COMMON_ENGLISH and len(word) >= MIN_LENGTH and word.isalpha():
            sym.create_dictionary_entry(word, count)
    return sym


def _skeleton(word: str) -> str:
    """The word's consonants, doubles once ("nitrel", "nitrile" -> "ntrl"): vowels are what phonetic typos get wrong."""
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouy]", "", word))


class Speller:
    """Corrects a message's unknown words to the closest frequent catalog word."""

    def __init__(self, counts: Counter[str], pairs: dict[tuple[str, str], Counter[str]] | None = None) -> None:
        from symspellpy import SymSpell

        self.counts = counts
        self.pairs = pairs or {}
        """Adjacent title words -> how the titles join them (" " or "-"): for words typed as one."""
        self._sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in counts.items():
            if count >= MIN_CATALOG_COUNT and len(word) >= MIN_LENGTH:
                self._sym.create_dictionary_entry(word, count)

    @classmethod
    def from_items(cls, items: Iterable[Item]) -> Speller:
        # Who an item is for is no catalog word, but a typo in it loses the audience ("for my granpa", "for my
        # nephwe", "for my hubsand": the set's seventh round): these words count as if 30 titles used them.
        counts: Counter[str] = Counter(
            dict.fromkeys([w for w in (*RELATIVES, *(w for ws in AUDIENCES.values() for w in ws)) if w.isalpha()], 30)
        )
        pairs: dict[tuple[str, str], Counter[str]] = {}
        for item in items:
            title = normalize_text(item.title)
            words = list(_WORD.finditer(title))
            counts.update({w.group() for w in words})
            for first, second in itertools.pairwise(words):
                joint = title[first.end() : second.start()]
                if joint in (" ", "-"):
                    pairs.setdefault((first.group(), second.group()), Counter())[joint] += 1
        return cls(counts, pairs)

    def word(self, word: str) -> str:
        """The correction of one lower-case word, or the word itself."""
        english = _english()
        if len(word) < MIN_LENGTH or not word.isalpha() or english.get(word, 0) >= COMMON_ENGLISH:
            return word
        if self.counts[singular(word)] >= MIN_CATALOG_COUNT:  # a plural of a catalog word ("weights", "polos")
            return word  # is no typo; a word of one or two titles may be one ("infared": 2 titles, "infrared": 83)
        joined = self._split(word)
        if joined is not None:
            return joined
        repeated = self._repeated(word)
        if repeated is not None:
            return repeated
        from symspellpy import Verbosity

        # Two edits from 8 letters; from 6 when the word is in no English list ("nitrel" -> "nitrile"): a word no
        # dictionary and no title knows is a typo, and a longer word has few neighbours two edits away.
        distance = 2 if len(word) >= 8 or (len(word) >= 6 and word not in english) else 1
        typed = english.get(word, 0)
        found = [
            (f.term, f.distance)
            for f in self._sym.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
            if self.counts[f.term] >= DOMINANCE * self.counts[word] and english.get(f.term, 0) >= DOMINANCE * typed
        ]
        # Of the words equally close, one with the typed consonants first ("powdr": "powder" before the commoner
        # "power"): a typo drops or swaps vowels far more often than consonants.
        for target, edits in sorted(found, key=lambda f: _skeleton(f[0]) != _skeleton(word)):
            if target == word:
                return word
            if len(word) < 8 and edits > 1 and _skeleton(target) != _skeleton(word):
                continue  # two edits in a short word only in its vowels: "nitrel" -> "nitrile", not "flanel" -> "flare"
            if english.get(target, 0) == 0:
                # A catalog word no English list knows may be the titles' own typo: "mercurey" is "mercury", not
                # the "mercurry" of 3 titles.
                return self._common(word) or str(target)
            return str(target)
        return self._common(word) or word

    def _common(self, word: str) -> str | None:
        """The common English word one vowel-edit away from a word no title and no English list knows, which the
        titles seldom use: "polyster" -> "polyester" (no clothing title says polyester), "burgandy" -> "burgundy",
        "reveiws" -> "reviews". Only for words of MIN_ENGLISH_TYPO+ letters that no title uses, one edit away and with
        the typed consonants, so short brands ("hanes", "korad") and the titles' rare words stay."""
        from symspellpy import Verbosity

        if len(word) < MIN_ENGLISH_TYPO or word in _english() or self.counts[word] > 0:
            return None  # a word of a title ("separatory") is the catalog's word, however rare
        for found in _common_english().lookup(word, Verbosity.CLOSEST, max_edit_distance=1):
            if found.term != word and _skeleton(found.term) == _skeleton(word):
                return str(found.term)
        return None

    def _split(self, word: str) -> str | None:
        """Two catalog words typed as one ("rainjacket" -> "rain jacket", "labcoat" -> "lab coat", "tshirt" ->
        "t-shirt"), written as the titles write the pair most often; None when no pair of titles' words makes it up.
        Only for a word no English list and no title knows, so "raincoat" or "sweatshirt" stay one word."""
        if word in _english() or self.counts[word] > 0:
            return None
        best: tuple[int, str] | None = None
        for cut in range(1, len(word)):
            pair = (word[:cut], word[cut:])
            seen = self.pairs.get(pair)
            if seen is None or len(pair[1]) < MIN_LENGTH - 1:
                continue
            count = sum(seen.values())
            if count >= MIN_CATALOG_COUNT and (best is None or count > best[0]):
                best = (count, pair[0] + seen.most_common(1)[0][0] + pair[1])
        return best[1] if best else None

    def _repeated(self, word: str) -> str | None:
        """A word typed with a syllable twice ("oscilloscoscope", "pajamajama", "pajajamas"), when the word without
        it is a catalog word: three edits or more, beyond the lookup's two."""
        for size in (2, 3, 4):
            for at in range(len(word) - 2 * size + 1):
                if word[at : at + size] == word[at + size : at + 2 * size]:
                    once = word[: at + size] + word[at + 2 * size :]
                    if self.counts[singular(once)] >= MIN_CATALOG_COUNT:
                        return once
        return None

    def _compound(self, typed: str) -> str:
        """A hyphenated word corrected: joined when the titles write it as one word ("water-proof" -> "waterproof",
        "flash-light" -> "flashlight") or it is a common English word ("ear-rings"), else each part corrected
        ("short-sleve" -> "short-sleeve", "heavy-duyt" -> "heavy-duty"). The training supplement's typos (written
        after the speller, so out of sample for it) had 20 such words the speller passed over."""
        lower = typed.lower()
        parts = lower.split("-")
        joined = "".join(parts)
        hyphenated = self.pairs.get((parts[0], parts[1]), Counter())["-"] if len(parts) == 2 else 0
        if len(parts) == 2 and (
            self.counts[joined] > hyphenated or (not hyphenated and _english().get(joined, 0) >= JOINED_ENGLISH)
        ):
            return joined
        fixed = "-".join(self.word(part) if len(part) >= MIN_LENGTH else part for part in parts)
        return typed if fixed == lower else fixed

    def correct(self, message: str) -> tuple[str, list[tuple[str, str]]]:
        """(the message with its typos corrected, [(typed, corrected)])."""
        changes: list[tuple[str, str]] = []

        def fix(match: re.Match[str]) -> str:
            typed = match.group(0)
            fixed = self.word(typed.lower())
            if fixed == typed.lower():
                return typed
            changes.append((typed, fixed))
            return fixed

        def compound(match: re.Match[str]) -> str:
            typed = match.group(0)
            fixed = self._compound(typed)
            if fixed != typed:
                changes.append((typed, fixed))
            return fixed

        def stray(match: re.Match[str]) -> str:
            joined = (match.group(1) + match.group(2)).lower()
            fixed = self.word(joined)
            if fixed == joined and not self._known(joined):
                return match.group(0)
            changes.append((match.group(0), fixed))
            return fixed

        head = _STRAY.sub(stray, _FREE.sub("free", message[:5000]))
        head = _HYPHENATED.sub(compound, self._joined(head, changes))
        text = re.sub(r"(?<![\w'-])[A-Za-z]+(?![\w'-])", fix, head) + message[5000:]
        return text, changes

    def _known(self, word: str) -> bool:
        return self.counts[singular(word)] >= MIN_CATALOG_COUNT or _english().get(word, 0) >= COMMON_ENGLISH

    def _joined(self, text: str, changes: list[tuple[str, str]]) -> str:
        """`text` with each catalog word typed as two joined ("cardi gan" -> "cardigan", "ther mometer" ->
        "thermometer", "oscillo scope" -> "oscilloscope"; the set's sixth round): when the titles use the joined
        word and never the pair, and one of the two is no word (so "rain coat" and "lab coat" stay apart)."""
        english = _english()

        def known(part: str) -> bool:
            return self.counts[part] >= MIN_CATALOG_COUNT or english.get(part, 0) >= COMMON_ENGLISH

        words = list(_SPLIT_WORD.finditer(text))
        out: list[str] = []
        at = 0
        skip = False
        for first, second in itertools.pairwise(words):
            if skip:
                skip = False
                continue
            a, b = first.group().lower(), second.group().lower()
            if (
                text[first.end() : second.start()] != " "
                or self.counts[a + b] < MIN_CATALOG_COUNT
                or (a, b) in self.pairs
                or (known(a) and known(b))
            ):
                continue
            out.append(text[at : first.start()] + a + b)
            changes.append((text[first.start() : second.end()], a + b))
            at, skip = second.end(), True
        return "".join(out) + text[at:]
