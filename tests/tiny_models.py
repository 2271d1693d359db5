"""Kept so existing tests' imports work: the tiny model lives in training/tiny_model.py (the `tiny` recipe uses it)."""

from training.tiny_model import build_tiny_llama as build_tiny_llama
