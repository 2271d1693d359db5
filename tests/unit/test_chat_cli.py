"""`llmrec chat` and `llmrec ask` as a user runs them: piped input, /dispute, JSON, clear errors and exit codes.
The agent behind them is real (tiny Llama, BM25, embedded Qdrant, SQLite checkpoints); only `open` is redirected
to it, so these tests do not load the 135M model (tests/integration/test_agent_real.py does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from tools.search import CatalogRetrievers
from ui import cli


@pytest.fixture(scope="module")
def retrievers(small_retrievers: CatalogRetrievers) -> CatalogRetrievers:
    return small_retrievers


@pytest.fixture
def tiny_agent(monkeypatch: pytest.MonkeyPatch, tiny_llm: Any, retrievers: CatalogRetrievers, tmp_path: Path) -> None:
    real_open = RecommenderAgent.open.__func__  # type: ignore[attr-defined]

    def fake_open(cls: type[RecommenderAgent], domain: str, **_: Any) -> RecommenderAgent:
        if domain != "scientific":
            return real_open(cls, domain)  # type: ignore[no-any-return]
        return real_open(  # type: ignore[no-any-return]
            cls,
            domain,
            llm=tiny_llm,
            retrievers=retrievers,
            model_settings=ModelSettings(rationale_max_tokens=8),
            agent_settings=AgentSettings(checkpoint_url=str(tmp_path / "cli.sqlite")),
        )

    monkeypatch.setattr(RecommenderAgent, "open", classmethod(fake_open))


def test_chat_with_piped_input_and_a_button_dispute(tiny_agent: None) -> None:
    lines = "a digital caliper\n/dispute 1\n/dispute 9\n/quit\n"
    result = CliRunner().invoke(cli.app, ["chat", "--domain", "scientific", "--thread", "c1"], input=lines)
    assert result.exit_code == 0, result.output
    assert "-> search_catalog(query='digital caliper'" in result.output
    assert "Rationale:" in result.output
    assert "You said “That's wrong.”. I removed" in result.output.replace("\n", " ")
    assert "Use /dispute N with N from 1 to 3" in result.output
    assert "resume it with --thread c1" in result.output


def test_chit_chat_is_printed_once_and_asides_get_a_plain_answer(tiny_agent: None) -> None:
    # a streamed chit-chat reply was printed as it was written and then again whole
    lines = "tell me a joke\ncan I talk to a real person?\n"
    result = CliRunner().invoke(cli.app, ["chat", "-d", "scientific", "-t", "c4"], input=lines)
    assert result.exit_code == 0, result.output
    assert result.output.count("Tell me what you are looking for and I will search the catalog.") == 1
    assert "I am an automated recommender and cannot pass you to a person." in " ".join(result.output.split())


def test_a_streamed_reply_is_not_printed_again() -> None:
    from rich.console import Console

    from agent.session import TurnResult
    from ui.chat_cli import _print_result, _Streamer

    console = Console(record=True, width=100)
    streamer = _Streamer(console)
    for piece in ("Hello, ", "I find things."):
        streamer(("reply", piece))
    streamer(("node", "respond"))
    answer = "Hello, I find things.\n\nTell me what you are looking for and I will search the catalog."
    _print_result(console, TurnResult("t", "other", answer, "", [], None, None), streamer.reply)
    text = console.export_text()
    assert text.count("Hello, I find things.") == 1
    assert text.count("Tell me what you are looking for") == 1


def test_chat_resumes_a_thread(tiny_agent: None) -> None:
    CliRunner().invoke(cli.app, ["chat", "-d", "scientific", "-t", "c2"], input="a multimeter\n")
    again = CliRunner().invoke(cli.app, ["chat", "-d", "scientific", "-t", "c2"], input="")
    assert "Resuming conversation c2" in again.output
    assert "user: a multimeter" in again.output


def test_chat_reports_bad_turns_and_goes_on(tiny_agent: None) -> None:
    lines = "\x00\n/dispute\na caliper\n"
    result = CliRunner().invoke(cli.app, ["chat", "-d", "scientific", "-t", "c3", "-u", "nobody"], input=lines)
    assert result.exit_code == 0
    assert "Please type a message" in result.output
    assert "There is no recommendation to dispute yet" in result.output
    assert "not in the scientific catalog" in result.output
    assert "Traceback" not in result.output


def test_ask_json_and_dispute(tiny_agent: None) -> None:
    runner = CliRunner()
    first = runner.invoke(cli.app, ["ask", "-d", "scientific", "-m", "a digital caliper", "-t", "a1", "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert {"thread", "intent", "rationale", "items", "grounding", "revision"} <= set(data)
    assert data["thread"] == "a1" and data["items"] and data["revision"] is None
    target = data["items"][0]["item_id"]
    second = runner.invoke(
        cli.app, ["ask", "-d", "scientific", "-m", "no", "-t", "a1", "--dispute-item", target, "--json"]
    )
    revised = json.loads(second.stdout)
    assert revised["revision"]["dispute"]["item_ids"] == [target]
    assert target not in [i["item_id"] for i in revised["items"]]


def test_ask_errors_are_sentences_with_exit_codes(tiny_agent: None) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli.app, ["ask", "-d", "scientific", "-m", "   ", "--json"])
    assert empty.exit_code == 1
    assert "Please type a message" in json.loads(empty.stdout)["error"]
    unknown = runner.invoke(cli.app, ["ask", "-d", "nope", "-m", "hi"])
    assert unknown.exit_code == 2
    assert "nope" in unknown.output and "Traceback" not in unknown.output


def test_a_pick_argued_for_by_its_links_alone_is_marked_so() -> None:
    from rich.console import Console

    from agent.session import TurnResult
    from ui.chat_cli import _print_result

    console = Console(record=True, width=160)
    items = [
        {"item_id": "a", "title": "OWON B35T", "reason": "Option H has multimeter", "grounded": True, "label": "H"},
        {"item_id": "b", "title": "Uni-T UT204", "reason": "Has “multimeter” as you asked", "grounded": False},
    ]
    rationale = "Option H has multimeter. Candidate D also links to you."
    _print_result(console, TurnResult("t", "request", "", rationale, items, 1.0, None))
    text = console.export_text()
    # the rationale's candidate labels, which the numbered list does not show, are placed in it
    assert "in the rationale: H is #1, D was not picked" in text
    rows = [line for line in text.splitlines() if "OWON" in line or "Uni-T" in line]
    assert "yes" in rows[0] and "links" in rows[1] and " no " not in rows[1]
    assert "links = the why is its computed links" in " ".join(text.split())
