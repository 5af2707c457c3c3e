"""The server's event loop is uvloop unless EVENT_LOOP says asyncio; anything else is refused
before the server starts. (test_deploy and test_processes run `khaacho serve` on the default.)"""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop
from pydantic import ValidationError

from bot.serve import new_event_loop
from bot.settings import Settings


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


@pytest.mark.parametrize(("kind", "is_uvloop"), [("uvloop", True), ("asyncio", False)])
def test_the_loop_named_is_the_loop_run(kind: str, is_uvloop: bool) -> None:
    loop = new_event_loop(Settings(_env_file=None, event_loop=kind).event_loop)  # type: ignore[call-arg]
    try:
        assert isinstance(loop, uvloop.Loop) is is_uvloop
        assert loop.run_until_complete(_answer()) == 42
    finally:
        loop.close()


def test_the_default_is_uvloop_and_an_unknown_loop_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVENT_LOOP", raising=False)
    assert Settings(_env_file=None).event_loop == "uvloop"  # type: ignore[call-arg]
    monkeypatch.setenv("EVENT_LOOP", "tokio")
    with pytest.raises(ValidationError, match="event_loop"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_serve_refuses_uvloop_where_it_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).serve_problems() == []  # type: ignore[call-arg]
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: no such module
    [problem] = Settings(_env_file=None).serve_problems()  # type: ignore[call-arg]
    assert "EVENT_LOOP=asyncio" in problem
    assert Settings(_env_file=None, event_loop="asyncio").serve_problems() == []  # type: ignore[call-arg]
