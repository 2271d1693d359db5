"""Intent of a user turn by constrained choice: the model's log-probabilities over five label tokens, plus a
lexical prior, over the intents that the conversation allows.

Why a prior: measured on 12 hand-labelled messages, the default SmolLM2-135M gives the four labels nearly the
same log-probability whatever the message (it answered "A" for all 12; 4/12 correct, chance level), with or
without few-shot examples or contextual calibration. The cue prior below adds `cue_weight` nats to the intents
whose cue words occur, so on the default model the cues decide, and a capable model (a larger base behind vLLM,
or a fine-tuned adapter) can still overrule them: its label log-probabilities differ by several nats.

Allowed intents: `dispute` and `accept` need something to dispute or accept, so without committed items they are
masked out rather than left to the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from agent.language import OWNED_BY_NOW, prepare
from agent.prompts import INTENT_LABELS, render_intent_prompt
from agent.runtime import Recommender
from agent.state import INTENTS, Intent

# Asides that are no request, by kind: deferring the choice to someone else (the set's sixth round, read as disputes
# or requests before: "let me run these by my PI first", "gonna show these to my wife and get back to you", "my lab
# manager has the final say"), greetings of the season and "no rush" (the seventh: "happy thanksgiving", "no
# pressure, I've got all afternoon"), the chat's account or screen ("how do I log out of this thing?"), and a person
# to talk to or what is kept of the chat (the eighth: "is there a customer service rep I could speak with?").
_ASIDES: dict[str, re.Pattern[str]] = {
    # a greeting or thanks alone ("hi there": the 135M model answered it with "I'm here to help you find your
    # favorite skincare item ... Answer: Yes")
    "hello": re.compile(
        r"^\s*(?:hi|hello|hey|howdy|yo|greetings|good (?:morning|afternoon|evening))(?: there| again| all| everyone)?"
        r"[\s!.,]*$"
    ),
    "thanks": re.compile(r"^\s*(?:thanks|thank you|thx|ty|cheers)(?: (?:so|very) much| a lot)?[\s!.,]*$"),
    "later": re.compile(
        r"\b(?:get back to you|run (?:these|them|this|it) (?:by|past)|check with (?:my|the|our) |"
        r"ask (?:my|the|our) [a-z]+(?: [a-z]+)? (?:first|before)|show (?:these|them|this|it) to (?:my|the|our) |"
        r"(?:has|have|gets|get) the final say|talk (?:it|this) over|sleep on it|think it over|"
        r"no rush(?! (?:delivery|shipping|order))|no hurry|no pressure|take your time)"
    ),
    "greeting": re.compile(
        r"\b(?:happy (?:thanksgiving|holidays|new year|birthday|easter|hanukkah|diwali|friday|weekend)|"
        r"merry (?:christmas|xmas)|season'?s greetings)"
    ),
    "account": re.compile(
        r"\b(?:log (?:me )?(?:out|in)|sign (?:me )?(?:out|in|up)|(?:make|create|delete) (?:an |my )?account|"
        r"(?:change|reset|delete|update|edit) (?:my|the) (?:account|profile|password|email(?: address)?|username)|"
        r"on my (?:account|profile)\b(?! shows)|dark mode|font (?:size|bigger|smaller)|make the font|"
        r"what i (?:type|typed|looked up|searched)|my data\b|privacy)"
    ),
    "person": re.compile(
        r"\b(?:customer service|(?:a |an )?(?:real |live )?(?:human|person|agent|rep|representative) (?:i could|to) "
        r"(?:speak|talk)|(?:talk|speak|chat) (?:to|with) (?:a |an )?(?:real |live )?(?:human|person|agent|rep\b|"
        r"representative)|transfer me)"
    ),
}
_DEFERS = re.compile("|".join(f"(?:{p.pattern})" for p in _ASIDES.values()))
_CUES: dict[Intent, re.Pattern[str]] = {
    "dispute": re.compile(
        r"\b(wrong|incorrect|not (?:for|a|an|what|true|right|that|this|the)|do not like|"
        r"is not|are not|does not|said no|no more|already (?:own|have|bought|got)|own (?:that|it|this) already|"
        r"have (?:that|it|this) already|nope|never said|not interested|"
        # owned by now or on its way (the set's ninth round): "A is already on its way to me, ordered it monday",
        # "bought the middle one yesterday", "I have a drawer full of C already", "stocked up on B last month"
        rf"{OWNED_BY_NOW}|"
        r"(?:ordered|bought|got) (?:it|that|this|one|[a-c]|the \w+(?: one)?) (?:yesterday|last \w+|this morning|"
        r"earlier|on \w+day|\w+day)|"
        r"(?:^|[.!?] )no \w+|without \w+|hate|"
        # issue 18's new phrasings: "replace B", "swap out the first one", "not feeling A", "zippers are a
        # dealbreaker", "too much polyester", "I can't wear wool", "you called C test tubes"
        r"replace|swap|get rid|not feeling|deal ?-?breakers?|no-?go|too much|can not (?:wear|have|use|stand)|"
        r"called|calling|described|"
        # the user's rule was ignored or broken (the set's sixth round): "you ignored the no-wool part", "you skipped
        # right over the part where I said no vinyl", "X is banned in our makerspace"
        r"ignored|ignoring|skipped|overlooked|missed the part|forgot (?:about )?(?:my|the|that)|banned|not allowed|"
        # the set's seventh round: "my gut says no to C", "To reiterate: nothing with Bluetooth", "As previously
        # stated, ...", "wool is not acceptable", "eww fur trim", "you mistook a tunic for a dress"
        r"no to|says no|reiterate|as (?:previously |already )?(?:stated|mentioned|said)|"
        r"per my (?:earlier|last|previous)|"
        r"not acceptable|unacceptable|e+w+|yuck|mistook|mistaken)\b",
        re.IGNORECASE,
    ),
    "accept": re.compile(
        r"\b(i'?ll take|i will take|i'?ll buy|i will buy|i'?ll get|perfect|sounds good|looks good|love (?:it|that)|"
        r"that works|great choice|exactly what|just what|ordered|added to cart|"
        # the usual ways of settling on one (none of them a request): "sold", "deal", "that's the one"...
        r"sold|deal|done deal|i'?ll have|i will have|i'?ll order|i'?m (?:ordering|buying|getting)|(?:go|going) with|"
        r"i (?:choose|pick) (?:the (?:first|second|third|last|middle)|[a-c]\b)|that'?s the one|this is the one|"
        r"the one for me|works for me|love the|(?:i )?like (?:the )?\S+ (?:one )?best|add(?:ed|ing)? .{0,30}to (?:my )?"
        r"(?:cart|basket|order)|buy(?:ing)? (?:it|that|this|the)|purchas(?:e|ing) (?:it|that|this|the)|"
        r"check(?:ing)? out|winner|bingo|nailed it|keeper|just right|spot on|exactly right|"
        # "I'll go for B", "the last one it is", "C sounds great", "A will do nicely", "yep, B", "C, definitely"
        r"go(?:ing)? for (?:the |[a-c]\b)|it is(?: then)?\s*[.!]*$|sounds (?:great|good|perfect|ideal|right)|"
        r"looks (?:ideal|great|perfect|right)|will do(?: nicely| fine)?\s*[.!]*$|"
        r"^(?:yes|yep|yeah|yup|sure|ok(?:ay)?)\W+(?:the )?(?:[a-c]|first|second|third|last|middle)\b|"
        r"^(?:the )?(?:[a-c]|first|second|third|last|middle)(?: one)?\W+(?:definitely|please|for sure)\b)",
        re.IGNORECASE,
    ),
    "request": re.compile(
        r"\b(recommend|suggest|looking for|need|want|show|find|search|searching|seeking|hunting for|"
        r"any|something|what about|alternatives?|"
        r"else|more|other|cheaper|similar|like my|instead|gift|for (?:a|my|the)|options?|same as|along the lines of|"
        r"in the style of|close to|(?:^|just |something |anything |one |more )like (?:the |that |this )?"
        r"(?:first|second|third|last|middle|top|one|[a-c])|but (?:in|for|with|without|cheaper|bigger|smaller))\b",
        re.IGNORECASE,
    ),
    "question": re.compile(
        r"^\s*(why|is|are|does|do|can|will|what|which|how|would|could|should|has|have|did|was|were)\b.*\?\s*$|"
        r"\b(what do you mean|explain|tell me (?:more )?about|more (?:details|info|information) (?:on|about))\b",
        re.IGNORECASE | re.DOTALL,
    ),
    "other": re.compile(
        r"^\s*(hi|hello|hey|good (?:morning|evening|afternoon|night)|thanks|thank you|bye|goodbye|who are you|"
        r"what can you do|help|how are you|how'?s it going|what'?s up|sup|yo|howdy|greetings|nice to meet|"
        r"see (?:you|ya)|later|cheers|lol|haha|hehe|never ?mind|nvm|that'?s all|no thanks|not now|ok(?:ay)? cool|"
        r"cool|tell me (?:a joke|about yourself)|what(?:'s| is) your name|who (?:made|built) you)\b"
        r"|\b(?:are you (?:a |an )?(?:bot|human|robot|ai|real|person)|joke|how old are you)\b"
        # acknowledgements and punctuation alone: "got it", "hmm interesting", "let me think about it", "........"
        r"|^\s*(?:ok(?:ay)?,? )?(?:got it|interesting|hmm+|let me think|i'?ll think|i will think|i'?ll have a look|"
        r"i will have a look|noted|understood|makes sense)\b|^[^a-z0-9]+$"
        r"|" + _DEFERS.pattern,
        re.IGNORECASE,
    ),
}


# Settling on a pick by acquiring it: "lock in B", "get me the second one", "proceed with option C", "grabbing the
# first one", "C, copping it rn", "the last one 🔥". The learned intent classifier read every one of the sixth
# round's 8 unseen development accepts of this shape as a dispute (a short message naming a pick mostly is one in
# its training lines), and a dispute removes the very pick the user chose; so this shape decides (`settles_on_pick`).
_PICK = (
    r"(?:(?:the |option |item |pick |choice |number |#)?(?:[a-c]|[1-3]|first|second|third|last|middle|1st|2nd|3rd)"
    r"(?: (?:one|ones|pick|option|item|suggestion|pair|1))?|the [a-z0-9'-]+(?: [a-z0-9'-]+)? (?:one|ones|pair)|"
    r"the [a-z0-9'-]+)"
)
_ACQUIRE = (
    r"(?:please |you can |(?:i|we)(?: would|'d) like to |(?:i|we) want to )?"
    r"(?:i'?ll |i will |we'?ll |we will |let'?s |let us |gonna |going to |(?:can|could|may) (?:i|we) |i'?m |we'?re |"
    r"i |we )?"
    r"(?:just |definitely )?(?:take|taking|get|getting|grab|grabbing|snag|snagging|cop|copping|buy|buying|order|"
    r"ordering|purchase|purchasing|lock in|locking in|lock|go with|going with|proceed with|proceeding with|"
    r"give me|gimme|get me|send me|ship me|cart|carted|carting|ring (?:me )?up for|ring up|bag up|bagging up|"
    # the set's eighth round: "sign me up for B", "put me down for the last one", "ok ill do tha last 1"
    r"sign me up for|put me down for|do|gettin)"
)
# Emoji of approval: check marks, thumbs up, 100, fire, hearts, raised hands, a shopping cart.
_APPROVING = r"[\u2705\u2714\ufe0f\U0001f44d\U0001f4af\U0001f525\u2764\U0001f60d\U0001f64c\U0001f6d2]"
_END = (
    r"(?:\s*(?:please|pls|plz|then|now|rn|right now|asap|today|thanks|thank you|thx|ty|for me|for sure|ftw))*"
    rf"\s*(?:{_APPROVING}\s*)*(?:[.!,;]|$)"
)
_SETTLES = re.compile(
    rf"(?:^|[.!?,;:]\s*|\b(?:ok(?:ay)?|yes|yeah|yep|bet|cool|great|nice|alright)\W+){_ACQUIRE} {_PICK}{_END}"
    # "B is fire, copping it rn", "C. lock it in.", "the last one slaps, gonna cop"
    rf"|^\s*(?:[a-z!' ]{{1,15}}, )?{_PICK}\b[^!?]{{0,40}}?\b{_ACQUIRE}(?: (?:it|them|that|this)(?: in| up)?)?{_END}"
    # "the first one is going in my cart", "putting the Fluke in my basket"
    rf"|^\s*(?:(?:i'?m |i am |we'?re )?(?:putting|adding|tossing|throwing|popping) )?{_PICK}\b[^!?]{{0,12}}?"
    rf"\b(?:(?:is |are )?(?:going|goes) )?(?:in|into|to) (?:my|the|our) (?:cart|basket|bag|order){_END}"
    # "kk b pls ty", "yep, the middle one", "1st 1 pls thx", "c ftw", "middle one 💯"; "C's a total no-brainer"
    rf"|^\s*(?:(?:ok(?:ay)?|kk?|yes|yep|yeah|yup|sure)\W+)?{_PICK}{_END}"
    rf"|^\s*(?:[a-z!']{{1,12}},? )?{_PICK}(?:'s| is)? (?:a |an )?(?:total |complete |absolute )?no-?brainer\b"
    # "✅ the first one"
    rf"|^\s*(?:{_APPROVING}\s*)+{_PICK}\s*$"
)
_REFUSAL = re.compile(
    r"\b(?:not|no(?!-brainer)|never|nope|nah|neither|nor|without|instead|but|(?<!would )(?<!'d )like|similar|than|"
    r"back)\b"
)


# Refusing a pick with a verb of taking it: "on second thought, I'm not going with B after all" (read as an accept)
_REFUSES = re.compile(
    r"\b(?:not|never|no longer|will not|would not)\s+(?:be\s+)?(?:going with|go with|taking|take|getting|get|buying|"
    r"buy|ordering|order|having)\b"
)


def refuses_pick(message: str) -> bool:
    """The message refuses to take a pick ("I'm not going with B after all", "won't be ordering the second one")."""
    return bool(_REFUSES.search(prepare(message).lower()))


# A question about a pick or the picks (the set's eighth round, read as disputes or requests): "the unisex scrub top,
# is it cut more for men or for women?", "does the hawke & co one fold into its own pocket?", "of these three,
# which gloves are the thickest?"
_ASKS_ABOUT_PICKS = re.compile(
    r"(?:^|[.!?,;]\s*|\band\s+)(?:is|are|does|do|can|could|will|would|has|have|did|was|were|should)\s+"
    r"(?:it|this|that|they|these|those|[a-c]|the (?:first|second|third|last|middle)(?: one| pair| pick)?|"
    r"the [a-z0-9&' -]{1,30}? (?:one|ones|pair))\b[^?]*\?"
    r"|\b(?:of|out of|among|between) (?:these|them|those|the three|the two|your picks)\b[^?]*\bwhich\b[^?]*\?"
    r"|\bwhich\b[^?]*\b(?:of|out of|among) (?:these|them|those|the three|the two)\b[^?]*\?"
)


def asks_about_picks(message: str) -> bool:
    """A question about the picks, with no refusal in it ("is B waterproof?", "which of these is warmest?")."""
    text = prepare(message).lower()
    return len(text) <= 300 and bool(_ASKS_ABOUT_PICKS.search(text)) and not _REFUSAL.search(text)


def aside_kind(message: str) -> str | None:
    """The kind of a short aside that asks for nothing ("later": leaving the choice to someone else or to later, "let
    me check with my wife first", "no rush"; "greeting": a season's greeting; "account": the chat's account, screen or
    what it keeps; "person": a person to talk to), or None. At most 15 words: a longer one may ask for something."""
    text = prepare(message).lower()
    if len(text.split()) > 15:
        return None
    return next((kind for kind, pattern in _ASIDES.items() if pattern.search(text)), None)


def is_aside(message: str) -> bool:
    """A short aside (`aside_kind`): chit-chat, whatever else its words cue."""
    return aside_kind(message) is not None


def settles_on_pick(message: str) -> bool:
    """The message settles on one pick by acquiring it ("lock in B", "get me the second one", "B 👍") and says
    nothing against it or about anything else (no negation, "but", "like", "instead")."""
    text = prepare(message).lower()
    if len(text) > 120:
        # a long message settles in its last sentence ("... So I've made up my mind. Let's go with the Carhartt.")
        text = re.split(r"(?<=[.!?])\s+", text.strip())[-1]
    return len(text) <= 120 and bool(_SETTLES.search(text)) and not _REFUSAL.search(text)


def allowed_intents(has_picks: bool) -> tuple[Intent, ...]:
    """Intents possible in this conversation state."""
    return INTENTS if has_picks else ("request", "other")


def cue_prior(message: str, allowed: Sequence[Intent], cue_weight: float) -> dict[Intent, float]:
    """`cue_weight` nats for each allowed intent whose cue words occur in the message, else 0.

    The cues are matched on the language layer's reading of the message (`agent.language.prepare`), so contractions
    and quotes are spelled one way. A message with no cue at all but several words is taken as a request (a
    shopper naming a product type without a verb: "waterproof hiking boots size 9").
    """
    prior: dict[Intent, float] = {intent: 0.0 for intent in allowed}
    message = prepare(message)  # the language layer's reading: "isn't" -> "is not", curly quotes, no accents
    matched = [intent for intent in allowed if _CUES[intent].search(message)]
    # A dispute cue ("not for beginners") outranks the request words it usually comes with ("something").
    if "dispute" in matched and "request" in matched and not _starts_with_request(message):
        matched.remove("request")
    for intent in matched:
        prior[intent] = cue_weight
    if not matched and "request" in prior and len(message.split()) >= 2:
        prior["request"] = cue_weight / 2
    return prior


def _starts_with_request(message: str) -> bool:
    return bool(re.match(r"\s*(?:can you |could you |please )?(recommend|suggest|show|find)\b", message, re.I))


def classify_intent(
    llm: Recommender,
    message: str,
    *,
    shown: Sequence[str] = (),
    has_picks: bool = False,
    cue_weight: float = 2.0,
) -> tuple[Intent, dict[str, float]]:
    """(intent, log-probability of each allowed intent), normalised over the allowed intents.

    One forward pass of the model over the intent prompt; the label log-probabilities are renormalised over the
    allowed intents and added to the cue prior. Ties go to the earlier intent in INTENTS (request first).
    """
    allowed = allowed_intents(has_picks)
    prompt = render_intent_prompt(llm.tokenizer, message, shown)
    labels = [INTENT_LABELS[intent] for intent in allowed]
    model = llm.label_logprobs(prompt, labels)
    prior = cue_prior(message, allowed, cue_weight)
    combined = {intent: model[INTENT_LABELS[intent]] + prior[intent] for intent in allowed}
    norm = math.log(sum(math.exp(v) for v in combined.values()))
    scores = {intent: value - norm for intent, value in combined.items()}
    best = max(allowed, key=lambda intent: (scores[intent], -allowed.index(intent)))
    return best, {str(intent): value for intent, value in scores.items()}
