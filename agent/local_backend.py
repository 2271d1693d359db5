"""The `local` backend: transformers in-process (CPU here, CUDA when present), with an optional PEFT LoRA adapter."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import LogitsProcessorList

from agent.errors import AdapterMismatchError, ModelLoadError
from agent.labels import label_token_ids
from agent.model_store import resolve_model_path
from agent.prompts import LABELS
from agent.settings import ModelSettings

log = logging.getLogger(__name__)

ADAPTER_META = "llmrec_adapter.json"
"""Written beside an exported adapter (training/): the fingerprint of the base model it was trained on."""


def model_fingerprint(config: Any) -> dict[str, Any]:
    """Architecture facts an adapter depends on; equal fingerprints mean the adapter's shapes fit."""
    keys = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size")
    return {k: getattr(config, k, None) for k in keys}


class LocalRecommender:
    """A causal LM held in this process. Greedy decoding, so the same prompt always gives the same rationale."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        name: str,
        *,
        repetition_penalty: float = 1.0,
        rationale_decoding: str = "free",
    ) -> None:
        self.model = model.eval()
        self.repetition_penalty = repetition_penalty
        self.rationale_decoding = rationale_decoding
        self.tokenizer = tokenizer
        self.name = name
        self.device = next(model.parameters()).device
        # Checked at start-up, not at the first request: a tokenizer that cannot rank should fail loudly now.
        self._label_ids = dict(zip(LABELS, label_token_ids(tokenizer, LABELS, name), strict=True))
        # One model, many threads (app sessions): calls are serialised; on 2 cores parallel calls only thrash.
        self._lock = threading.Lock()  # not RLock: a stream may be resumed from another thread
        # Prefix cache: the KV cache of the last generation. Ranking right after a rationale shares the whole
        # prompt with it, so reusing the cache skips a second prefill (about 5 s of 1,400 tokens on 2 cores).
        self._cached: tuple[list[int], Any] | None = None
        self._grammars: Any = None  # xgrammar's compiler for this tokenizer, built on the first grammar

    @classmethod
    def from_settings(cls, settings: ModelSettings | None = None) -> LocalRecommender:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        settings = settings or ModelSettings()
        path = resolve_model_path(settings.model, settings.model_cache_dir)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if settings.device == "auto" else settings.device
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            # bfloat16 halves memory on a GPU; on CPU float32 is faster than emulated bf16 matmuls.
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
            model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
            model = model.to(device)
        except OSError as exc:
            raise ModelLoadError(
                f"Could not load the model {settings.model!r} ({exc}). Use the built-in default, a local folder, "
                "or an id already in the Hugging Face cache (downloads are off: HF_HUB_OFFLINE=1)."
            ) from exc
        name = settings.model
        if settings.adapter_path is not None:
            # Merged into the weights once: unmerged, the LoRA of every linear layer (r=16, 7 per block) adds 420
            # small matmuls to each decoded token, about 5-9% of a CPU turn; merged, it costs nothing.
            model = attach_adapter(model, settings.adapter_path).merge_and_unload()
            name = f"{settings.model}+{settings.adapter_path.name}"
        return cls(
            model,
            tokenizer,
            name,
            repetition_penalty=settings.repetition_penalty,
            rationale_decoding=settings.rationale_decoding,
        )

    def _encode(self, prompt: str) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        return {k: v.to(self.device) for k, v in enc.items()}

    def generate(
        self,
        prompt: str,
        max_tokens: int,
        stop: Sequence[str] = (),
        stream: bool = False,
        banned: Sequence[int] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        if max_tokens <= 0:
            return iter(())
        inputs = self._encode(prompt)
        kwargs: dict[str, Any] = {
            **inputs,
            "max_new_tokens": max_tokens,
            "do_sample": False,
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if self.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = self.repetition_penalty
        if banned:
            kwargs["bad_words_ids"] = [[token_id] for token_id in banned]  # the same ban as vLLM's logit_bias
        if grammar is not None:
            kwargs["logits_processor"] = LogitsProcessorList([self._grammar_processor(grammar)])
        if stop:
            kwargs |= {"stop_strings": list(stop), "tokenizer": self.tokenizer}
        kwargs["return_dict_in_generate"] = True
        if not stream:
            with self._lock, torch.inference_mode():
                out = self.model.generate(**kwargs)
                self._remember(out)
            text = self.tokenizer.decode(out.sequences[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
            return iter((_cut_at_stop(text, stop),))
        return self._stream(kwargs, stop)

    def _grammar_processor(self, grammar: str) -> Any:
        """xgrammar's transformers logits processor for `grammar` (one per generation: it keeps the parse state),
        the engine vLLM's structured outputs use, so both backends allow the same tokens at every step."""
        import xgrammar
        from xgrammar.contrib.hf import LogitsProcessor as GrammarLogitsProcessor

        if self._grammars is None:
            # The model's vocabulary can be padded past the tokenizer's (SmolLM2: both 49,152).
            info = xgrammar.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=self.model.config.vocab_size)
            self._grammars = xgrammar.GrammarCompiler(info)
        return GrammarLogitsProcessor(self._grammars.compile_grammar(grammar))

    def _remember(self, out: Any) -> None:
        # `cache` by key: the old attribute name `past_key_values` logs a deprecation warning into the user's chat,
        # in the middle of the streamed rationale.
        keys = list(out.keys()) if hasattr(out, "keys") else []
        name = "cache" if "cache" in keys else "past_key_values"  # the key before transformers 5.x renamed it
        cache = out.get(name) if name in keys else None
        if cache is None or not getattr(cache, "is_croppable", False):
            self._cached = None
            return
        # The cache covers every token but the last one sampled (it was never fed back in).
        self._cached = (out.sequences[0, : cache.get_seq_length()].tolist(), cache)

    def _stream(self, kwargs: dict[str, Any], stop: Sequence[str]) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
        errors: list[BaseException] = []
        outputs: list[Any] = []
        cancelled = threading.Event()

        class _Cancelled(StoppingCriteria):
            """Ends generation once the consumer closed the stream (it has what it needs: e.g. its 4 sentences)."""

            def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool, device=input_ids.device)

        criteria = StoppingCriteriaList([_Cancelled()])

        def run() -> None:
            try:
                with torch.inference_mode():
                    outputs.append(self.model.generate(**kwargs, streamer=streamer, stopping_criteria=criteria))
            except BaseException as exc:  # noqa: BLE001  (re-raised in the consumer thread below)
                errors.append(exc)
                streamer.end()  # type: ignore[no-untyped-call]

        self._lock.acquire()
        thread = threading.Thread(target=run, daemon=True)
        try:
            yield from self._consume(streamer, thread, stop, errors)
            if outputs:
                self._remember(outputs[0])
        finally:
            if thread.is_alive():  # closed early: stop the model at its next token, and wait for it (the lock)
                cancelled.set()
                for _ in streamer:
                    pass
                thread.join()
                # The cache of the cut text still prefixes the ranking prompt: keep it (label_logprobs crops it).
                self._cached = None
                if outputs:
                    self._remember(outputs[0])
            self._lock.release()

    def _consume(
        self, streamer: Any, thread: threading.Thread, stop: Sequence[str], errors: list[BaseException]
    ) -> Iterator[str]:
        thread.start()
        received = ""
        emitted = 0
        stopped = False
        for chunk in streamer:
            if stopped:
                continue  # drain the streamer so the generating thread can finish
            received += chunk
            cut = _cut_at_stop(received, stop)
            stopped = len(cut) < len(received)
            # Hold back a tail that could still grow into a stop string ("Ans" before "wer:").
            safe = len(cut) if stopped else len(cut) - _partial_stop_tail(cut, stop)
            if safe > emitted:
                yield received[emitted:safe]
                emitted = safe
        thread.join()
        if errors:
            raise errors[0]
        final = _cut_at_stop(received, stop)
        if len(final) > emitted:
            yield final[emitted:]

    def label_logprobs(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        ids = [self._label_ids[label] for label in labels]
        input_ids = self._encode(prompt)["input_ids"]
        with self._lock, torch.inference_mode():
            cached, self._cached = self._cached, None
            start, past = 0, None
            if cached is not None:
                prefix, cache = cached
                # At least one new token must be fed to get next-token logits.
                common = min(_common_prefix(input_ids[0].tolist(), prefix), input_ids.shape[1] - 1)
                if common > 0:
                    cache.crop(common - cache.get_seq_length())
                    start, past = common, cache
            out = self.model(input_ids=input_ids[:, start:], cache=past, use_cache=past is not None)
            logits = out.logits[0, -1].float()
        scores = torch.log_softmax(logits[ids], dim=-1)
        return {label: float(s) for label, s in zip(labels, scores.tolist(), strict=True)}


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _partial_stop_tail(text: str, stop: Sequence[str]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of a stop string."""
    longest = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:n]):
                longest = max(longest, n)
                break
    return longest


def attach_adapter(model: Any, adapter_path: Path) -> Any:
    """Wrap `model` with the PEFT LoRA adapter at `adapter_path`, refusing one trained for another base model."""
    from peft import PeftModel

    config_file = adapter_path / "adapter_config.json"
    if not config_file.is_file():
        raise ModelLoadError(f"{adapter_path} is not a PEFT adapter folder (no adapter_config.json).")
    meta_file = adapter_path / ADAPTER_META
    if meta_file.is_file():
        expected = json.loads(meta_file.read_text(encoding="utf-8")).get("base_fingerprint")
        actual = model_fingerprint(model.config)
        if expected is not None and expected != actual:
            raise AdapterMismatchError(
                f"The adapter {adapter_path} was trained for another base model ({expected}); "
                f"the loaded model is {actual}. Set LLMREC_MODEL to the adapter's base model."
            )
    try:
        with warnings.catch_warnings():
            # peft (0.21) asks the model `is_gradient_checkpointing`, which transformers 5.x deprecates: a
            # FutureWarning printed into every `llmrec chat` that is no concern of its user.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return PeftModel.from_pretrained(model, str(adapter_path))
    except (RuntimeError, ValueError, KeyError) as exc:
        # Shape mismatches surface as RuntimeError("size mismatch ...") deep inside load_state_dict.
        raise AdapterMismatchError(
            f"The adapter {adapter_path} does not fit the loaded base model: {str(exc).splitlines()[0]}"
        ) from exc
