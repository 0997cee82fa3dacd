"""Accountant portfolios, company views, several employee tokens and any endpoint."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tripletex_async import ClientCompany, PermissionDeniedError, TripletexClient
from tripletex_async.testing import FakeTripletex

from .conftest import MakeClient, client_id

pytestmark = pytest.mark.anyio


class Customer(msgspec.Struct):
    """A narrow view of a customer."""

    id: int
    name: str


async def test_companies_pages_through_with_login_access(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """companies() returns every client company, paging until a short page."""
    companies = await client.companies(page_size=2)
    assert [c.id for c in companies] == [c["id"] for c in fake.portfolio.clients]
    assert all(isinstance(c, ClientCompany) for c in companies)


async def test_company_view_acts_for_that_company(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """Requests through company(id) return that company's data."""
    company = client_id(fake)
    page = await client.company(company).get_list(
        "/customer", Customer, params={"fields": "id,name", "count": 10000}
    )
    assert [c.id for c in page.values] == [r["id"] for r in fake.records(company, "customer")]
    assert fake.statistics().by_company.get(company, 0) >= 1


async def test_who_am_i_tells_the_owner_company(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """whoAmI with username 0 reports the token owner's company."""
    info = await client.who_am_i()
    assert info.companyId == fake.credentials.company_id


async def test_saas_token_acts_for_its_own_company(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """A second employee token on the same client reads its own company with username 0."""
    company = client_id(fake)
    creds = fake.company_credentials(company)
    saas = client.connect(employee_token=creds.employee_token)
    page = await saas.get_list("/customer", Customer, params={"fields": "id,name"})
    assert page.values
    with pytest.raises(PermissionDeniedError):
        await saas.company(client_id(fake, 1)).get_list("/customer", Customer)


async def test_write_and_read_back_any_endpoint(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """POST, PUT and DELETE go through the same session and budget."""
    company = client.company(client_id(fake))
    created = await company.post("/customer", json={"name": "Blåbær Regnskap AS"})
    customer_id = created["value"]["id"]
    updated = await company.put(
        f"/customer/{customer_id}", json={"email": "post@blabaer.no"}, type=dict[str, Any]
    )
    assert updated["value"]["version"] == 1
    await company.delete(f"/customer/{customer_id}")
    assert customer_id not in {r["id"] for r in fake.records(client_id(fake), "customer")}


async def test_conditional_list_returns_none_on_304(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """With the digest of the last answer, an unchanged list is None (a 304)."""
    company = client.company(client_id(fake))
    first = await company.get_list("/customer", Customer, if_none_match="*")
    assert first is not None
    assert first.versionDigest
    again = await company.get_list("/customer", Customer, if_none_match=first.versionDigest)
    assert again is None
    assert client.statistics().not_modified == 1


async def test_decode_into_a_struct_with_unknown_fields_tolerated(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A narrow Struct decodes a full object: fields it does not declare are ignored."""
    async with make_client() as client:
        company = client.company(client_id(fake))
        page = await company.get_list("/customer", Customer)
    assert page.values
    assert isinstance(page.values[0], Customer)
