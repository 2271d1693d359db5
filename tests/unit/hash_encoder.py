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
