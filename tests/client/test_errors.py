"""Errors: Tripletex's envelope becomes the right exception, with the request id."""

from __future__ import annotations

from typing import Any

import pytest

from tripletex_async import (
    NotFoundError,
    PermissionDeniedError,
    ResultSetTooLargeError,
    TripletexClient,
    ValidationError,
)
from tripletex_async.testing import FakeTripletex

from .conftest import client_id

pytestmark = pytest.mark.anyio


async def test_not_found_carries_code_and_request_id(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """A 404 is NotFoundError with code 6000 and the request id in str()."""
    with pytest.raises(NotFoundError) as info:
        await client.company(client_id(fake)).get("/customer/1")
    error = info.value
    assert (error.status, error.code) == (404, 6000)
    assert error.request_id
    assert error.request_id in str(error)


async def test_missing_date_params_is_a_validation_error(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """A list call without its required dates is ValidationError naming both params."""
    with pytest.raises(ValidationError) as info:
        await client.company(client_id(fake)).get_list("/invoice", dict[str, Any])
    fields = {m.field for m in info.value.validation_messages}
    assert fields == {"invoiceDateFrom", "invoiceDateTo"}
    assert info.value.code == 15000


async def test_accountant_token_on_own_company_is_forbidden(client: TripletexClient) -> None:
    """An accountant's token with username 0 may only list clients and ask whoAmI."""
    with pytest.raises(PermissionDeniedError) as info:
        await client.get_list("/customer", dict[str, Any])
    assert info.value.code == 9000


async def test_result_set_too_large_has_its_own_class(
    make_client: Any, fake: FakeTripletex
) -> None:
    """422/23000 is ResultSetTooLargeError, a ValidationError."""
    from tripletex_async.testing import FakeConfig

    capped = FakeTripletex(fake.portfolio, FakeConfig(result_cap=1), clock=fake.clock)
    async with make_client(
        sim=capped,
    ) as client:
        with pytest.raises(ResultSetTooLargeError) as info:
            await client.company(client_id(fake)).get_list("/customer", dict[str, Any])
    assert isinstance(info.value, ValidationError)
    assert info.value.code == 23000


async def test_error_message_never_contains_a_token(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """No token of the connection appears in an API error's text."""
    with pytest.raises(NotFoundError) as info:
        await client.company(client_id(fake)).get("/customer/1")
    token = client.connection.session.current
    assert token is not None
    text = str(info.value) + repr(info.value.args)
    for secret in (
        fake.credentials.consumer_token,
        fake.credentials.employee_token,
        token.value,
    ):
        assert secret not in text
