"""The `openai` backend: any OpenAI-compatible completions server, i.e. vLLM, with LoRA adapters picked by `model`.

Prompts are rendered here with the base model's own chat template and sent to the plain completions endpoint, so the
server sees byte-identical text to the local backend. Label log-probabilities use `logprobs` with a uniform
`logit_bias` on the label tokens: the API returns at most 20 alternatives, and the bias makes them exactly the labels.
vLLM must run with `--logprobs-mode processed_logprobs`, or the returned values ignore the bias.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import openai

from agent.errors import ModelOutputError, ModelServerError, ModelServerUnavailableError
from agent.labels import label_token_ids
from agent.model_store import resolve_model_path
from agent.prompts import LABELS
from agent.settings import ModelSettings

log = logging.getLogger(__name__)

_MAX_TOP_LOGPROBS = 20  # the OpenAI API's cap on alternatives per position
_LABEL_BIAS = 100  # the API's largest allowed bias: lifts every label far above every other token, equally


class OpenAIRecommender:
    """A model behind an OpenAI-compatible server. Retries with backoff are the openai client's own (bounded)."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        tokenizer: Any,
        base_url: str,
        *,
        repetition_penalty: float = 1.0,
        rationale_decoding: str = "free",
    ) -> None:
        self.client = client
        self.repetition_penalty = repetition_penalty
        self.rationale_decoding = rationale_decoding
        self.model = model
        self.tokenizer = tokenizer
        self.base_url = base_url
        self.name = f"{model}@{base_url}"
        self._label_ids = dict(zip(LABELS, label_token_ids(tokenizer, LABELS, model), strict=True))

    @classmethod
    def from_settings(cls, settings: ModelSettings | None = None) -> OpenAIRecommender:
        from transformers import AutoTokenizer

        settings = settings or ModelSettings()
        client = openai.OpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            timeout=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
        )
        tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(settings.model, settings.model_cache_dir))
        model = settings.openai_model or _first_model(client, settings.openai_base_url)
        return cls(
            client,
            model,
            tokenizer,
            settings.openai_base_url,
            repetition_penalty=settings.repetition_penalty,
            rationale_decoding=settings.rationale_decoding,
        )

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
        request: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stop": list(stop) or None,
        }
        if banned:
            # The API's lowest bias: vLLM adds it to the logit, so a banned token is never the greedy choice.
            request["logit_bias"] = {str(token_id): -_LABEL_BIAS for token_id in banned}
        extra: dict[str, Any] = {}
        if self.repetition_penalty != 1.0:
            # vLLM's own sampling parameter, the same rule as transformers' (prompt and output tokens).
            extra["repetition_penalty"] = self.repetition_penalty
        if grammar is not None:
            # vLLM's structured outputs (xgrammar for EBNF, as the local backend uses).
            extra["structured_outputs"] = {"grammar": grammar}
        if extra:
            request["extra_body"] = extra
        if not stream:
            resp = self._call(lambda: self.client.completions.create(**request))
            return iter((_choice_text(resp, self.base_url),))
        return self._stream(request)

    def _stream(self, request: dict[str, Any]) -> Iterator[str]:
        chunks = self._call(lambda: self.client.completions.create(**request, stream=True))
        try:
            for chunk in chunks:
                if chunk.choices:
                    text = _choice_text(chunk, self.base_url)
                    if text:
                        yield text
        except openai.APIError as exc:
            raise _server_error(exc, self.base_url) from exc
        except ValueError as exc:
            raise ModelOutputError(f"The model server at {self.base_url} streamed malformed JSON: {exc}") from exc
        finally:
            # Closed early (the rationale said its sentences): dropping the connection makes vLLM abort the request.
            chunks.close()

    def label_logprobs(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        if len(labels) > _MAX_TOP_LOGPROBS:
            raise ValueError(f"the OpenAI API returns at most {_MAX_TOP_LOGPROBS} logprobs; got {len(labels)} labels")
        ids = {self._label_ids[label]: label for label in labels}
        resp = self._call(
            lambda: self.client.completions.create(
                model=self.model,
                prompt=prompt,
                max_tokens=1,
                temperature=0.0,
                logprobs=len(labels),
                logit_bias={str(token_id): _LABEL_BIAS for token_id in ids},
                # vLLM names tokens "token_id:N" instead of their text: no ambiguity between " A" and "A".
                extra_body={"return_tokens_as_token_ids": True},
            )
        )
        try:
            top = resp.choices[0].logprobs.top_logprobs[0]
            found = {ids[_token_id(key)]: float(value) for key, value in top.items() if _token_id(key) in ids}
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise ModelOutputError(
                f"The model server at {self.base_url} answered without usable logprobs ({exc})."
            ) from exc
        missing = [label for label in labels if label not in found]
        if missing:
            raise ModelOutputError(
                f"The model server at {self.base_url} returned no logprob for labels {', '.join(missing)}. "
                "Start vLLM with --logprobs-mode processed_logprobs and --max-logprobs >= 20."
            )
        norm = _logsumexp(list(found.values()))
        return {label: found[label] - norm for label in labels}

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except openai.APIError as exc:
            raise _server_error(exc, self.base_url) from exc
        except ValueError as exc:  # the client hands a body that is not JSON straight to json.loads
            raise ModelOutputError(f"The model server at {self.base_url} answered with malformed JSON: {exc}") from exc


def _first_model(client: openai.OpenAI, base_url: str) -> str:
    try:
        models = client.models.list().data
    except openai.APIError as exc:
        raise _server_error(exc, base_url) from exc
    if not models:
        raise ModelOutputError(f"The model server at {base_url} serves no model.")
    return str(models[0].id)


def _choice_text(resp: Any, base_url: str) -> str:
    try:
        text = resp.choices[0].text
    except (AttributeError, IndexError, TypeError) as exc:
        raise ModelOutputError(f"The model server at {base_url} answered with a malformed completion.") from exc
    if not isinstance(text, str):
        raise ModelOutputError(f"The model server at {base_url} answered with a completion that is not text.")
    return text


def _token_id(key: str) -> int:
    if not key.startswith("token_id:"):
        raise ValueError(f"expected 'token_id:N' keys (vLLM's return_tokens_as_token_ids), got {key!r}")
    return int(key.split(":", 1)[1])


def _logsumexp(values: list[float]) -> float:
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def _server_error(exc: openai.APIError, base_url: str) -> ModelServerError:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return ModelServerUnavailableError(
            f"The model server at {base_url} does not answer ({type(exc).__name__}) after retries. Start it "
            "(README, 'vLLM') or set LLMREC_MODEL_BACKEND=local."
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelServerError(f"The model server at {base_url} answered HTTP {exc.status_code}: {exc.message}")
    return ModelOutputError(f"The model server at {base_url} answered something unreadable: {exc}")
