"""Simulator: ``/token/session/:create`` as the field behaves, not stricter.

Sources: a Tripletex maintainer on ISO 8601 (tripletex-api2#36); Nango's live tests
against the test environment (NangoHQ/nango#6298): POST with query parameters answers
201, an ``expirationDate`` of today is minted and its first call is 401, none at all is
422 "Kan ikke være null.".
"""

from __future__ import annotations

from typing import Any

import pytest

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio


def _tokens(k: Kit, expiration: str | None) -> dict[str, Any]:
    creds = k.fake.credentials
    args = {"consumerToken": creds.consumer_token, "employeeToken": creds.employee_token}
    return args if expiration is None else {**args, "expirationDate": expiration}


async def test_iso_date_time_expiration_counts_by_its_date() -> None:
    """expirationDate 2026-03-12T19:43:37 is minted as a session for the 12th."""
    async with kit(session=False) as k:
        response = await k.http.post(
            "/token/session/:create", json=_tokens(k, "2026-03-12T19:43:37")
        )
    assert response.status_code == 201
    assert response.json()["value"]["expirationDate"] == "2026-03-12"


async def test_iso_date_time_session_dies_at_midnight_of_its_date() -> None:
    """A session asked for 2026-03-12T19:43:37 is 401 from 00:00 Oslo on the 12th."""
    async with kit(session=False) as k:
        created = await k.http.post(
            "/token/session/:create", json=_tokens(k, "2026-03-12T19:43:37+01:00")
        )
        k.token = created.json()["value"]["token"]
        k.clock.now = k.clock.now.replace(day=12, hour=0, minute=0)
        response = await k.get("/customer")
    assert response.status_code == 401


async def test_post_create_reads_query_parameters() -> None:
    """POST :create with the tokens in the query and no body is 201 with a working token."""
    async with kit(session=False) as k:
        created = await k.http.post("/token/session/:create", params=_tokens(k, "2026-03-12"))
        assert created.status_code == 201, created.text
        k.token = created.json()["value"]["token"]
        assert (await k.get("/customer")).status_code == 200


async def test_post_create_body_wins_over_the_query() -> None:
    """A token in the body is used over one in the query."""
    async with kit(session=False) as k:
        query = {**_tokens(k, "2026-03-12"), "consumerToken": "stale"}
        created = await k.http.post(
            "/token/session/:create", params=query, json=_tokens(k, "2026-03-12")
        )
    assert created.status_code == 201


@pytest.mark.parametrize("day", ["2026-03-10", "2026-03-01"])
async def test_expiration_today_or_past_is_minted(day: str) -> None:
    """expirationDate of today (or earlier) in Oslo is minted, as Tripletex does."""
    async with kit(session=False) as k:
        k.clock.now = k.clock.now.replace(hour=23, minute=30)  # still the 10th in Oslo
        response = await k.http.post("/token/session/:create", json=_tokens(k, day))
    assert response.status_code == 201
    assert response.json()["value"]["token"]


async def test_session_expiring_today_is_401_on_first_use() -> None:
    """A session minted with expirationDate = today is dead: its first call is 401/3000."""
    async with kit(session=False) as k:
        created = await k.http.post("/token/session/:create", json=_tokens(k, "2026-03-10"))
        k.token = created.json()["value"]["token"]
        response = await k.get("/token/session/>whoAmI", company=0)
    assert (response.status_code, response.json()["code"]) == (401, 3000)


async def test_missing_expiration_date_is_422_kan_ikke_vaere_null() -> None:
    """No expirationDate is 422/18000 "Kan ikke være null." on arg:expirationDate."""
    async with kit(session=False) as k:
        response = await k.http.post("/token/session/:create", json=_tokens(k, None))
    message = response.json()["validationMessages"][0]
    assert (response.status_code, response.json()["code"]) == (422, 18000)
    assert (message["field"], message["message"]) == ("arg:expirationDate", "Kan ikke være null.")


async def test_expiration_date_that_is_no_date_is_422() -> None:
    """expirationDate that is not ISO 8601 (``12.03.2026``) is 422 on arg:expirationDate."""
    async with kit(session=False) as k:
        response = await k.http.post("/token/session/:create", json=_tokens(k, "12.03.2026"))
    assert response.status_code == 422
    assert response.json()["validationMessages"][0]["field"] == "arg:expirationDate"
