"""Schemathesis against the running app: the OpenAPI document served at /api/v1/openapi.json,
every operation fed inputs generated from it, signed in as an admin and as a vendor of the demo
town. No answer may be a 5xx, a status the operation does not declare, or a body or content type
its schema does not allow.

The examples are few and derandomised (the same ones every run) so the whole run fits CI's time
budget; the calls are made with `requests` from a thread while the test's loop serves the app."""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.app import create_app
from tests.web.town import Town

EXAMPLES = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Revoking would sign this run's own token out halfway; tests/web/test_api.py covers them.
SKIPPED = {"POST /api/v1/auth/revoke", "POST /api/v1/auth/revoke-all"}
ADMIN, VENDOR = "+9779800000001", "+9779810000001"


@pytest.fixture
async def client(wa_settings, aiohttp_client):  # type: ignore[no-untyped-def]
    """The whole app, its rate limit per token raised out of the way of a few hundred calls."""
    settings = wa_settings.model_copy(update={"api_rate_per_minute": 100_000})
    return await aiohttp_client(create_app(settings))


def _fuzz(operation: Any, url: str, session: requests.Session) -> None:
    """`EXAMPLES` generated calls of `operation`, each answer checked (raises on a failure)."""

    @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        case.call_and_validate(base_url=url, session=session, checks=CHECKS, timeout=10)

    check()


def _run(url: str, tokens: dict[str, str]) -> tuple[list[str], list[str]]:
    """Every operation × every token; what was tried and what failed (one line each)."""
    schema = schemathesis.openapi.from_url(url + "/api/v1/openapi.json", timeout=10)
    tried: list[str] = []
    failed: list[str] = []
    sessions = {role: requests.Session() for role in tokens}  # kept alive: a few hundred calls
    for role, token in tokens.items():
        sessions[role].headers["Authorization"] = f"Bearer {token}"
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in SKIPPED:
            continue
        for role, session in sessions.items():
            tried.append(f"{label} as {role}")
            try:
                _fuzz(operation, url, session)
            except FailureGroup as failure:  # a BaseExceptionGroup: each is reported below
                failed.append(f"{label} as {role}: {failure}")
    for session in sessions.values():
        session.close()
    return tried, failed


async def test_every_operation_answers_within_its_schema_for_an_admin_and_a_vendor(
        client, town: Town):
    tokens = {"ADMIN": await town.token(ADMIN), "VENDOR": await town.token(VENDOR)}
    await town.place()  # an order waiting for its vendor, so lists are not all empty
    url = str(client.make_url("")).rstrip("/")
    tried, failed = await asyncio.to_thread(_run, url, tokens)
    assert len(tried) >= 2 * 25, tried
    assert failed == [], f"{len(failed)} of {len(tried)} failed:\n\n" + "\n\n".join(failed)
