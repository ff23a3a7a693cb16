"""The parent's side of the guard: it trusts only an answer that carries the
session's nonce, parsed as data (never unpickled, never evaluated)."""

from __future__ import annotations

import json

from autograder.pipeline.guard import GuardSession


def reply(text: str, status: str = "ok", expression_status: str = "ok") -> dict:
    return {"status": status,
            "user_expressions": {"guard": {"status": expression_status, "data": {"text/plain": repr(text)}}}}


def test_an_answer_with_the_nonce_is_trusted():
    guard = GuardSession()
    assert guard.read_answer(reply(json.dumps([guard.nonce, ["torch.allclose"]]))) == (True, ["torch.allclose"])
    assert guard.read_answer(reply(json.dumps([guard.nonce, []]))) == (True, [])


def test_a_forged_or_missing_answer_is_not():
    guard = GuardSession()
    assert guard.read_answer(reply(json.dumps(["0" * 24, []])))[0] is False  # wrong nonce
    assert guard.read_answer(reply(json.dumps([guard.nonce, []]), status="error"))[0] is False
    assert guard.read_answer(reply(json.dumps([guard.nonce, []]), expression_status="error"))[0] is False
    assert guard.read_answer({"status": "ok", "user_expressions": {}})[0] is False
    assert guard.read_answer(reply("not json"))[0] is False
    assert guard.read_answer(reply(json.dumps({"nonce": guard.nonce})))[0] is False
    # the text is a Python literal, never evaluated as code
    evil = {"status": "ok", "user_expressions": {"guard": {"status": "ok", "data": {
        "text/plain": "__import__('os').system('touch /tmp/pwned')"}}}}
    assert guard.read_answer(evil)[0] is False


def test_each_session_has_its_own_names():
    one, two = GuardSession(), GuardSession()
    assert one.name != two.name and one.nonce != two.nonce
    assert one.name in one.install_code() and one.nonce in one.restore_expression()
    assert "{name" not in one.install_code()
