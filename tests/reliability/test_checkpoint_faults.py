"""The conversation store under faults, on real SQLite files: locked by another connection, deleted while the app
runs, unusable, and a process SIGKILLed in the middle of a turn whose thread a new process then resumes.

Postgres (several app servers, one store) is tested in tests/integration/test_checkpoint_postgres.py, and a
corrupt SQLite file there too (test_unusable_sqlite_file_is_a_clear_error).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.errors import CheckpointError, TurnFailedError
from agent.session import RecommenderAgent

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(agent: RecommenderAgent, thread: str) -> tuple[int, int, list[str]]:
    state = agent.values(thread)
    return state["turn"], len(state["messages"]), [p["item_id"] for p in state["picks"]]


def test_a_store_locked_by_another_process_fails_the_turn_and_loses_nothing(
    make_agent: Any, tiny_llm: Any, tmp_path: Path
) -> None:
    agent = make_agent(tiny_llm, checkpoint_timeout_s=0.3)
    agent.turn("lock", "a digital caliper")
    before = _snapshot(agent, "lock")
    other = sqlite3.connect(tmp_path / "checkpoints.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        started = time.monotonic()
        with pytest.raises(TurnFailedError, match="locked by another process") as info:
            agent.turn("lock", "a multimeter instead")
        assert time.monotonic() - started < 15
        assert "undone" in str(info.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _snapshot(agent, "lock") == before
    after = agent.turn("lock", "a multimeter instead")
    assert after.items and _snapshot(agent, "lock")[0] == before[0] + 1


def test_a_store_deleted_while_the_app_runs_is_written_back(make_agent: Any, tiny_llm: Any, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"
    agent = make_agent(tiny_llm)
    first = agent.turn("gone", "a digital caliper")
    for leftover in tmp_path.glob("checkpoints.sqlite*"):
        leftover.unlink()  # an operator's `rm`, a clean-up job
    agent.turn("gone", "a multimeter instead")
    assert path.exists()
    agent.close()
    reopened = make_agent(tiny_llm)
    state = reopened.values("gone")
    assert state["turn"] == 2, "both turns, the one before the deletion and the one after, are in the file"
    assert [text for role, text in reopened.transcript("gone") if role == "user"] == [
        "a digital caliper",
        "a multimeter instead",
    ]
    assert first.items


def test_an_unusable_store_location_is_one_sentence(make_agent: Any, tiny_llm: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    with pytest.raises(CheckpointError, match="Cannot open the conversation store"):
        make_agent(tiny_llm, checkpoint_url=str(blocker / "checkpoints.sqlite"))


def test_a_missing_store_is_created(make_agent: Any, tiny_llm: Any, tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "checkpoints.sqlite"
    agent = make_agent(tiny_llm, checkpoint_url=str(path))
    assert agent.turn("fresh", "a digital caliper").items and path.exists()


@pytest.mark.integration
def test_a_process_killed_mid_turn_is_resumed_by_a_new_process(make_agent: Any, tiny_llm: Any, tmp_path: Path) -> None:
    store, hang = tmp_path / "killed.sqlite", tmp_path / "hanging"
    cmd = [sys.executable, "-m", "tests.reliability.turn_worker", "--data-dir", str(tmp_path / "data")]
    cmd += ["--checkpoint", str(store), "--thread", "killed", "--hang-file", str(hang)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    worker = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not hang.exists():
            assert worker.poll() is None, worker.stderr.read()[-3000:] if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker never reached the middle of its second turn"
            time.sleep(0.2)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    assert worker.stdout is not None
    first = json.loads(worker.stdout.read().splitlines()[0])

    agent = make_agent(tiny_llm, checkpoint_url=str(store))
    head = agent.graph.get_state({"configurable": {"thread_id": "killed"}})
    assert head.next, "the store holds the half-done turn of the killed process"
    result = agent.turn("killed", "glue or tape")
    assert any("interrupted before I answered" in note and "multimeter" in note for note in result.notes)
    assert result.items and not result.new_thread
    state = agent.values("killed")
    assert state["turn"] == 2
    assert state["previous_picks"] and [p["item_id"] for p in state["previous_picks"]] == [
        i["item_id"] for i in first["items"]
    ], "the first turn's picks survived the kill"
    assert [text for role, text in agent.transcript("killed") if role == "user"] == [
        "a digital caliper",
        "glue or tape",
    ]
    assert not agent.graph.get_state({"configurable": {"thread_id": "killed"}}).next


def test_a_first_turn_cut_short_leaves_no_thread_behind(make_agent: Any, tiny_llm: Any) -> None:
    from langchain_core.messages import HumanMessage

    agent = make_agent(tiny_llm)
    config = {"configurable": {"thread_id": "cut"}}
    inputs = {"domain": "scientific", "user_id": None, "messages": [HumanMessage("a digital caliper")]}
    # A run abandoned after its tool calls were planned: what a process killed at that moment leaves in the store.
    for update in agent.graph.stream(inputs, config, context=agent.context, stream_mode="updates"):
        if "plan" in update:
            break
    assert agent.graph.get_state(config).next == ("retrieve",)
    result = agent.turn("cut", "glue or tape")
    assert result.new_thread and any("interrupted" in note for note in result.notes)
    assert [text for role, text in agent.transcript("cut") if role == "user"] == ["glue or tape"]
    assert agent.values("cut")["turn"] == 1
