"""The sequential recommender (tools/seqrec.py): a tiny SASRec trains in seconds on a catalog with a pattern, learns
it, saves and reloads to the same scores, and refuses a model trained on something else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.seqdata import cyclic
from tools.catalog import Dataset
from tools.errors import IndexCorruptError, StaleIndexError
from tools.seqrec import NoInteractionsError, SeqRec, SeqRecConfig, expected_manifest, open_seqrec, train_seqrec
from tools.settings import DataSettings

TINY = SeqRecConfig(embedding_dim=16, num_heads=1, num_blocks=1, max_len=8, hidden_dim=32, dropout=0.0, epochs=25,
                    batch_size=32, lr=5e-3, seed=1)  # fmt: skip


@pytest.fixture(scope="module")
def trained() -> SeqRec:
    return train_seqrec(cyclic(), TINY, progress=False)


def test_it_learns_what_comes_next(trained: SeqRec) -> None:
    for k in range(12):
        history = [f"i{(k - 1) % 12}", f"i{k}"]
        assert trained.top(history, 1, exclude=history)[0][0] == f"i{(k + 1) % 12}"
    losses = trained.manifest.trained["loss_per_epoch"]
    assert losses[-1] < losses[0] / 2


def test_scores_candidates_and_excludes(trained: SeqRec) -> None:
    scores = trained.score_candidates(["i2", "i3"], ["i9", "i4", "UNKNOWN"])
    assert scores.shape == (3,) and scores[1] > scores[0] > scores[2]
    top = trained.top(["i2", "i3"], 5, exclude={"i4", "i3"})
    assert len(top) == 5 and not {"i3", "i4"} & {i for i, _ in top}
    assert np.all(trained.scores([]) == 0.0)  # no history: nothing to go on


def test_save_load_gives_the_same_scores(trained: SeqRec, tmp_path: Path) -> None:
    trained.save(tmp_path / "m")
    loaded = SeqRec.load(tmp_path / "m", expected_manifest(cyclic(), TINY))
    assert np.allclose(loaded.scores(["i5", "i6"]), trained.scores(["i5", "i6"]), atol=1e-6)


def test_a_model_trained_on_something_else_is_refused(trained: SeqRec, tmp_path: Path) -> None:
    trained.save(tmp_path / "m")
    with pytest.raises(StaleIndexError, match="llmrec train seqrec --domain cyclic"):
        SeqRec.load(tmp_path / "m", expected_manifest(cyclic(seed=5), TINY))  # other interactions
    with pytest.raises(StaleIndexError, match="settings"):
        SeqRec.load(tmp_path / "m", expected_manifest(cyclic(), replace(TINY, epochs=3)))
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["versions"]["replay-rec"] = "0.0.1"
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="libraries"):
        SeqRec.load(tmp_path / "m", expected_manifest(cyclic(), TINY))
    (tmp_path / "m" / "model.pt").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="llmrec train seqrec"):
        SeqRec.load(tmp_path / "m", expected_manifest(cyclic(), TINY))


def test_opened_on_first_use_and_reused(tmp_path: Path) -> None:
    settings = DataSettings(data_dir=tmp_path)
    first = open_seqrec(cyclic(), settings, config=TINY, progress=False)
    assert first is not None and (tmp_path / "seqrec" / "cyclic" / "manifest.json").exists()
    again = open_seqrec(cyclic(), settings, config=TINY, progress=False)
    assert again is not None and np.allclose(again.scores(["i1"]), first.scores(["i1"]), atol=1e-6)


def test_a_catalog_without_histories_has_no_model(tmp_path: Path) -> None:
    chat = Dataset(domain="chat", items=cyclic().items)
    assert open_seqrec(chat, DataSettings(data_dir=tmp_path), config=TINY) is None
    with pytest.raises(NoInteractionsError, match="no interaction histories"):
        train_seqrec(chat, TINY)


def test_training_never_sees_held_out_items() -> None:
    from tools.seqrec import training_sequences

    data = cyclic()
    sequences = training_sequences(data)
    for user, seq in zip([u for u in data.users if len(u.history) >= 2], sequences, strict=True):
        assert seq == user.history and user.valid not in seq and user.test not in seq
