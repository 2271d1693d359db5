"""LLMREC_CONVERSATIONAL_DATASETS: a ReDial-format folder as a domain of its own, its errors, and the warning for a
ReDial folder given to LLMREC_EXTERNAL_DATA_DIR, on slices of the real bundled ReDial files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.redial_slice import BUNDLED_REDIAL, write_redial_slice
from tools import cli
from tools.datasets import DOMAINS, dataset_warnings, known_domains, load_dataset
from tools.datasets.redial import FILES
from tools.errors import DatasetConfigError, DatasetNotFoundError, UnknownDomainError
from tools.settings import REPO_ROOT, DataSettings, settings_error

VARIABLE = "LLMREC_CONVERSATIONAL_DATASETS"


@pytest.fixture(scope="module")
def slices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("redial-slices")
    return {
        "mini": write_redial_slice(root / "mini", 200),
        "later": write_redial_slice(root / "later", 100, skip=200, compress=True),
    }


def _settings(tmp_path: Path, folders: dict[str, Path], external: Path | None = None) -> DataSettings:
    return DataSettings(
        data_dir=tmp_path / "data",
        bundled_data_dir=REPO_ROOT / "data",
        external_data_dir=external,
        conversational_datasets=folders,
    )


def test_a_configured_folder_is_a_domain_of_its_name(tmp_path: Path, slices: dict[str, Path]) -> None:
    settings = _settings(tmp_path, slices)
    assert known_domains(settings) == (*DOMAINS, "mini", "later")
    mini = load_dataset("mini", settings)
    assert mini.domain == "mini" and {i.domain for i in mini.items.values()} == {"mini"}
    assert len(mini.turns) == 200
    entities = json.loads((slices["mini"] / "item_ids.json").read_text())
    assert set(mini.items) == {str(e) for e in entities}
    # The same turns as the bundled redial's first 200, parsed by the same loader.
    redial = load_dataset("redial", settings)
    assert redial.domain == "redial"
    assert [(t.dialog_id, t.turn_id, t.gold, t.mentioned) for t in mini.turns] == [
        (t.dialog_id, t.turn_id, t.gold, t.mentioned) for t in redial.turns[:200]
    ]
    later = load_dataset("later", settings)  # gzipped files
    assert later.domain == "later" and len(later.turns) == 100
    assert (tmp_path / "data" / "datasets" / "mini").is_dir() and (tmp_path / "data" / "datasets" / "later").is_dir()


def test_the_variable_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slices: dict[str, Path]
) -> None:
    monkeypatch.setenv(VARIABLE, f"mini={slices['mini']}, later = {slices['later']}")
    assert DataSettings().conversational_datasets == {"mini": slices["mini"], "later": slices["later"]}
    assert load_dataset("later").domain == "later"
    with pytest.raises(UnknownDomainError, match=f"known: .*mini, later .*{VARIABLE}=NAME=FOLDER"):
        load_dataset("minii")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mini", f"{VARIABLE}: entry 'mini' is not NAME=FOLDER"),
        ("mini=", f"{VARIABLE}: entry 'mini=' is not NAME=FOLDER"),
        ("a=/x,a=/y", f"{VARIABLE} names 'a' twice"),
        ("My Data=/x", f"{VARIABLE}: 'My Data' cannot name a domain"),
    ],
)
def test_malformed_entries_name_the_variable(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv(VARIABLE, value)
    with pytest.raises(ValidationError) as caught:
        DataSettings()
    assert settings_error(caught.value).startswith(message)
    assert "\n" not in settings_error(caught.value)


def test_a_built_in_name_is_refused(tmp_path: Path, slices: dict[str, Path]) -> None:
    settings = _settings(tmp_path, {"redial": slices["mini"]})
    with pytest.raises(DatasetConfigError, match=f"^{VARIABLE} names 'redial', which is a built-in domain") as caught:
        load_dataset("scientific", settings)
    assert f"e.g. redial-2={slices['mini']}" in str(caught.value)


def test_a_missing_folder_or_file_names_the_variable(tmp_path: Path, slices: dict[str, Path]) -> None:
    with pytest.raises(DatasetNotFoundError, match=rf"'gone' not found: .*gone does not exist \(set {VARIABLE}\)"):
        load_dataset("gone", _settings(tmp_path, {"gone": tmp_path / "gone"}))
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in FILES[:2]:
        (partial / name).write_bytes((slices["mini"] / name).read_bytes())
    with pytest.raises(DatasetNotFoundError, match=rf"partial lacks entity2id\.json \(folder set by {VARIABLE}\)"):
        load_dataset("partial", _settings(tmp_path, {"partial": partial}))


def test_data_stats_of_a_configured_domain(monkeypatch: pytest.MonkeyPatch, slices: dict[str, Path]) -> None:
    monkeypatch.setenv(VARIABLE, f"mini={slices['mini']}")
    result = CliRunner().invoke(cli.app, ["stats", "--domain", "mini", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)["mini"]
    assert (stats["domain"], stats["turns"]) == ("mini", 200)
    monkeypatch.setenv(VARIABLE, "mini")
    result = CliRunner().invoke(cli.app, ["stats", "--domain", "mini"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {VARIABLE}: entry 'mini' is not NAME=FOLDER; write name=/path[,name2=/path2],"
        " e.g. inspired=/data/inspired"
    )
    monkeypatch.setenv(VARIABLE, f"redial={slices['mini']}")
    result = CliRunner().invoke(cli.app, ["stats"])
    assert result.exit_code == 2 and "which is a built-in domain" in result.stderr


# --- LLMREC_EXTERNAL_DATA_DIR holding a ReDial-format dataset ------------------------------------------------


def test_an_external_dir_that_is_a_redial_folder_gets_a_warning(tmp_path: Path, slices: dict[str, Path]) -> None:
    settings = _settings(tmp_path, {}, external=slices["mini"])
    (warning,) = dataset_warnings(settings)
    assert warning.startswith(f"LLMREC_EXTERNAL_DATA_DIR ({slices['mini']}) holds a ReDial-format dataset")
    assert warning.endswith(f"{VARIABLE}=NAME={slices['mini']}")
    # Once it is named as a domain, there is nothing left to say.
    assert dataset_warnings(_settings(tmp_path, {"mini": slices["mini"]}, external=slices["mini"])) == []


def test_an_external_redial_subfolder_warns_only_when_it_differs(tmp_path: Path, slices: dict[str, Path]) -> None:
    same = tmp_path / "same" / "redial"
    same.mkdir(parents=True)
    for name in FILES:  # decompressed copies of the bundled files, like ../shared/data/redial
        (same / name).write_bytes(gzip.decompress((BUNDLED_REDIAL / f"{name}.gz").read_bytes()))
    assert dataset_warnings(_settings(tmp_path, {}, external=same.parent)) == []
    other = tmp_path / "other"
    write_redial_slice(other / "redial", 50)
    (warning,) = dataset_warnings(_settings(tmp_path, {}, external=other))
    assert "differs from the bundled ReDial copy, which domain 'redial' reads instead" in warning
    assert warning.endswith(f"{VARIABLE}=NAME={other / 'redial'}")


def test_data_stats_prints_the_warning(monkeypatch: pytest.MonkeyPatch, slices: dict[str, Path]) -> None:
    monkeypatch.setenv("LLMREC_EXTERNAL_DATA_DIR", str(slices["mini"]))
    result = CliRunner().invoke(cli.app, ["stats", "--domain", "redial", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: LLMREC_EXTERNAL_DATA_DIR") and VARIABLE in result.stderr
    assert json.loads(result.stdout)["redial"]["turns"] == 3552  # still the bundled copy
