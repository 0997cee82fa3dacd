"""Which companies a sync takes: checked against what the token reaches before the sink
is opened, so a wrong choice is one `ConfigurationError` and leaves nothing behind."""

from __future__ import annotations

import pytest

from tripletex_async import CompanySelectionError, ConfigurationError, sync
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import FakeTripletex

from ..expectations import FROM, TO, expected, stored
from .conftest import MakeClient, client_id

pytestmark = pytest.mark.anyio


def untouched(sink: MemorySink) -> bool:
    """Whether the sink was never opened (no schema version, no table)."""
    return sink.meta == {} and sink.tables == {}


async def test_accountant_token_without_a_choice_names_the_choices(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """An accountant's own company holds no data: without a choice the sync refuses."""
    sink = MemorySink()
    async with make_client() as client:
        with pytest.raises(ConfigurationError) as info:
            await sync(client, sink, resources=["customer"])
    clients = len(fake.portfolio.clients)
    assert str(info.value).startswith(f"this token reaches {clients} client companies;")
    assert untouched(sink)
    assert "customer" not in fake.statistics().by_path


async def test_unknown_companies_are_listed_before_anything_is_fetched(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Ids the token does not reach are named in one error; nothing is fetched or opened."""
    sink = MemorySink()
    async with make_client() as client:
        with pytest.raises(ConfigurationError) as info:
            await sync(client, sink, resources=["customer"], companies=[999, client_id(fake), 998])
    assert "999, 998" in str(info.value)
    assert untouched(sink)
    assert "customer" not in fake.statistics().by_path


async def test_company_zero_is_the_token_owners_company(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """companies=[0] means the token owner's company, as Basic username 0 does."""
    company = client_id(fake)
    saas = fake.company_credentials(company)
    sink = MemorySink()
    async with make_client(employee_token=saas.employee_token) as client:
        report = await sync(
            client, sink, resources=["customer"], companies=[0], date_from=FROM, date_to=TO
        )
    assert report.ok
    assert report.companies == [company]
    records = await sink.read("customer")
    assert stored(records, company) == expected(fake, company, "customer")


async def test_own_company_by_default_for_a_company_token(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A company's own token (no client companies) syncs that company by default."""
    company = client_id(fake)
    saas = fake.company_credentials(company)
    async with make_client(employee_token=saas.employee_token) as client:
        report = await sync(client, MemorySink(), resources=["customer"])
    assert report.ok
    assert report.companies == [company]


async def test_all_companies_of_an_empty_portfolio_is_an_error(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """ "all" when the token reaches no client company says so instead of syncing nothing."""
    saas = fake.company_credentials(client_id(fake))
    sink = MemorySink()
    async with make_client(employee_token=saas.employee_token) as client:
        with pytest.raises(ConfigurationError, match="reaches no client companies"):
            await sync(client, sink, resources=["customer"], companies="all")
    assert untouched(sink)


@pytest.mark.parametrize("wanted", [[-1], [], [True]])
async def test_company_ids_must_be_whole_numbers(
    make_client: MakeClient, wanted: list[int]
) -> None:
    """Negative ids, no ids or non-integers are refused (0 is the owner's company)."""
    async with make_client() as client:
        with pytest.raises(ConfigurationError, match="company ids"):
            await sync(client, MemorySink(), resources=["customer"], companies=wanted)


@pytest.mark.parametrize("own", ["zero", "id"])
async def test_an_accountants_own_company_is_refused_before_anything_is_fetched(
    make_client: MakeClient, fake: FakeTripletex, own: str
) -> None:
    """An accountant's token may read nothing of its own company: asking for it (as 0 or
    by its id) is one error naming the choice to make, not a 403 per resource."""
    sink = MemorySink()
    async with make_client() as client:
        who = await client.who_am_i()
        wanted = [0] if own == "zero" else [who.owner_company()]
        with pytest.raises(CompanySelectionError) as info:
            await sync(client, sink, resources=["customer"], companies=wanted)
    assert info.value.kind == "accountant_own"
    assert "accountant token's own company" in str(info.value)
    assert untouched(sink)
    assert "customer" not in fake.statistics().by_path
