"""What every search index records about how it was built, so that a stale index is detected, not used.

An `IndexManifest` is written last when an index is built (into the Qdrant collection's metadata, or a
`manifest.json` beside the BM25 files) and compared with the manifest the current catalog and settings would
produce whenever the index is opened. Any difference is one `StaleIndexError` sentence that says what changed
and what to run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from tools.catalog import Item
from tools.errors import StaleIndexError

SCHEMA_VERSION = 1
"""Bump when the layout of an index changes (payload fields, file names, point ids)."""


def document_text(item: Item) -> str:
    """The text both indexes see for an item: its searchable text, or its title when that is empty."""
    return item.text if item.text.strip() else item.title


def catalog_fingerprint(items: Iterable[Item]) -> str:
    """A hash of what an index stores about the items (ids, titles, text, attributes); order-independent."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.item_id):
        row = [item.item_id, item.title, document_text(item), dict(item.attributes), item.domain]
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def rebuild_hint(domain: str) -> str:
    return f"run `llmrec index --domain {domain} --rebuild`"


def build_hint(domain: str) -> str:
    return f"run `llmrec index --domain {domain}`"


@dataclass(frozen=True)
class IndexManifest:
    """How an index was built. Two manifests that compare equal describe interchangeable indexes."""

    kind: str
    """"qdrant", "bm25s" or "rank_bm25"."""
    domain: str
    catalog: str
    """`catalog_fingerprint` of the indexed items."""
    num_items: int
    model: str | None = None
    """Identity of the embedding model (dense indexes only), see `tools.embeddings.model_identity`."""
    dimension: int | None = None
    tokenizer: int | None = None
    """`tools.tokenize.TOKENIZER_VERSION` (lexical indexes only)."""
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexManifest:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def differences(self, stored: IndexManifest) -> list[str]:
        """What differs between this (expected) manifest and a stored one, in words; empty when fresh."""
        why: list[str] = []
        if stored.schema != self.schema:
            why.append(f"index layout version {stored.schema}, this llmrec writes {self.schema}")
        if stored.kind != self.kind:
            why.append(f"backend {stored.kind}, configured {self.kind}")
        if stored.model != self.model:
            why.append(f"embedding model {stored.model}, configured {self.model}")
        if stored.dimension != self.dimension and self.dimension is not None:
            why.append(f"{stored.dimension}-d vectors, the model gives {self.dimension}-d")
        if stored.tokenizer != self.tokenizer:
            why.append(f"tokenizer version {stored.tokenizer}, current {self.tokenizer}")
        if stored.catalog != self.catalog:
            why.append(
                f"a different catalog ({stored.num_items:,} items then, {self.num_items:,} now, or changed items)"
            )
        return why

    def check(self, stored: IndexManifest | None, what: str) -> None:
        """Raise `StaleIndexError` unless `stored` matches this manifest; `what` names the index."""
        if stored is None:
            raise StaleIndexError(
                f"The {what} of domain '{self.domain}' is incomplete (an indexing run was interrupted, or"
                f" it was made by another program): {rebuild_hint(self.domain)}."
            )
        why = self.differences(stored)
        if why:
            raise StaleIndexError(
                f"The {what} of domain '{self.domain}' is stale (built with {'; '.join(why)}):"
                f" {rebuild_hint(self.domain)}."
            )
