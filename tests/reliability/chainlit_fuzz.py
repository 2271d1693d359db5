"""Hypothesis over the web app's pure helpers: button payloads, thread ids of logins, user lists and logins.

    python -m tests.reliability.chainlit_fuzz

Run by test_fuzz.py in a process of its own: Chainlit fixes its app root at first import, which must not be the
one tests/unit/test_chainlit_app.py sets up in the main test process.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

any_text = st.text(st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)), max_size=80)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(any_text, inner, max_size=3)),
    max_leaves=8,
)
payload = st.one_of(
    st.dictionaries(st.sampled_from(["thread", "item_id", "title", "claim"]) | any_text, json_value, max_size=5),
    st.fixed_dictionaries({"thread": any_text, "item_id": any_text, "title": any_text}),
)


def main() -> None:
    os.environ["CHAINLIT_APP_ROOT"] = tempfile.mkdtemp(prefix="chainlit-fuzz-")
    import ui.chainlit_app as app
    from ui.web_auth import WebAuthError, check_login, hash_password, parse_users

    @settings(max_examples=300, deadline=None)
    @given(data=payload, thread=st.none() | any_text, items=st.lists(any_text, max_size=4))
    def buttons(data: dict[str, Any], thread: str | None, items: list[str]) -> None:
        problem = app.dispute_problem(data, thread, items)
        assert problem is None or problem in (app.EXPIRED, app.STALE_ITEM) or isinstance(problem, str)
        if problem is None:
            assert isinstance(app.dispute_message(data), str)

    @settings(max_examples=300, deadline=None)
    @given(login=st.none() | any_text, other=st.none() | any_text)
    def threads(login: str | None, other: str | None) -> None:
        thread = app.new_thread_id(login)
        assert app.may_reopen(thread, login)
        if other and app.thread_prefix(other) != app.thread_prefix(login):
            assert not app.may_reopen(thread, other), "a login never reopens another login's thread"

    @settings(max_examples=300, deadline=None)
    @given(text=any_text)
    def user_lists(text: str) -> None:
        try:
            users = parse_users(text)
        except WebAuthError as exc:
            assert str(exc)
            return
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in users.items())

    users = {"alice": hash_password("correct horse", iterations=1000)}

    @settings(max_examples=40, deadline=None)
    @given(name=any_text, password=any_text)
    def logins(name: str, password: str) -> None:
        assert check_login(users, name, password) is (name == "alice" and password == "correct horse")

    # Found by `threads`: a prefix test let "alice" reopen the threads of "alice-x".
    assert not app.may_reopen(app.new_thread_id("alice-x"), "alice")
    for test in (buttons, threads, user_lists, logins):
        test()
    print("fuzzed the web app's payloads, thread ids, user lists and logins")


if __name__ == "__main__":
    main()
