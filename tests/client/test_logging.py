"""Logging: structlog events of a whole session hold no secret, at any level."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import structlog

from tripletex_async import NotFoundError
from tripletex_async.testing import FakeTripletex

from .conftest import MakeClient, client_id

pytestmark = pytest.mark.anyio


async def test_debug_logs_of_a_full_session_hold_no_secret(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Create, request, 401 replay, 404, close: no token or Basic value in any event."""
    company = client_id(fake)
    with structlog.testing.capture_logs() as events:
        async with make_client() as client:
            await client.company(company).get_list("/customer", dict[str, Any])
            fake.expire_sessions()
            await client.company(company).get_list("/customer", dict[str, Any])
            with pytest.raises(NotFoundError):
                await client.company(company).get("/customer/1")
            sessions = [
                *fake._sessions.sessions,
                client.connection.session.current.value,  # type: ignore[union-attr]
            ]
    assert {e["event"] for e in events} >= {"session_created", "request", "session_rejected"}
    text = repr(events)
    secrets = [fake.credentials.consumer_token, fake.credentials.employee_token, *sessions]
    for secret in secrets:
        assert secret not in text
        basic = base64.b64encode(f"{company}:{secret}".encode()).decode()
        assert basic not in text


def test_redactor_scrubs_basic_headers_and_token_params() -> None:
    """Secret-shaped text is removed even when the secret itself is unknown."""
    from tripletex_async.client._log import Redactor

    redactor = Redactor()
    line = "Authorization: Basic MDp0b2tlbg== url=/x?consumerToken=abc&employeeToken=def&a=1"
    cleaned = redactor.text(line)
    assert "MDp0b2tlbg==" not in cleaned
    assert "abc" not in cleaned
    assert "def" not in cleaned
    assert "a=1" in cleaned


async def test_legacy_put_create_leaves_no_token_in_stdlib_logs(
    make_client: MakeClient, fake: FakeTripletex, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs every URL at INFO; the PUT :create (tokens in the query) bypasses that."""
    import logging

    from tripletex_async.testing import FakeConfig

    old = FakeTripletex(fake.portfolio, FakeConfig(post_session_create=False), clock=fake.clock)
    caplog.set_level(logging.DEBUG)
    async with make_client(
        sim=old,
    ) as client:
        await client.who_am_i()
    assert old.statistics().sessions_created == 1
    assert old.credentials.consumer_token not in caplog.text
    assert old.credentials.employee_token not in caplog.text


async def test_without_structlog_configured_events_go_to_the_standard_library(
    make_client: MakeClient, fake: FakeTripletex, caplog: pytest.LogCaptureFixture
) -> None:
    """An application that configured only ``logging`` gets the events there, as records
    of the ``tripletex_async`` logger carrying the event's name and fields."""
    import logging

    structlog.reset_defaults()  # as in a fresh process (capture_logs leaves it configured)
    caplog.set_level(logging.DEBUG, logger="tripletex_async")
    async with make_client() as client:
        await client.company(client_id(fake)).get_list("/customer", dict[str, Any])
    records = [r for r in caplog.records if r.name == "tripletex_async"]
    requests = [r for r in records if getattr(r, "event", None) == "request"]
    assert requests
    assert requests[0].tripletex["path"] == "/customer"  # type: ignore[attr-defined]
    assert requests[0].getMessage().startswith("request ")
    assert fake.credentials.employee_token not in caplog.text


def test_a_short_wrong_token_leaves_messages_readable() -> None:
    """A typo for a token ("e", "token") is no secret worth every ``e`` of a message; a
    real token is replaced once, and a replacement is never replaced again."""
    from tripletex_async.client._log import REDACTED, Redactor

    redactor = Redactor(["e", "token", "a1b2c3d4e5f6", "b2c3d4e5"])
    text = "Tripletex refused the token a1b2c3d4e5f6 (request id 55d7c222-e0ed)"
    assert redactor.text(text) == (
        f"Tripletex refused the token {REDACTED} (request id 55d7c222-e0ed)"
    )
