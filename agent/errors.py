"""The exception hierarchy of agent/: each message is a sentence a user can act on; logs keep the cause."""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error raised on purpose by agent/."""


class ModelLoadError(AgentError):
    """The configured model or adapter cannot be loaded."""


class LabelTokenError(ModelLoadError):
    """The tokenizer cannot write every candidate label as one token, so one-pass ranking is impossible."""


class AdapterMismatchError(ModelLoadError):
    """A LoRA adapter was trained for a different base model."""


class ModelServerError(AgentError):
    """An OpenAI-compatible model server failed: down, too slow, 5xx, or an answer we cannot read."""


class ModelServerUnavailableError(ModelServerError):
    """The model server does not answer (connection refused, DNS, timeout) after bounded retries."""


class ModelOutputError(ModelServerError):
    """The model server answered, but not with what the protocol promises (malformed JSON, missing logprobs)."""


class PromptTooLongError(AgentError):
    """Even with history and conversation truncated, the candidates alone do not fit the context."""


class ConversationError(AgentError):
    """A turn cannot start: bad message, unknown user, a thread of another domain."""


class EmptyMessageError(ConversationError):
    """The message has no text once control characters and whitespace are removed."""


class UnknownUserError(ConversationError):
    """The user id is not in the domain's catalog of users."""


class ThreadMismatchError(ConversationError):
    """The thread exists but belongs to another domain or user."""


class TurnFailedError(AgentError):
    """A model or tool failed in the middle of a turn; the thread was rolled back to before the turn."""


class CheckpointError(AgentError):
    """The checkpoint store cannot be opened (locked, unreadable, or its driver is not installed)."""


class CalibrationError(AgentError):
    """A calibrated commit cannot be used: fitted for another model, or unreadable."""
