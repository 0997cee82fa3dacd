"""reconcile(): webhooks that skipped versions or went missing, made exact by one
incremental sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripletex_async import TripletexClient
from tripletex_async.sinks import ReadableSink
from tripletex_async.testing import FakeTripletex
from tripletex_async.webhooks import reconcile, subscription_specs

from ..expectations import expected, stored
from .conftest import AUTH, TARGET, MakeReceiver, deliver, subscribe

pytestmark = pytest.mark.anyio


async def test_reconcile_after_skipped_deliveries_is_exact(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """Updates, a creation and a deletion whose deliveries were lost: reconcile restores
    exactly what Tripletex holds."""
    await reconcile(client, sink, resources=["customer"], companies=[company])
    await subscribe(
        client, company, queue_path, subscription_specs(TARGET, AUTH, resources=["customer"])
    )
    records = fake.records(company, "customer")
    fake.update(company, "customer", records[0]["id"], {"name": "Levert AS"})
    fake.update(company, "customer", records[1]["id"], {"name": "Tapt 1"})
    fake.update(company, "customer", records[1]["id"], {"name": "Tapt 2"})
    fake.add(company, "customer", {"name": "Aldri meldt AS"})
    fake.delete(company, "customer", records[2]["id"])
    async with make_receiver() as receiver:
        delivered = fake.webhooks.pending.popleft()
        fake.webhooks.pending.clear()  # what Tripletex skipped or never retried
        fake.webhooks.pending.append(delivered)
        await deliver(fake, receiver)
        await receiver.join()
    assert stored(await sink.read("customer"), company) != expected(fake, company, "customer")
    report = await reconcile(client, sink, resources=["customer"], companies=[company])
    assert report.ok
    assert stored(await sink.read("customer"), company) == expected(fake, company, "customer")


async def test_reconcile_of_an_exact_sink_only_asks_checksums(
    fake: FakeTripletex, client: TripletexClient, company: int, sink: ReadableSink
) -> None:
    """Nothing changed since the last run: each window costs one 304 and writes nothing."""
    await reconcile(client, sink, resources=["customer"], companies=[company])
    again = await reconcile(client, sink, resources=["customer"], companies=[company])
    total = again.total()
    assert (total.records, total.not_modified) == (0, total.windows)
