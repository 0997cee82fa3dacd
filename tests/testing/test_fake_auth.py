"""Simulator: session creation, expiry, Basic auth and accountant access."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .fakekit import kit

pytestmark = pytest.mark.anyio


async def test_put_create_takes_query_parameters() -> None:
    """The legacy PUT :create reads its tokens from the query and answers 200."""
    async with kit(session=False) as k:
        creds = k.fake.credentials
        response = await k.http.put(
            "/token/session/:create",
            params={
                "consumerToken": creds.consumer_token,
                "employeeToken": creds.employee_token,
                "expirationDate": "2026-03-12",
            },
        )
    assert response.status_code == 200
    assert response.json()["value"]["token"]


async def test_post_create_takes_a_json_body() -> None:
    """POST :create reads a JSON body and answers 201 with value.token."""
    async with kit() as k:
        assert k.token


async def test_invalid_consumer_token_is_422_18000_shaped_as_tripletex() -> None:
    """A bad consumer token gives the exact error envelope Tripletex sends."""
    async with kit(session=False) as k:
        response = await k.http.post(
            "/token/session/:create",
            json={"consumerToken": "x", "employeeToken": "y", "expirationDate": "2026-03-12"},
        )
    body = response.json()
    assert response.status_code == 422
    assert list(body) == [
        "status",
        "code",
        "message",
        "link",
        "developerMessage",
        "validationMessages",
        "requestId",
    ]
    assert (body["code"], body["message"]) == (18000, "Validering feilet.")
    assert body["validationMessages"][0]["field"] == "arg:consumerToken"
    assert body["validationMessages"][0]["path"] == "arg:consumerToken"
    assert body["requestId"] == response.headers["x-tlx-request-id"]


async def test_session_expires_at_midnight_oslo_of_its_date() -> None:
    """A token for the 12th works at 23:59 on the 11th and is 401 at 00:00 on the 12th."""
    async with kit() as k:
        k.clock.now = k.clock.now.replace(day=11, hour=23, minute=59)
        assert (await k.get("/customer")).status_code == 200
        k.clock.advance(minutes=1)
        response = await k.get("/customer")
    assert response.status_code == 401
    assert response.json()["code"] == 3000


async def test_invalid_basic_username_is_401_with_the_real_message() -> None:
    """A non-numeric username gives Tripletex's 401/3000 developerMessage."""
    async with kit() as k:
        import base64

        raw = base64.b64encode(f"abc:{k.token}".encode()).decode()
        response = await k.http.get("/customer", headers={"authorization": f"Basic {raw}"})
    assert response.status_code == 401
    assert "invalid username: abc" in response.json()["developerMessage"]


async def test_accountant_with_username_0_may_only_list_clients_and_who_am_i() -> None:
    """Username 0 with an accountant token: whoAmI and withLoginAccess 200, others 403."""
    async with kit() as k:
        assert (await k.get("/token/session/>whoAmI", company=0)).status_code == 200
        assert (await k.get("/company/>withLoginAccess", company=0)).status_code == 200
        response = await k.get("/customer", company=0)
    assert response.status_code == 403
    assert response.json()["code"] == 9000
    assert "Company owned users" in response.json()["message"]


@pytest.mark.parametrize("path", ["/token/session/%3EwhoAmI", "/company/%3EwithLoginAccess"])
async def test_percent_encoded_path_markers_work(path: str) -> None:
    """%3E and %3A are accepted like the literal > and : ."""
    async with kit() as k:
        response = await k.http.get(path, headers=k.auth(0))
    assert response.status_code == 200


async def test_deleted_session_is_401_afterwards() -> None:
    """DELETE /token/session/{token} answers 204 and the token stops working."""
    async with kit() as k:
        response = await k.http.delete(f"/token/session/{k.token}", headers=k.auth(0))
        assert response.status_code == 204
        assert (await k.get("/customer")).status_code == 401


async def test_client_company_token_cannot_read_another_company() -> None:
    """A company's own employee token is 403 for another company id."""
    async with kit(session=False) as k:
        ids = [c["id"] for c in k.fake.portfolio.clients]
        creds = k.fake.company_credentials(ids[0])
        response = await k.http.post(
            "/token/session/:create",
            json={
                "consumerToken": creds.consumer_token,
                "employeeToken": creds.employee_token,
                "expirationDate": (k.clock.now.date() + timedelta(days=1)).isoformat(),
            },
        )
        k.token = response.json()["value"]["token"]
        assert (await k.get("/customer", company=0)).status_code == 200
        assert (await k.get("/customer", company=ids[1])).status_code == 403
