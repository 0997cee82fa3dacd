"""The freshness bound: what a digest, a version or changedSince cannot see is caught by
reading every window whole again once per `SyncOptions.reread_every`, spread over the
nights of that period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import msgspec
import pytest

from tripletex_async import LoopClock, SyncOptions, sync
from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import FakeTripletex

from ..client.conftest import MakeClient
from ..expectations import FROM, TO

pytestmark = pytest.mark.anyio
DAY = 24 * 3600


class CustomerName(msgspec.Struct):
    id: int
    name: str | None = None


class InvoiceWithCustomer(msgspec.Struct):
    """An analyst's invoice: the customer's name expanded through ``fields``."""

    id: int
    invoiceDate: str  # noqa: N815 - Tripletex's name
    customer: CustomerName | None = None


INVOICES = RESOURCES["invoice"].with_model(InvoiceWithCustomer)


async def _run(
    make_client: MakeClient, sink: MemorySink, resources: list[Any], clock: LoopClock
) -> Any:
    async with make_client() as client:
        report = await sync(
            client,
            sink,
            companies="all",
            resources=resources,
            date_from=FROM,
            date_to=TO,
            options=SyncOptions(reread_every=timedelta(days=7)),
            clock=clock,
        )
    assert report.ok, report.to_dict()["total"]["errors"]
    return report.total()


async def test_expanded_relation_is_fresh_again_within_the_bound(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int], clock: LoopClock
) -> None:
    """A renamed customer stays stale behind the invoices' 304s (the checksum ignores
    relations expanded through fields) only until the window's reread."""
    sink = MemorySink()
    await _run(make_client, sink, [INVOICES], clock)
    company, invoice = next(
        (c, r) for c in companies for r in fake.records(c, "invoice") if r.get("customer")
    )
    fake.update(company, "customer", invoice["customer"]["id"], {"name": "Nytt Navn AS"})

    def shown() -> str:
        return str(msgspec.json.decode(data)["customer"]["name"]) if (data := rows()) else ""

    def rows() -> bytes | None:
        return stored_rows.get((company, invoice["id"]))

    stored_rows = await sink.read("invoice")
    again = await _run(make_client, sink, [INVOICES], clock)
    stored_rows = await sink.read("invoice")
    assert again.not_modified == again.windows  # Tripletex's checksum: unchanged
    assert shown() != "Nytt Navn AS"

    await anyio.sleep(8 * DAY)
    later = await _run(make_client, sink, [INVOICES], clock)
    stored_rows = await sink.read("invoice")
    assert later.reread == later.windows
    assert shown() == "Nytt Navn AS"


async def test_each_window_is_reread_once_per_period_spread_over_the_nights(
    make_client: MakeClient, clock: LoopClock
) -> None:
    """Nightly runs for a week read every window whole exactly once, a few each night."""
    sink = MemorySink()
    first = await _run(make_client, sink, list(DEFAULT_RESOURCES), clock)
    nightly = []
    for _ in range(7):
        await anyio.sleep(DAY)
        nightly.append((await _run(make_client, sink, list(DEFAULT_RESOURCES), clock)).reread)
    assert sum(nightly) == first.windows
    assert max(nightly) < first.windows / 3
