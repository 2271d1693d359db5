"""A learned pointer: which of the previous turn's picks a message is about, or none in particular.

Why: the rules of agent/dispute.py (`referenced_picks`) find a pick by its label, an ordinal, or the title words it
shares most, and each reading decides apart which of them counts (a claim dispute reads no title words, an item
dispute falls back to the top pick). On the 2,418 lines of the training supplement, written after those rules and so
out of sample for them, they point at the right pick (or at none) for 0.897 of the lines it reads: they missed
"the Dynarex box was never powder-free" (a brand, in a claim dispute), "A's coming home with me", "scratch the thrid
one", "nope on the one on the right", and read "scrap all three and start over" as about the top pick.

This model scores each pick, and "none in particular", from what the rules find and from lexical evidence they do not
weigh together: the label as a capital or texted letter, ordinals (also misspelt by one letter), position words
("middle", "bottom", "on the right"), title words that only that pick has, a brand typed one letter off, and, for
"none", words of the whole list ("all three", "0 for 3", "these") and the message's intent and dispute kind. It is a
conditional logit (a softmax over the picks and "none", as agent/prior_fit.py fits the prior) fitted by `llmrec
train intent` on the development part of tests/data/understanding.jsonl and the training supplement, and saved as
plain JSON weights. It reads no encoder. Fitted on the development part alone, it reads the supplement at 0.936
(+0.039 ± 0.007), and the held-out part at 0.932 against the rules' 0.892 (`python -m evals.pick_pointer`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agent.dispute import _content_of, corrected_claim, referenced_picks, title_pick
from agent.language import singular
from agent.learned import LearnedModelError, read_weights, save_weights
from agent.records import Dispute, Pick
from tools.settings import REPO_ROOT
from tools.tokenize import tokenize

PICK_MODEL_PATH = REPO_ROOT / "adapters" / "intent" / "pick_model.json"
PICK_MODEL_VERSION = 1
PICK_L2 = 0.3
"""Ridge penalty (summed log-likelihood units), chosen by 5-fold leave-family-out cross-validation on the
development part and the supplement (`python -m evals.pick_pointer`): right pick 0.969, 0.966, 0.961 at 0.3, 1, 3."""
INTENTS = ("request", "question", "accept", "dispute")
KINDS = ("item", "attribute", "claim", "owned")

_ORDINAL_WORDS = {1: ("first", "1st"), 2: ("second", "2nd"), 3: ("third", "3rd")}
_FUZZY_ORDINALS = {1: ("first",), 2: ("second", "middle"), 3: ("third",)}
_POSITION_WORDS = {
    "first": frozenset({"top", "left", "leftmost", "upper", "earliest"}),
    "middle": frozenset({"middle", "center", "centre", "mid"}),
    "last": frozenset({"last", "bottom", "right", "rightmost", "lower", "final", "end"}),
}
_WHOLE_LIST = frozenset(
    {"all", "three", "both", "these", "those", "them", "lot", "batch", "none", "every", "each", "any", "zero", "set"}
)
_LIST_NUMBER = re.compile(r"(?:^|\n|\s)\(?([1-9])\s*[).:-]\s", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+")


PointerCase = tuple[npt.NDArray[np.float64], int]
"""(features of each pick and of "none in particular", the row that is right): a set of the conditional logit."""


class PickModelError(LearnedModelError):
    """The pointer's weights cannot be used (missing, another version)."""


def _capital(label: str) -> re.Pattern[str]:
    # "A", "A's", "C'll", "Bs" ("3 more Bs"), "A-style", "similar-to-C", "(B)": the capital standing alone; not a
    # cell or a grade ("B2", "A:D", "A+", "'Sizes'!A")
    return re.compile(rf"(?<![A-Za-z0-9!:$]){re.escape(label)}(?=s\b|['\u2019-]|[^A-Za-z0-9+:]|$)")


def _one_off(word: str, target: str) -> bool:
    """Whether `word` is `target` with one letter dropped, added, changed or two swapped (never `target` itself)."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]] == target[diff[0] + 1]
    short, long = (word, target) if len(word) < len(target) else (target, word)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


PICK_FEATURES = (
    "rules_label",
    "rules_label_first",
    "rules_several",
    "rules_title",
    "rules_reading",
    "rules_reading_fallback",
    "rules_reading_claim",
    "rules_reading_several",
    "capital_unread",
    "capital_a_unread",
    "capital_opens",
    "texted",
    "ordinal",
    "ordinal_misspelt",
    "list_number",
    "position_word",
    "own_title_words",
    "shared_title_words",
    "brand_misspelt",
    *(f"own_title_words_{intent}" for intent in INTENTS),
)
NONE_FEATURES = (
    "bias",
    *(f"intent_{intent}" for intent in INTENTS),
    *(f"kind_{kind}" for kind in KINDS),
    "whole_list",
    "rules_none",
    "several_named",
    "rules_reading_none",
    "several_read",
    "no_capital",
    "no_own_title_words",
    "short",
    "long",
)


def pick_features(
    message: str, picks: Sequence[Pick], intent: str, kind: str | None, rules: Sequence[str]
) -> npt.NDArray[np.float64]:
    """One row per pick, then one for "none in particular", of PICK_FEATURES then NONE_FEATURES (the other half
    zero): the conditional logit scores each row with the same weights. `rules` are the picks the rules' reading is
    about (`rules_pointed`)."""
    text = unicodedata.normalize("NFKC", message[:2000])
    lower = text.lower()
    words = _WORD.findall(lower)
    content = _content_of(text)
    by_label = referenced_picks(text, picks, fallback=False, by_title=False)
    # the rules' title match, as `referenced_picks` reads it when no label or ordinal names a pick
    found = None if by_label else title_pick(text, picks)
    by_title = [found] if found is not None else []
    titles = [_content_of(pick["title"]) for pick in picks]
    brands = [next(iter(tokenize(pick["title"])), "") for pick in picks]
    numbered = {int(n) for n in _LIST_NUMBER.findall(text)}
    if len(numbered) < 2:
        numbered = set()  # a list numbers its lines ("1) ok 2) ok 3) not down"); "Step 3:" alone is no list
    n = len(picks)
    rows = np.zeros((n + 1, len(PICK_FEATURES) + len(NONE_FEATURES)))
    any_capital = False
    any_own = False
    for index, pick in enumerate(picks):
        position = index + 1
        label = pick["label"]
        capital = bool(_capital(label).search(text))
        any_capital |= capital
        others = set().union(*(titles[j] for j in range(n) if j != index)) if n > 1 else set()
        own = len(content & (titles[index] - others))
        any_own |= own > 0
        ordinals = _ORDINAL_WORDS.get(position, ()) if position < n else (*_ORDINAL_WORDS.get(position, ()), "last")
        fuzzy = _FUZZY_ORDINALS.get(position, ()) if position != 2 or n == 3 else ("second",)
        where = "first" if position == 1 else "last" if position == n else "middle" if 2 * position == n + 1 else ""
        brand = brands[index]
        unnamed = list(rules) == [pick["item_id"]] and not (by_label or by_title)
        values = {
            "rules_label": pick["item_id"] in by_label,
            "rules_label_first": bool(by_label) and by_label[0] == pick["item_id"],
            "rules_several": len(by_label) > 1 and pick["item_id"] in by_label,
            "rules_title": bool(by_title) and by_title[0] == pick["item_id"],
            # the rules' pick when nothing named it (an item dispute falls back to the top pick) is no evidence
            "rules_reading": list(rules) == [pick["item_id"]] and bool(by_label or by_title),
            "rules_reading_fallback": unnamed and kind != "claim",
            # ...but a claim dispute's pick is the one the disputed rationale sentence is about
            "rules_reading_claim": unnamed and kind == "claim",
            "rules_reading_several": len(rules) > 1 and pick["item_id"] in rules,
            "capital_unread": capital and label != "A" and pick["item_id"] not in by_label,
            "capital_a_unread": capital and label == "A" and pick["item_id"] not in by_label,
            "capital_opens": bool(re.match(rf"\W*{re.escape(label)}(?![A-Za-z0-9])", text)),
            "texted": label not in ("A", "I") and label.lower() in words and len(words) <= 20,
            "ordinal": any(word in ordinals for word in words),
            "ordinal_misspelt": any(_one_off(word, t) for word in words if len(word) >= 4 for t in fuzzy),
            "list_number": position in numbered,
            "position_word": bool(where) and any(word in _POSITION_WORDS[where] for word in words),
            "own_title_words": min(own, 3),
            "shared_title_words": min(len(content & titles[index] & others), 3),
            "brand_misspelt": len(brand) >= 4 and any(_one_off(word, brand) for word in words if len(word) >= 4),
            **{f"own_title_words_{i}": min(own, 3) * (intent == i) for i in INTENTS},
        }
        rows[index, : len(PICK_FEATURES)] = [float(values[name]) for name in PICK_FEATURES]
    none = {
        "bias": True,
        **{f"intent_{i}": intent == i for i in INTENTS},
        **{f"kind_{k}": intent == "dispute" and kind == k for k in KINDS},
        "whole_list": any(singular(word) in _WHOLE_LIST or word in _WHOLE_LIST for word in words),
        "rules_none": not by_label and not by_title,
        "several_named": len(by_label) > 1,
        "rules_reading_none": not rules,
        "several_read": len(rules) > 1,
        "no_capital": not any_capital,
        "no_own_title_words": not any_own,
        "short": len(words) <= 5,
        "long": len(words) > 40,
    }
    rows[n, len(PICK_FEATURES) :] = [float(none[name]) for name in NONE_FEATURES]
    return rows


def rules_pointed(message: str, picks: Sequence[Pick], dispute: Dispute | None) -> list[str]:
    """The picks the rules read `message` as about: a dispute's (`dispute`, from agent/dispute.py `find_dispute`),
    but for an attribute dispute the picks it names (it rejects the picks that have what it rules out, whichever it
    names: "I said no plastic" is about no pick in particular, though it drops C) and for a correction the picks
    its subject names; otherwise the picks named by label, ordinal or title words."""
    if dispute is None:
        return referenced_picks(message, picks, fallback=False)
    corrected = corrected_claim(message, picks)
    if corrected is not None and corrected[2]:
        return list(corrected[2])
    if dispute["kind"] == "attribute":
        # Title words do not count: the ruled-out word is in the dropped pick's title by construction.
        return referenced_picks(message, picks, fallback=False, by_title=False)
    return list(dispute["item_ids"])


@dataclass(frozen=True)
class PickModel:
    """The fitted pointer: one weight per feature of PICK_FEATURES then NONE_FEATURES."""

    weights: tuple[float, ...]
    fitted_on: dict[str, object]

    def point(
        self, message: str, picks: Sequence[Pick], intent: str, kind: str | None, rules: Sequence[str]
    ) -> str | None:
        """The item id of the pick `message` (as spelled by the agent) is about, else None (about none of them in
        particular, or about several); `rules` as `rules_pointed` reads it."""
        if not picks:
            return None
        by_rules = next((i for i, pick in enumerate(picks) if list(rules) == [pick["item_id"]]), None)
        best = self.choose(pick_features(message, picks, intent, kind, rules), by_rules)
        return picks[best]["item_id"] if best is not None else None

    def choose(self, x: npt.NDArray[np.float64], by_rules: int | None) -> int | None:
        """The row of the pick `x` (from `pick_features`) scores best, else None for "none in particular"; where that
        pick has no evidence at all, the rules' pick (`by_rules`, a row or None): the weights cannot tell picks
        without evidence apart, and "I already own that" went to the second pick by a tie at 0."""
        best = int(np.argmax(x @ np.asarray(self.weights, dtype=np.float64)))
        if best == len(x) - 1:
            return None
        return best if x[best].any() else by_rules

    def save(self, path: Path = PICK_MODEL_PATH) -> None:
        save_weights(
            {
                "version": PICK_MODEL_VERSION,
                "features": [*PICK_FEATURES, *NONE_FEATURES],
                "weights": list(self.weights),
                "fitted_on": self.fitted_on,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path = PICK_MODEL_PATH) -> PickModel:
        if not path.is_file():
            raise PickModelError(f"no pick pointer at {path}: run `llmrec train intent`")
        fields = read_weights(path, PICK_MODEL_VERSION, "a pick pointer of", PickModelError)
        if fields["features"] != [*PICK_FEATURES, *NONE_FEATURES]:
            raise PickModelError(f"{path} was fitted on other features: run `llmrec train intent`")
        return cls(weights=tuple(float(w) for w in fields["weights"]), fitted_on=dict(fields["fitted_on"]))


def point_at(
    model: PickModel | None,
    message: str,
    picks: Sequence[Pick],
    intent: str,
    dispute: Dispute | None,
    rules: Sequence[str],
) -> str | None:
    """The pick `message` is about: the pointer's reading when one is shipped and `consults` it, else the rules' when
    they read one pick (`rules`, as `rules_pointed` reads them), else None."""
    if model is None or not picks or not consults(message, picks, disputing=dispute is not None):
        return rules[0] if len(rules) == 1 else None
    return model.point(message, picks, intent, dispute["kind"] if dispute is not None else None, rules)


def consults(message: str, picks: Sequence[Pick], *, disputing: bool) -> bool:
    """Whether the pointer reads `message`: not a correction ("a pH meter is not a multimeter"), whose grammar says
    which picks it is about (those its subject names or that are what it rules out, else none), where title words
    alone misled the pointer: "meter" in the Uni-T clamp meter's title pointed at it, and the revision dropped a
    multimeter for a pH pen's sake."""
    return not disputing or corrected_claim(message, picks) is None


def repoint(dispute: Dispute, pointed: str | None, picks: Sequence[Pick]) -> Dispute:
    """`dispute` about the pick the pointer read (`pointed`, from `point_at`), as `read_message` scores it.

    An item, owned or claim dispute is about that pick when the pointer names one. When it names none and the rules
    named one: an item or owned dispute is about all the picks ("scrap all three and start over", "0 for 3", "I
    already have all three": the rules rejected the top pick alone), a claim dispute about none ("I never said no
    hood??": no pick is punished). An attribute dispute keeps the rules' picks: it rejects those that have what it
    rules out, whichever pick it names."""
    kind, ids = dispute["kind"], list(dispute["item_ids"])
    if kind == "attribute":
        return dispute
    if pointed is not None:
        ids = [pointed]
    elif len(ids) == 1:
        ids = [pick["item_id"] for pick in picks] if kind in ("item", "owned") else []
    return {**dispute, "item_ids": ids}


def open_pick_model(path: Path = PICK_MODEL_PATH) -> PickModel | None:
    """The shipped pointer, or None when there is none (the rules then point)."""
    return PickModel.load(path) if path.exists() else None


def fit_pick_model(cases: Sequence[PointerCase], *, l2: float, fitted_on: dict[str, object]) -> PickModel:
    """The conditional logit over `cases` (features of each pick and "none", the row that is right)."""
    from agent.prior_fit import conditional_logit

    weights = conditional_logit(list(cases), l2=l2)
    return PickModel(weights=tuple(round(float(w), 6) for w in weights), fitted_on=fitted_on)
