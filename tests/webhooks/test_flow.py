"""Deliveries from the simulator reach the sink: creates, updates and deletes, exactly as
a sync would store them, never going back a version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from tripletex_async import RESOURCES, TripletexClient
from tripletex_async.sinks import ReadableSink
from tripletex_async.testing import FakeTripletex

from ..expectations import expected, stored
from .conftest import MakeReceiver, asgi_client, deliver, signed, specs, subscribe

pytestmark = pytest.mark.anyio

CUSTOMER = RESOURCES["customer"].fields()


async def _subscribed(
    client: TripletexClient, company: int, queue_path: Path, fields: str = CUSTOMER
) -> None:
    wanted = [*specs("customer.create", "customer.update", fields=fields)]
    await subscribe(client, company, queue_path, [*wanted, *specs("customer.delete")])


def _version(records: dict[tuple[int, int], bytes], company: int, id_: int) -> Any:
    return msgspec.json.decode(records[company, id_])["version"]


async def test_update_arrives_as_a_sync_would_store_it(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """An update's value lands in the sink equal to what a sync fetches."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Oppdatert AS"})
    async with make_receiver() as receiver:
        assert await deliver(fake, receiver) == 1
        await receiver.join()
        records = await sink.read("customer")
    assert stored(records, company) == {target: expected(fake, company, "customer")[target]}


async def test_create_arrives(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """A created object is written from its payload, without fetching it."""
    await _subscribed(client, company, queue_path)
    created = fake.add(company, "customer", {"name": "Ny Kunde AS"})
    async with make_receiver() as receiver:
        await deliver(fake, receiver)
        await receiver.join()
        records = await sink.read("customer")
    assert stored(records, company)[created["id"]]["name"] == "Ny Kunde AS"
    assert "customer/{id}" not in fake.statistics().by_path


async def test_delete_removes_the_row(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """A delete event removes the record the sink held."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Snart borte AS"})
    async with make_receiver() as receiver:
        await deliver(fake, receiver)
        await receiver.join()
        assert (company, target) in await sink.read("customer")
        fake.delete(company, "customer", target)
        await deliver(fake, receiver)
        await receiver.join()
        assert (company, target) not in await sink.read("customer")


async def test_narrow_fields_are_fetched_by_id(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """A payload without every model field is replaced by the object fetched by id."""
    await _subscribed(client, company, queue_path, fields="id,version,name")
    target = fake.records(company, "customer")[1]["id"]
    fake.update(company, "customer", target, {"name": "Hentet AS"})
    async with make_receiver() as receiver:
        await deliver(fake, receiver)
        await receiver.join()
        records = await sink.read("customer")
    assert fake.statistics().by_path["customer/{id}"] == 1
    assert stored(records, company) == {target: expected(fake, company, "customer")[target]}


async def test_replayed_delivery_is_a_duplicate(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """The same idempotency key again is acknowledged and not queued twice."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Én gang AS"})
    async with make_receiver() as receiver:
        await deliver(fake, receiver)
        await receiver.join()
        first = fake.webhooks.delivered[0]
        async with asgi_client(receiver) as http:
            again = await http.post(first.target_url, content=first.body, headers=first.headers)
        assert receiver.queue.pending == 0
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})


async def test_older_version_after_newer_does_not_regress(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """Deliveries out of order: the older version arriving last changes nothing."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Versjon 1"})
    fake.update(company, "customer", target, {"name": "Versjon 2"})
    older, newer = list(fake.webhooks.pending)
    async with make_receiver() as receiver, asgi_client(receiver) as http:
        for delivery in (newer, older):
            await http.post(delivery.target_url, content=delivery.body, headers=delivery.headers)
            await receiver.join()
        records = await sink.read("customer")
    assert stored(records, company)[target]["name"] == "Versjon 2"
    assert _version(records, company, target) == fake.records(company, "customer")[0]["version"]


async def test_reordered_deliveries_in_one_batch_keep_the_newest(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """Newer and older queued together (applied in one write): the newer one stays."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Gammel"})
    fake.update(company, "customer", target, {"name": "Ny"})
    fake.webhooks.pending.reverse()
    await deliver(fake, make_receiver())  # queued, no worker yet
    async with make_receiver() as receiver:
        await receiver.join()
        records = await sink.read("customer")
    assert stored(records, company)[target]["name"] == "Ny"


async def test_late_update_after_delete_does_not_resurrect(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """An update delivered after the object's deletion leaves it deleted."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Sen AS"})
    fake.delete(company, "customer", target)
    fake.webhooks.pending.reverse()
    async with make_receiver() as receiver, asgi_client(receiver) as http:
        for delivery in list(fake.webhooks.pending):
            await http.post(delivery.target_url, content=delivery.body, headers=delivery.headers)
            await receiver.join()
        records = await sink.read("customer")
    assert (company, target) not in records


async def test_restart_applies_acknowledged_events(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """Events acknowledged by a receiver whose worker never ran are applied by the next."""
    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Etter omstart AS"})
    first = make_receiver()
    assert await deliver(fake, first) == 1
    await first.queue.aclose()
    async with make_receiver() as second:
        await second.join()
        records = await sink.read("customer")
    assert stored(records, company)[target]["name"] == "Etter omstart AS"


async def test_rows_equal_the_engine_s_rows(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    tmp_path: Path,
) -> None:
    """A webhook-written SQLite row has the same typed columns as one a sync wrote."""
    import sqlite3

    from tripletex_async import sync
    from tripletex_async.sinks import SQLiteSink

    await _subscribed(client, company, queue_path)
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Likt AS"})
    hooked = SQLiteSink(tmp_path / "hooked.db")
    async with make_receiver(sink=hooked) as receiver:
        await deliver(fake, receiver)
        await receiver.join()
    await hooked.aclose()
    synced = SQLiteSink(tmp_path / "synced.db")
    await sync(client, synced, resources=["customer"], companies=[company])
    await synced.aclose()

    def row(path: Path) -> tuple[Any, ...]:
        connection = sqlite3.connect(path)
        connection.row_factory = sqlite3.Row
        found = connection.execute("SELECT * FROM customer WHERE id = ?", (target,)).fetchone()
        connection.close()
        names = found.keys()
        # Which scan and which partition's query wrote a row is bookkeeping, not data.
        return tuple((k, found[k]) for k in names if k not in ("_scan", "_part", "data"))

    assert row(tmp_path / "hooked.db") == row(tmp_path / "synced.db")

    def indexes(path: Path) -> set[str]:
        connection = sqlite3.connect(path)
        found = connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        names = {name for (name,) in found.fetchall() if name.startswith("customer_")}
        connection.close()
        return names

    # The receiver's tables are indexed as a sync's are (it never runs a sync's end).
    assert "customer_currency_id" in indexes(tmp_path / "hooked.db")
    assert indexes(tmp_path / "hooked.db") == indexes(tmp_path / "synced.db")


async def test_ignored_event_is_acknowledged(
    make_receiver: MakeReceiver, fake: FakeTripletex
) -> None:
    """An event about nothing the engine stores is answered 200 and not queued."""
    body = b'{"subscriptionId": 1, "event": "notification.sent", "id": 5, "value": null}'
    receiver = make_receiver()
    async with asgi_client(receiver) as http:
        response = await http.post("https://r.example/", content=body, headers=signed(body))
    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    assert receiver.queue.pending == 0
