"""A process that runs one finished turn, then hangs in the middle of the next, waiting to be killed.

    python -m tests.reliability.turn_worker --data-dir DIR --checkpoint FILE --thread T --hang-file FILE

Used by test_checkpoint_faults.py: the test SIGKILLs it while the second turn is between its rationale and its
ranking (the checkpoint then holds a half-done turn), and a new process must resume the thread without loss.
Prints the first turn's result as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from agent.local_backend import LocalRecommender
from agent.model_store import converted_default_model
from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from tests.retrievaldata import settings_for, small_catalog
from tests.tiny_models import build_tiny_llama
from tools.embeddings import Encoder
from tools.search import catalog_retrievers
from tools.settings import RetrievalSettings


class HangingLLM:
    """The tiny model; once `armed`, its first label_logprobs call of a turn (the ranking: the intent is read by the
    learned classifier, agent/intent_model.py) never returns."""

    def __init__(self, inner: Any, hang_file: Path) -> None:
        self.inner, self.name, self.tokenizer = inner, inner.name, inner.tokenizer
        self.hang_file, self.armed, self.calls = hang_file, False, 0

    def generate(
        self, prompt: str, max_tokens: int, stop: Sequence[str] = (), stream: bool = False, **decoding: Any
    ) -> Iterator[str]:
        return self.inner.generate(prompt, max_tokens, stop, stream)  # type: ignore[no-any-return]

    def label_logprobs(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        self.calls += 1
        if self.armed and self.calls == 1:
            self.hang_file.write_text("in the middle of a turn")
            time.sleep(600)
        return self.inner.label_logprobs(prompt, labels)  # type: ignore[no-any-return]


def main(args: argparse.Namespace) -> None:
    model, tokenizer = build_tiny_llama(converted_default_model(ModelSettings().model_cache_dir))
    llm = HangingLLM(LocalRecommender(model, tokenizer, name="tiny-llama"), args.hang_file)
    encoder = Encoder(RetrievalSettings().embedding_model, cache_dir=args.data_dir / "vectors")
    with (
        catalog_retrievers(small_catalog(), settings_for(args.data_dir), progress=False, encoder=encoder) as r,
        RecommenderAgent.open(
            "scientific",
            llm=llm,
            retrievers=r,
            model_settings=ModelSettings(rationale_max_tokens=12),
            agent_settings=AgentSettings(checkpoint_url=str(args.checkpoint)),
        ) as agent,
    ):
        first = agent.turn(args.thread, "a digital caliper")
        print(json.dumps(first.to_json()), flush=True)
        llm.armed, llm.calls = True, 0
        agent.turn(args.thread, "a multimeter instead")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--hang-file", type=Path, required=True)
    main(parser.parse_args())
