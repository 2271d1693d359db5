"""The agent with the real default model (SmolLM2-135M), the real Scientific catalog, real BM25 and embedded
Qdrant: a request, disputes that revise, and a conversation resumed by a new process (`llmrec ask` twice)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.session import RecommenderAgent
from agent.settings import AgentSettings
from tools.catalog import Dataset

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def scientific() -> Dataset:
    from tools.datasets import load_dataset

    return load_dataset("scientific")


@pytest.fixture(scope="module")
def agent(scientific: Dataset, smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = AgentSettings(checkpoint_url=str(tmp_path_factory.mktemp("agent") / "checkpoints.sqlite"))
    with RecommenderAgent.open("scientific", agent_settings=settings, progress=False) as opened:
        yield opened


def test_request_then_item_dispute(agent: Any, scientific: Dataset) -> None:
    user = scientific.test_users()[0]
    first = agent.turn("real-1", "I need a digital caliper for a beginner", user_id=user.user_id)
    assert first.intent == "request"
    assert first.rationale.strip()
    assert first.items and all(i["item_id"] in scientific.items for i in first.items)
    assert not {i["item_id"] for i in first.items} & set(user.all_items)
    top = first.items[0]
    second = agent.turn("real-1", "I already own that one")
    assert second.intent == "dispute"
    assert second.revision is not None
    assert top["item_id"] in second.revision["removed"]
    assert top["item_id"] not in [i["item_id"] for i in second.items]
    assert "already own" in second.revision["summary"]
    assert second.revision["summary"] in second.answer


def test_claim_and_attribute_disputes(agent: Any, scientific: Dataset) -> None:
    first = agent.turn("real-2", "stainless steel measuring tools")
    assert first.items
    second = agent.turn("real-2", "that's not for beginners")
    assert second.intent == "dispute"
    assert second.revision is not None and second.revision["dispute"]["kind"] in ("claim", "item")
    disputed = second.revision["dispute"]["item_ids"]
    assert disputed and not set(disputed) & {i["item_id"] for i in second.items}
    third = agent.turn("real-2", "I said no stainless")
    assert third.intent == "dispute"
    for item in third.items:
        assert "stainless" not in scientific.items[item["item_id"]].text.lower()
    assert third.revision is not None and "stainless" in third.revision["summary"]
    assert len(agent.values("real-2")["revisions"]) == 2


def test_a_new_user_asking_for_a_multimeter_gets_multimeters(agent: Any, scientific: Dataset) -> None:
    # Eight scientific titles say "multimeter" and three are multimeters; text search alone committed a current
    # gauge, alligator clips and a pH pen (README, issue 16). The thing named comes first now (agent/item_kind.py).
    from agent.item_kind import head_kinds

    events: list[tuple[str, Any]] = []
    result = agent.turn("real-kind", "I want a good multimeter for electronics hobby work", on_event=events.append)
    assert result.intent == "request"
    searched = [p["args"]["query"] for kind, p in events if kind == "tool_call" and p["name"] == "search_catalog"]
    assert "multimeter" in searched
    titles = [scientific.items[i["item_id"]].title for i in result.items]
    # the catalog's three multimeters: the OWON B35T, the Uni-T UT204 ("... Clamp Meter Multimeter Test Tool") and
    # the Owon oscilloscope-multimeter; not the DROK battery gauge that only mentions one
    assert len(titles) == 3 and all("multimeter" in head_kinds(t) for t in titles), titles
    after = agent.turn("real-kind", "that's wrong, a pH meter is not a multimeter")
    assert after.intent == "dispute"
    kept = [scientific.items[i["item_id"]].title.lower() for i in after.items]
    assert after.items and not any("ph meter" in t for t in kept), kept
    # the claim is about none of the picks: the multimeters stay, whatever the revision's own search finds
    assert [i["item_id"] for i in after.items] == [i["item_id"] for i in result.items]


def test_a_dispute_points_at_the_pick_it_names_or_at_all_of_them(agent: Any, scientific: Dataset) -> None:
    # The learned pointer (agent/pick_model.py): the rules read both messages as about the top pick.
    first = agent.turn("real-point", "nitrile gloves")
    shown = [i["item_id"] for i in first.items]
    assert len(shown) == 3
    second = agent.turn("real-point", "nope on the one on the right")
    assert second.intent == "dispute" and second.revision is not None
    assert second.revision["dispute"]["item_ids"] == [shown[2]], second.revision
    assert shown[2] in second.revision["removed"] and shown[0] in [i["item_id"] for i in second.items]
    again = [i["item_id"] for i in second.items]
    third = agent.turn("real-point", "scrap all three and start over")
    assert third.intent == "dispute" and third.revision is not None
    assert third.revision["dispute"]["item_ids"] == again
    assert not set(again) & {i["item_id"] for i in third.items}
    assert third.items and all(i["item_id"] in scientific.items for i in third.items)


def _ask(message: str, thread: str, env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "ui.cli", "ask", "--domain", "scientific", "-m", message, "-t", thread, "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_new_process_resumes_the_thread(scientific: Dataset, session_data_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LLMREC_DATA_DIR": str(session_data_dir), "LLMREC_CHECKPOINT_URL": str(tmp_path / "c.db")}
    first = _ask("a cordless drill", "resume-1", env)
    assert set(first) >= {"thread", "intent", "rationale", "items", "grounding", "revision"}
    assert first["items"] and first["new_thread"] is True
    second = _ask("I already own that", "resume-1", env)
    assert second["new_thread"] is False
    assert second["intent"] == "dispute"
    assert first["items"][0]["item_id"] not in [i["item_id"] for i in second["items"]]
    assert second["revision"]["removed"]
