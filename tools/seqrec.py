"""A sequential recommender over a domain's training interactions: SASRec (Kang & McAuley, ICDM'18), the
implementation of replay-rec (`replay.nn.sequential.SasRec`, Sber AI Lab), trained here with a plain loop.

    model = open_seqrec(dataset, settings)          # trained on first use (a few minutes on 2 cores), then loaded
    model.score_candidates(history_ids, candidate_ids)
    model.top(history_ids, k=20, exclude=history_ids)

What it learns from: every user's `history`, the interactions before their held-out validation and test items (the
leave-one-out training split RecBole trains SASRec on), so no evaluation target is ever seen and the validation items
stay unseen for fitting the calibrated commit (agent/prior.py). It predicts from any history (a test user's includes
the validation item). Training is full-softmax cross-entropy at every position (RecBole's SASRec recipe: 64-d,
2 blocks, 2 heads, 50 items of history), Adam 2e-3 for 20 epochs (`SeqRecConfig`).

Saved under `data_dir/seqrec/<domain>/` with a manifest of what it was trained on (catalog, interactions, config,
library versions); a model from another catalog or version is refused with the command that retrains it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from tools.catalog import Dataset
from tools.errors import IndexCorruptError, IndexMissingError, StaleIndexError, ToolsError
from tools.index_meta import catalog_fingerprint
from tools.progress import progress_enabled
from tools.settings import DataSettings

if TYPE_CHECKING:  # torch and replay-rec load in about 3 s: only when a model is built or opened
    import torch

log = logging.getLogger(__name__)

SEQREC_VERSION = 1
"""Bump when training or the saved layout changes: older models are then stale."""

ScoreArray = npt.NDArray[np.float64]


class NoInteractionsError(ToolsError):
    """A domain without interaction histories (a dialogue catalog) has nothing to train a sequential model on."""


@dataclass(frozen=True)
class SeqRecConfig:
    """How the model is built and trained: RecBole's SASRec architecture (64-d, 2 blocks, 2 heads, FFN 256,
    dropout 0.5), trained longer and faster."""

    embedding_dim: int = 64
    num_heads: int = 2
    num_blocks: int = 2
    max_len: int = 50
    """History items the model reads (the most recent ones)."""
    hidden_dim: int = 256
    """Width of the feed-forward layers (RecBole's inner_size)."""
    dropout: float = 0.5
    epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    # Measured on scientific (candidates protocol, 2,071 evaluation users): 10 epochs at lr 1e-3 stop at NDCG@10
    # 0.509 with the loss still falling; 20 at 2e-3 reach 0.536 (RecBole's SASRec: 0.530); dropout 0.2 overfits
    # (training loss 4.4, NDCG@10 0.501).
    seed: int = 2026


@dataclass(frozen=True)
class SeqRecManifest:
    """What a saved model was trained on; two equal manifests describe interchangeable models."""

    domain: str
    catalog: str
    interactions: str
    config: dict[str, Any]
    versions: dict[str, str]
    num_items: int
    num_sequences: int
    version: int = SEQREC_VERSION
    trained: dict[str, Any] = field(default_factory=dict, compare=False)
    """How training went (seconds, loss per epoch): recorded, not compared."""

    def differences(self, stored: SeqRecManifest) -> list[str]:
        why = []
        if stored.version != self.version:
            why.append(f"layout version {stored.version}, this llmrec writes {self.version}")
        if stored.catalog != self.catalog:
            why.append("a different catalog")
        if stored.interactions != self.interactions:
            why.append("different interactions")
        if stored.config != self.config:
            why.append(f"settings {stored.config}, configured {self.config}")
        if stored.versions != self.versions:
            why.append(f"libraries {stored.versions}, installed {self.versions}")
        return why


def retrain_hint(domain: str) -> str:
    return f"run `llmrec train seqrec --domain {domain}`"


def training_sequences(dataset: Dataset) -> list[tuple[str, ...]]:
    """The sequences the model learns from: each user's history before the held-out items (2 items or more)."""
    return [u.history for u in dataset.users if len(u.history) >= 2]


def interactions_fingerprint(sequences: Sequence[Sequence[str]]) -> str:
    digest = hashlib.sha256()
    for seq in sequences:
        digest.update("\x1f".join(seq).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def _versions() -> dict[str, str]:
    return {"replay-rec": version("replay-rec"), "torch": version("torch").split("+")[0]}


def expected_manifest(dataset: Dataset, config: SeqRecConfig) -> SeqRecManifest:
    sequences = training_sequences(dataset)
    return SeqRecManifest(
        domain=dataset.domain,
        catalog=catalog_fingerprint(dataset.items.values()),
        interactions=interactions_fingerprint(sequences),
        config=asdict(config),
        versions=_versions(),
        num_items=len(dataset.items),
        num_sequences=len(sequences),
    )


def folder_for(data_dir: Path, domain: str) -> Path:
    return data_dir / "seqrec" / domain


def _build_model(num_items: int, config: SeqRecConfig) -> torch.nn.Module:
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema
    from replay.nn.sequential import SasRec

    schema = TensorSchema(
        [
            TensorFeatureInfo(
                "item_id",
                is_seq=True,
                feature_type=FeatureType.CATEGORICAL,
                embedding_dim=config.embedding_dim,
                padding_value=num_items,
                cardinality=num_items,
                feature_hint=FeatureHint.ITEM_ID,
                feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, "item_id")],
            )
        ]
    )
    model: torch.nn.Module = SasRec.from_params(
        schema,
        embedding_dim=config.embedding_dim,
        num_heads=config.num_heads,
        num_blocks=config.num_blocks,
        max_sequence_length=config.max_len,
        dropout=config.dropout,
        hidden_dim=config.hidden_dim,
    )
    return model


class SeqRec:
    """A trained model over one domain's catalog."""

    def __init__(self, model: torch.nn.Module, item_ids: Sequence[str], manifest: SeqRecManifest) -> None:
        self.model = model.eval()
        self.item_ids = list(item_ids)
        self.index = {item_id: i for i, item_id in enumerate(self.item_ids)}
        self.manifest = manifest
        self.config = SeqRecConfig(**manifest.config)

    @property
    def domain(self) -> str:
        return self.manifest.domain

    def scores(self, history: Sequence[str]) -> ScoreArray:
        """A score for every catalog item (in `item_ids` order) after `history`, oldest first; higher is better.
        Unknown ids are skipped; an empty history scores every item 0."""
        import torch

        known = [self.index[i] for i in history if i in self.index][-self.config.max_len :]
        if not known:
            return np.zeros(len(self.item_ids))
        pad = len(self.item_ids)
        items = torch.tensor([known], dtype=torch.long)
        with torch.inference_mode():
            out = self.model(feature_tensors={"item_id": items}, padding_mask=items != pad)
        return np.asarray(out["logits"][0].double().numpy(), dtype=np.float64)

    def score_candidates(self, history: Sequence[str], candidate_ids: Sequence[str]) -> ScoreArray:
        """One score per candidate, in order; an item the model does not know scores below every known one."""
        every = self.scores(history)
        floor = float(every.min()) - 1.0
        return np.array([every[self.index[i]] if i in self.index else floor for i in candidate_ids])

    def top(self, history: Sequence[str], k: int, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """The k best items after `history` that are not in `exclude`, best first, with their scores."""
        every = self.scores(history)
        dropped = set(exclude)
        out: list[tuple[str, float]] = []
        for i in np.argsort(-every, kind="stable"):
            item_id = self.item_ids[int(i)]
            if item_id in dropped:
                continue
            out.append((item_id, float(every[i])))
            if len(out) == k:
                break
        return out

    def save(self, folder: Path) -> None:
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), folder / "model.pt.tmp")
        (folder / "items.json").write_text(json.dumps(self.item_ids), encoding="utf-8")
        (folder / "model.pt.tmp").replace(folder / "model.pt")
        # The manifest last: a folder without one is an interrupted run, never a model to trust.
        (folder / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, expected: SeqRecManifest) -> SeqRec:
        """The model saved in `folder`, checked against `expected`: IndexMissingError when there is none,
        StaleIndexError (with the command to retrain) when it was trained on something else."""
        import torch

        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise IndexMissingError(f"no sequential model of {expected.domain} under {folder}")
        try:
            stored = SeqRecManifest(**json.loads(manifest_path.read_text(encoding="utf-8")))
            item_ids = json.loads((folder / "items.json").read_text(encoding="utf-8"))
            state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
        except (OSError, ValueError, TypeError, RuntimeError, pickle.UnpicklingError) as exc:
            raise IndexCorruptError(
                f"the sequential model of {expected.domain} under {folder} cannot be read ({exc}): "
                f"{retrain_hint(expected.domain)}"
            ) from exc
        why = expected.differences(stored)
        if why:
            raise StaleIndexError(
                f"The sequential model of domain '{expected.domain}' is stale (trained with {'; '.join(why)}): "
                f"{retrain_hint(expected.domain)}."
            )
        model = _build_model(len(item_ids), SeqRecConfig(**stored.config))
        model.load_state_dict(state)
        return cls(model, item_ids, stored)


def _batches(sequences: Sequence[list[int]], batch_size: int, rng: random.Random) -> list[list[list[int]]]:
    """Shuffled batches of similar lengths: each batch is padded only to its longest sequence (histories average
    6 items against the 50 the model can read, so fixed-length padding did 8 times the work)."""
    order = list(range(len(sequences)))
    rng.shuffle(order)
    pool = 32 * batch_size
    batches: list[list[list[int]]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(sequences[i]))
        batches += [[sequences[i] for i in chunk[j : j + batch_size]] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def train_seqrec(dataset: Dataset, config: SeqRecConfig | None = None, *, progress: bool = True) -> SeqRec:
    """Train SASRec on `training_sequences(dataset)`; raises NoInteractionsError for a domain without histories."""
    import torch

    config = config or SeqRecConfig()
    sequences = training_sequences(dataset)
    if not sequences:
        raise NoInteractionsError(
            f"the {dataset.domain} catalog has no interaction histories, so there is no sequential model to train"
        )
    item_ids = sorted(dataset.items)
    index = {item_id: i for i, item_id in enumerate(item_ids)}
    pad = len(item_ids)
    # Each sequence of n items gives n-1 next-item targets; longer ones keep their most recent max_len + 1.
    encoded = [[index[i] for i in seq][-(config.max_len + 1) :] for seq in sequences]
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model = _build_model(len(item_ids), config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps = config.epochs * math.ceil(len(encoded) / config.batch_size)
    losses: list[float] = []
    started = time.perf_counter()
    with tqdm(
        total=steps, desc=f"Training SASRec on {dataset.domain}", unit="batch", disable=not progress_enabled(progress)
    ) as bar:
        for epoch in range(config.epochs):
            model.train()
            total = count = 0.0
            for batch in _batches(encoded, config.batch_size, rng):
                width = max(len(seq) for seq in batch) - 1
                inputs = torch.full((len(batch), width), pad, dtype=torch.long)
                labels = torch.full((len(batch), width), pad, dtype=torch.long)
                for row, seq in enumerate(batch):
                    # Left-padded: positions count back from the newest item (replay-rec's position embedding).
                    n = len(seq) - 1
                    inputs[row, width - n :] = torch.tensor(seq[:-1])
                    labels[row, width - n :] = torch.tensor(seq[1:])
                mask = inputs != pad
                out = model(
                    feature_tensors={"item_id": inputs},
                    padding_mask=mask,
                    positive_labels=labels.unsqueeze(-1),
                    negative_labels=None,
                    target_padding_mask=mask.unsqueeze(-1),
                )
                optimizer.zero_grad()
                out["loss"].backward()
                optimizer.step()
                total += float(out["loss"].detach()) * len(batch)
                count += len(batch)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{total / count:.3f}")
            losses.append(round(total / count, 4))
    manifest = expected_manifest(dataset, config)
    trained = {"seconds": round(time.perf_counter() - started, 1), "loss_per_epoch": losses}
    log.info("trained SASRec on %s: %s", dataset.domain, trained)
    return SeqRec(model, item_ids, SeqRecManifest(**{**asdict(manifest), "trained": trained}))


def open_seqrec(
    dataset: Dataset,
    settings: DataSettings | None = None,
    *,
    config: SeqRecConfig | None = None,
    build_missing: bool = True,
    progress: bool = True,
) -> SeqRec | None:
    """The domain's saved model (trained and saved first when missing and `build_missing`); None for a domain
    without interaction histories. A stale model raises StaleIndexError saying how to retrain."""
    settings = settings or DataSettings()
    config = config or SeqRecConfig(seed=settings.seed, epochs=settings.seqrec_epochs)
    if not training_sequences(dataset):
        return None
    folder = folder_for(settings.data_dir, dataset.domain)
    expected = expected_manifest(dataset, config)
    try:
        return SeqRec.load(folder, expected)
    except IndexMissingError:
        if not build_missing:
            raise
    log.info("training the missing sequential model of %s", dataset.domain)
    model = train_seqrec(dataset, config, progress=progress)
    model.save(folder)
    return model
