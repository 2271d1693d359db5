"""Grounded decoding: the grammar that lets the rationale say only sentences that are true of what it was shown.

The shipped 135M student learned the teacher's sentence shapes but not to fill them truthfully: on 200 served users
per domain about a quarter of its claims were true links (goal 0.9), and to a new user it wrote "shares "multimeter"
with your history item". Decoding over the evidence writer's own sentences (agent/evidence_writer.py
`rationale_choices`: every link of every shown candidate, in each phrasing the student was trained on, in the
teacher's shape of one or two sentences for the pick and one contrast) keeps the choice with the model (which
candidate to argue for, by which link, against which other, and when to stop) and leaves it no way to state a link
that does not exist. The grammar is an EBNF string that xgrammar compiles for both
backends: vLLM's structured outputs over HTTP and xgrammar's transformers logits processor in process, so both
decode alike (tests/integration/test_vllm_backend.py).

`LLMREC_RATIONALE_DECODING=free` turns it off (the `llm-rec-free` system of the evals measures that student alone).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from agent.evidence_writer import rationale_choices
from agent.records import Shown
from tools.catalog import Item

MAX_SENTENCES = 4
"""The instruction asks for 2-4 sentences; the fifth is where a small model starts to loop or recite (free
decoding stops there too, agent/ranking.py). The grammar's rationales have at most three: the teacher's shape."""


def _literal(text: str) -> str:
    # EBNF string literals take JSON's escapes ("\"", "\\", "\n", "\u00e9").
    return json.dumps(text, ensure_ascii=False)


def _alternatives(sentences: list[str]) -> str:
    return " | ".join(_literal(s) for s in sentences)


def rationale_grammar(shown: Shown, items: Mapping[str, Item], pick: str | None = None) -> str:
    """The EBNF grammar of the rationales that may follow `shown`, in the teacher's shape: one or two sentences for
    one pick (two by different links; one when it has no links), then at most one contrast about another candidate.
    Sentences are separated by single spaces; the model may end after any of them. With `pick` (a label), the
    rationale argues for that candidate: the one the agent will commit first whatever the labels say
    (agent/prior.py `fixed_top`)."""
    choices = rationale_choices(shown, items)
    labels = [pick] if pick in choices.own else list(choices.own)
    rules: list[str] = []
    picks: list[str] = []
    for n, label in enumerate(labels):
        groups = [g for g in choices.own[label] if g]
        if not groups:
            continue
        rules += [f"own{n}_{i} ::= {_alternatives(g)}" for i, g in enumerate(groups)]
        # Any candidate's contrast, the pick's own included ("A also links to you" after arguing for A is true, if
        # odd): one shared rule compiles in a tenth of the time of one rule per pick (0.15 s against 1.5 s).
        rival = ' (" " contrast)?' if any(choices.contrast.values()) else ""
        ways = []
        for i in range(len(groups)):
            others = [f"own{n}_{j}" for j in range(len(groups)) if j != i]
            second = f' (" " ({" | ".join(others)}))?' if others else ""
            ways.append(f"own{n}_{i}{second}{rival}")
        picks.append(f"pick{n}")
        rules.append(f"pick{n} ::= " + " | ".join(f"({way})" for way in ways))
    if not picks:  # no candidates: nothing true can be said, so nothing is
        return 'root ::= ""\n'
    contrasts = sorted({s for sentences in choices.contrast.values() for s in sentences})
    if contrasts:
        rules.append(f"contrast ::= {_alternatives(contrasts)}")
    return "\n".join([f"root ::= {' | '.join(picks)}", *rules]) + "\n"
