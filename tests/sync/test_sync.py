"""sync(): exact, incremental and isolated, against the in-process simulator."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import pytest

from tripletex_async import ResourceReport, SyncOptions, sync
from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import FakeRequest, FakeResponse, FakeTripletex

from ..client.conftest import MakeClient, basic_user, client_id
from ..expectations import FROM, TO, expected, stored

pytestmark = pytest.mark.anyio
ALL = list(DEFAULT_RESOURCES)


async def run(make_client: MakeClient, sink: MemorySink, **kwargs: Any) -> Any:
    kwargs.setdefault("companies", "all")
    kwargs.setdefault("resources", ALL)
    async with make_client() as client:
        return await sync(client, sink, date_from=FROM, date_to=TO, **kwargs)


async def test_first_sync_stores_every_record_of_every_company_exactly(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """Every id and every field of every resource of every company lands in the sink."""
    sink = MemorySink()
    report = await run(make_client, sink)
    assert report.ok, report.to_dict()
    for resource in ALL:
        records = await sink.read(resource)
        for company in companies:
            assert stored(records, company) == expected(fake, company, resource), resource


async def test_unchanged_rerun_only_asks_checksums(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A rerun with nothing changed makes one 304 request per window and stores nothing."""
    sink = MemorySink()
    await run(make_client, sink)
    before = {r: await sink.read(r) for r in ALL}
    again = await run(make_client, sink)
    total = again.total()
    assert total.records == 0
    assert total.requests == total.not_modified == total.windows == total.unchanged
    assert {r: await sink.read(r) for r in ALL} == before


async def test_rerun_reflects_adds_updates_and_deletes(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Created, changed and removed records show up in the sink after the next run."""
    sink = MemorySink()
    company = client_id(fake)
    await run(make_client, sink)
    posting = fake.records(company, "ledger/posting")[3]
    fake.update(company, "customer", fake.records(company, "customer")[0]["id"], {"name": "Ny AS"})
    fake.delete(company, "customer", fake.records(company, "customer")[1]["id"])
    fake.delete(company, "ledger/posting", posting["id"])
    fake.add(company, "department", {"name": "Ny avdeling", "departmentNumber": "77"})
    report = await run(make_client, sink)
    assert report.ok
    for resource in ("customer", "ledger/posting", "department"):
        assert stored(await sink.read(resource), company) == expected(fake, company, resource)


async def test_customers_over_one_page_use_changed_since_and_id_scan(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """With more customers than a page, a rerun fetches changes and finds deletions."""
    sink = MemorySink()
    company = client_id(fake, 1)
    options = SyncOptions(page_size=2)
    await run(make_client, sink, resources=["customer"], companies=[company], options=options)
    customers = fake.records(company, "customer")
    fake.update(company, "customer", customers[0]["id"], {"name": "Endret AS"})
    fake.delete(company, "customer", customers[-1]["id"])
    report = await run(
        make_client, sink, resources=["customer"], companies=[company], options=options
    )
    assert stored(await sink.read("customer"), company) == expected(fake, company, "customer")
    full_scan_pages = len(customers) // 2 + 1
    assert report.total().records < len(customers)
    assert report.total().requests < full_scan_pages + 2


async def test_one_failing_company_does_not_stop_the_others(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """A company whose module is missing (403) fails alone; the others are synced."""
    denied, *others = companies
    served = fake.handle

    async def handle(request: FakeRequest) -> FakeResponse:
        if request.path.endswith("/customer") and basic_user(request) == str(denied):
            return FakeResponse(403, b'{"status": 403, "code": 9000, "message": "No"}')
        return await served(request)

    fake.handle = handle  # type: ignore[method-assign]
    sink = MemorySink()
    report = await run(make_client, sink, companies=companies, resources=["customer"])
    assert report.failed_companies == [denied]
    assert not report.ok
    for company in others:
        assert stored(await sink.read("customer"), company) == expected(fake, company, "customer")


async def test_decode_error_fails_only_its_resource(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A Struct that does not fit the data fails that resource, not the sync."""

    class Wrong(msgspec.Struct):
        id: int
        name: int  # names are strings

    company = client_id(fake)
    resources = [RESOURCES["customer"].with_model(Wrong), "department"]
    report = await run(make_client, MemorySink(), resources=resources, companies=[company])
    status = {r.resource: r.status for r in report}
    assert status == {"customer": "failed", "department": "done"}
    assert "customer" in report.resources[0].errors[0]


async def test_full_rescans_everything(make_client: MakeClient, fake: FakeTripletex) -> None:
    """`full` ignores saved digests: no 304s, every record stored again."""
    sink = MemorySink()
    first = await run(make_client, sink)
    again = await run(make_client, sink, full=True)
    assert again.total().not_modified == 0
    assert again.total().records == first.total().records


async def test_cut_off_run_resumes_to_exact_data_with_less_work(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """A run cancelled midway, then run again, ends exact and fetches less than a full run."""
    sink = MemorySink()
    options = SyncOptions(page_size=5, companies_at_once=1)
    written = 0

    def progress(_: object) -> None:
        nonlocal written
        written += 1

    with anyio.move_on_after(10_000) as scope:  # virtual time: only the cancel below ends it

        def stop_after_some(report: object) -> None:
            progress(report)
            if written == 40:
                scope.cancel()

        await run(make_client, sink, options=options, on_progress=stop_after_some)
    assert scope.cancelled_caught
    resumed = await run(make_client, sink, options=options)
    for resource in ALL:
        records = await sink.read(resource)
        for company in companies:
            assert stored(records, company) == expected(fake, company, resource)
    full = await run(make_client, MemorySink(), options=options)
    assert resumed.total().requests < full.total().requests


async def test_units_a_cancellation_ends_report_interrupted(make_client: MakeClient) -> None:
    """A unit ended by a cancellation says ``interrupted``, never ``done``."""
    seen: dict[tuple[int, str], ResourceReport] = {}

    with anyio.move_on_after(10_000) as scope:  # virtual time: only the cancel below ends it

        def stop_after_some(report: ResourceReport) -> None:
            seen[report.company_id, report.resource] = report
            if len(seen) == 3:
                scope.cancel()

        await run(
            make_client, MemorySink(), options=SyncOptions(page_size=5), on_progress=stop_after_some
        )
    assert scope.cancelled_caught
    statuses = {r.status for r in seen.values()}
    assert "interrupted" in statuses
    assert statuses <= {"pending", "interrupted"}


async def test_tiny_page_budget_still_completes(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A budget smaller than any page (one page at a time, for the whole run) is slow
    but never deadlocks."""
    sink = MemorySink()
    options = SyncOptions(page_size=3, max_bytes_in_memory=1, write_queue=1, ahead=4)
    report = await run(make_client, sink, options=options, resources=["ledger/posting", "customer"])
    assert report.ok
    company = client_id(fake)
    assert stored(await sink.read("ledger/posting"), company) == expected(
        fake, company, "ledger/posting"
    )


async def test_oversized_window_is_split_until_it_fits(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A window over the result-set cap is split; the data is still exact."""
    company = client_id(fake, 1)
    sink = MemorySink()
    options = SyncOptions(page_size=10, result_cap=40)
    report = await run(
        make_client, sink, resources=["ledger/posting"], companies=[company], options=options
    )
    assert report.ok, report.to_dict()
    assert report.total().splits > 0
    assert stored(await sink.read("ledger/posting"), company) == expected(
        fake, company, "ledger/posting"
    )
    again = await run(
        make_client, sink, resources=["ledger/posting"], companies=[company], options=options
    )
    assert again.total().splits == 0
    assert again.total().requests == again.total().not_modified
