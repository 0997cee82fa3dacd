"""Missing modules are normal: a company without the project module answers 403 for its
endpoints; that resource is "not enabled", not a failure, and the rest is synced exact."""

from __future__ import annotations

import pytest

from tripletex_async import SyncOptions, sync
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    RateLimit,
    generate_portfolio,
)
from tripletex_async.testing._http import json_response

from ..client.conftest import MakeClient, client_id, sibling
from ..expectations import FROM, TO, expected, stored

pytestmark = pytest.mark.anyio

RESOURCES = ["customer", "project", "activity", "timesheet/entry"]


def without(fake: FakeTripletex, company: int, *modules: str) -> FakeTripletex:
    """The same portfolio, where ``company`` lacks ``modules`` (403/9000 on them)."""
    return sibling(fake, FakeConfig(modules_off={company: frozenset(modules)}))


async def test_a_module_a_company_lacks_is_not_enabled_and_not_a_failure(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """403 on /project, /activity and /timesheet: those resources of that company are
    ``not_enabled`` with no error; the run is ok; its other resources are exact; other
    companies get everything."""
    company, other = client_id(fake, 0), client_id(fake, 1)
    sim = without(fake, company, "project", "activity", "timesheet")
    sink = MemorySink()
    async with make_client(sim=sim) as client:
        report = await sync(
            client, sink, companies=[company, other], resources=RESOURCES,
            date_from=FROM, date_to=TO,
        )  # fmt: skip
    status = {(r.company_id, r.resource): r.status for r in report}
    assert status[(company, "customer")] == "done"
    for resource in ("project", "activity", "timesheet/entry"):
        assert status[(company, resource)] == "not_enabled"
        assert status[(other, resource)] == "done"
    assert report.ok
    assert report.failed_companies == []
    assert report.total().errors == []
    customers = await sink.read("customer")
    assert stored(customers, company) == expected(fake, company, "customer")
    assert stored(await sink.read("project"), company) == {}
    assert stored(await sink.read("project"), other) == expected(fake, other, "project")


async def test_a_403_on_the_core_is_a_failure(make_client: MakeClient, fake: FakeTripletex) -> None:
    """Customers are every company's core, not a module: a 403 there fails the company,
    with Tripletex's message; the project group beside it is still only not enabled."""
    company = client_id(fake, 0)
    sim = without(fake, company, "customer", "project", "activity", "timesheet")
    async with make_client(sim=sim) as client:
        report = await sync(
            client, MemorySink(), companies=[company], resources=RESOURCES,
            date_from=FROM, date_to=TO,
        )  # fmt: skip
    assert not report.ok
    assert report.failed_companies == [company]
    status = {r.resource: r for r in report}
    assert status["customer"].status == "failed"
    assert any("You do not have permission" in e for e in status["customer"].errors)
    assert status["project"].status == "not_enabled"


async def test_modules_denied_in_every_group_fail_the_company(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """403 on every resource of several module groups is not missing modules but a
    token that cannot read the company: it fails, saying so."""
    company = client_id(fake, 0)
    sim = without(fake, company, "product", "project", "activity")
    async with make_client(sim=sim) as client:
        report = await sync(
            client, MemorySink(), companies=[company], resources=["product", "project"],
        )  # fmt: skip
    assert report.failed_companies == [company]
    errors = report.total().errors
    assert errors
    assert all("403 on every resource" in e for e in errors)


async def test_a_403_after_the_resource_answered_is_an_error(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A 403 partway through a scan (pages already stored) of a module's resource is not
    a missing module: the resource fails, and the run is not ok."""
    company = client_id(fake, 0)
    answer = fake.handle

    async def handle(request: FakeRequest) -> FakeResponse:
        if request.path.endswith("/product") and "from=0" not in request.query:
            body = {"status": 403, "code": 9000, "message": "You do not have permission"}
            return json_response(403, body)
        return await answer(request)

    fake.handle = handle  # type: ignore[method-assign]
    async with make_client() as client:
        report = await sync(
            client, MemorySink(), companies=[company], resources=["customer", "product"],
            options=SyncOptions(page_size=2),
        )  # fmt: skip
    status = {r.resource: r for r in report}
    assert status["product"].status == "failed"
    assert any("You do not have permission" in e for e in status["product"].errors)
    assert status["customer"].status == "done"
    assert not report.ok


async def test_a_run_of_one_module_only_reports_it_not_enabled(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Syncing only the project group of a company without that module cannot tell a
    missing module from a revoked token: it is not enabled, not a failure."""
    company = client_id(fake, 0)
    sim = without(fake, company, "project", "activity", "timesheet")
    async with make_client(sim=sim) as client:
        report = await sync(
            client, MemorySink(), companies=[company], resources=["project", "activity"],
        )  # fmt: skip
    assert {r.status for r in report} == {"not_enabled"}
    assert report.ok


async def test_a_child_list_of_a_missing_module_is_not_enabled(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Without the product module, /product answers 403: product prices, read by the
    products' ids, are not enabled too, after one request, not one per product."""
    company = client_id(fake, 0)
    sim = without(fake, company, "product")
    async with make_client(sim=sim) as client:
        report = await sync(
            client, MemorySink(), companies=[company],
            resources=["customer", "product/productPrice"], date_from=FROM, date_to=TO,
        )  # fmt: skip
    prices = next(r for r in report if r.resource == "product/productPrice")
    assert prices.status == "not_enabled"
    assert prices.tally.requests == 1
    assert report.ok


async def test_a_child_list_its_module_refuses_asks_no_more_than_it_must(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Products answer but their prices are refused (a module of its own): the prices
    are not enabled, and their queries stop once nothing but 403 came back (those
    already in flight, at most a rate window's worth, still count)."""
    shop = FakeTripletex(
        generate_portfolio(
            PortfolioConfig(seed=4, companies=1, scale=1.0, empty_companies=0, heavy_companies=0)
        ),
        FakeConfig(rate_limit=RateLimit(10, 1.0)),
        clock=fake.clock,
    )
    company = shop.portfolio.company_ids()[0]
    products = len(shop.records(company, "product"))
    assert products > 40

    class RefusingPrices:
        async def handle(self, request: FakeRequest) -> FakeResponse:
            if request.path.endswith("/product/productPrice"):
                return json_response(403, {"status": 403, "code": 9000, "message": "No access"})
            return await shop.handle(request)

    transport = FakeTransport(RefusingPrices())  # type: ignore[arg-type]
    async with make_client(sim=shop, transport=transport) as client:
        report = await sync(
            client, MemorySink(), companies=[company], resources=["product/productPrice"],
            date_from=FROM, date_to=TO,
        )  # fmt: skip
    prices = next(r for r in report if r.resource == "product/productPrice")
    assert prices.status == "not_enabled"
    assert prices.errors == []
    assert prices.tally.requests <= 1 + 2 * 10
