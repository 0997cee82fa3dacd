"""Missing modules are normal: a company without the project module answers 403 for its
endpoints; that resource is "not enabled", not a failure, and the rest is synced exact."""

from __future__ import annotations

import pytest

from tripletex_async import sync
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import FakeConfig, FakeTripletex

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


async def test_a_company_answering_403_everywhere_is_a_failure(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """403 on every resource is not a missing module but a token that cannot read the
    company: that company fails, saying so."""
    company = client_id(fake, 0)
    sim = without(fake, company, "customer", "project", "activity", "timesheet")
    async with make_client(sim=sim) as client:
        report = await sync(
            client, MemorySink(), companies=[company], resources=RESOURCES,
            date_from=FROM, date_to=TO,
        )  # fmt: skip
    assert not report.ok
    assert report.failed_companies == [company]
    errors = report.total().errors
    assert errors
    assert all("403 on every resource" in e for e in errors)
