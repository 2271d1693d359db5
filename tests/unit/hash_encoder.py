"""A deterministic bag-of-words sentence encoder for routing tests of the learned readers (agent/intent_model.py,
agent/dispute_kind_model.py); the real MiniLM is measured in evals/."""

from __future__ import annotations

import zlib

import numpy as np


class HashEncoder:
    identity = "hash-encoder-v1"

    def encode_query(self, text: str) -> np.ndarray:
        v = np.zeros(64, dtype=np.float32)
        for word in text.lower().split():
            v[zlib.crc32(word.strip("?.!,").encode()) % 64] += 1.0
        return v / max(float(np.linalg.norm(v)), 1e-6)

    def token_states(self, text: str, max_tokens: int = 256) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """One hashed vector per whitespace word, with its character span (no special tokens)."""
        rows, offsets = [], []
        start = 0
        for word in text.split()[:max_tokens]:
            begin = text.index(word, start)
            start = begin + len(word)
            v = np.zeros(64, dtype=np.float32)
            v[zlib.crc32(word.lower().strip("?.!,").encode()) % 64] = 1.0
            rows.append(v)
            offsets.append((begin, start))
        return (np.vstack(rows) if rows else np.zeros((0, 64), dtype=np.float32)), offsets
