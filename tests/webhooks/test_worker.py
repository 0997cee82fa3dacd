"""The worker keeps going: it backs off while the sink or Tripletex fail, and sets aside
an event nothing can store so the others are applied (no real sleeps: the clock is injected)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio
import msgspec
import pytest

from tripletex_async import RESOURCES, RetryPolicy, SystemClock, TripletexClient
from tripletex_async.sinks import Batch, MemorySink, SinkError
from tripletex_async.testing import FakeConfig, FakeTransport, FakeTripletex, Faults
from tripletex_async.webhooks import EventQueue
from tripletex_async.webhooks._worker import POLL_EVERY

from .conftest import MakeReceiver, asgi_client, deliver, signed, specs, subscribe

pytestmark = pytest.mark.anyio

CUSTOMER = RESOURCES["customer"].fields()
URL = "https://receiver.example/tripletex"
#: A delivery of a subscription the receiver may not know: refused either way.
LATE = b'{"subscriptionId": 1, "event": "customer.update", "id": 1, "value": null}'


class _Sleeps(SystemClock):
    """An injected clock whose sleep records backoff delays, waits for nothing, can run a
    hook; the idle worker's next look at the queue never comes due."""

    def __init__(self, hook: object = None) -> None:
        self.delays: list[float] = []
        self.hook = hook

    async def sleep(self, delay: float) -> None:
        if delay == POLL_EVERY:
            await anyio.sleep_forever()
        self.delays.append(delay)
        if callable(self.hook):
            self.hook()
        await anyio.lowlevel.checkpoint()


class _FlakySink(MemorySink):
    """Fails its first ``failures`` writes, and any write holding a record ``poison``."""

    def __init__(self, failures: int = 0, poison: int | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.poison = poison

    async def write(self, batches: Sequence[Batch]) -> None:
        if self.failures:
            self.failures -= 1
            raise SinkError("database restarting")
        if any(row[0] == self.poison for b in batches for row in b.rows):
            raise RuntimeError("a bug meets a record")
        await super().write(batches)


async def _updated(fake: FakeTripletex, company: int, count: int) -> list[int]:
    ids = [r["id"] for r in fake.records(company, "customer")[:count]]
    for id_ in ids:
        fake.update(company, "customer", id_, {"name": f"Endret {id_}"})
    return ids


async def test_sink_failures_are_retried_with_backoff(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """A sink that fails twice: the worker waits 0.5 s, then 1 s, then applies."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    (target,) = await _updated(fake, company, 1)
    sink, sleeps = _FlakySink(failures=2), _Sleeps()
    async with make_receiver(sink=sink, clock=sleeps) as receiver:
        await deliver(fake, receiver)
        await receiver.join()
    assert sleeps.delays == [0.5, 1.0]
    assert (company, target) in sink.tables["customer"]


async def test_an_event_that_breaks_the_sink_is_set_aside(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """One record failing unexpectedly is found one event at a time and marked dead; the
    rest of its batch is applied."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    ids = await _updated(fake, company, 3)
    sink = _FlakySink(poison=ids[1])
    first = make_receiver(sink=sink)
    await deliver(fake, first)  # all three queued before the worker starts: one batch
    async with make_receiver(sink=sink) as receiver:
        await receiver.join()
        dead = await receiver.queue.dead()
    assert [e.object_id for e in dead] == [ids[1]]
    assert {i for (_, i) in sink.tables["customer"]} == {ids[0], ids[2]}


async def test_an_invalid_value_is_dead_and_the_rest_applied(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """A payload the model cannot decode is given up on, without holding back others."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    (target,) = await _updated(fake, company, 1)
    good = fake.webhooks.pending.popleft()
    payload = msgspec.json.decode(good.body)
    bad = msgspec.json.encode({**payload, "id": 1, "value": {"id": 1, "name": 5}})
    sink = MemorySink()
    async with make_receiver(sink=sink) as receiver, asgi_client(receiver) as http:
        await http.post(good.target_url, content=bad, headers=signed(bad, key="bad-1"))
        await http.post(good.target_url, content=good.body, headers=good.headers)
        await receiver.join()
        dead = await receiver.queue.dead()
    assert [e.object_id for e in dead] == [1]
    assert set(sink.tables["customer"]) == {(company, target)}


async def test_an_event_that_breaks_the_sink_keeps_why(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """The event the worker sets aside keeps the error's type and message as its reason."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    (target,) = await _updated(fake, company, 1)
    sink = _FlakySink(poison=target)
    async with make_receiver(sink=sink) as receiver:
        await deliver(fake, receiver)
        await receiver.join()
        (dead,) = await receiver.queue.dead()
    assert dead.dead_reason == "RuntimeError: a bug meets a record"


async def test_an_invalid_value_keeps_the_validation_error_not_the_value(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """A payload the model cannot decode dies with the decoder's complaint, which names
    the field, never its value."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    await _updated(fake, company, 1)
    payload = msgspec.json.decode(fake.webhooks.pending.popleft().body)
    bad = msgspec.json.encode({**payload, "id": 1, "value": {"id": 1, "name": 59713}})
    async with make_receiver(sink=MemorySink()) as receiver, asgi_client(receiver) as http:
        await http.post(URL, content=bad, headers=signed(bad, key="bad-1"))
        await receiver.join()
        (dead,) = await receiver.queue.dead()
    assert dead.dead_reason is not None
    assert dead.dead_reason.startswith("ValidationError: ")
    assert "$.name" in dead.dead_reason
    assert "59713" not in dead.dead_reason


async def test_tripletex_unavailable_is_retried(
    make_receiver: MakeReceiver, fake: FakeTripletex, company: int, queue_path: Path
) -> None:
    """A fetch that meets 503s leaves the event queued; it is applied once Tripletex is back."""
    async with TripletexClient(
        consumer_token=fake.credentials.consumer_token,
        employee_token=fake.credentials.employee_token,
        base_url="http://tripletex.test/v2",
        transport=FakeTransport(fake),
        retry=RetryPolicy(attempts=1),
        environ={},
    ) as client:
        await subscribe(client, company, queue_path, specs("customer.update", fields="id"))
        (target,) = await _updated(fake, company, 1)
        healthy = fake.config
        fake.config = FakeConfig(faults=Faults(error_503=1.0))
        sleeps = _Sleeps(hook=lambda: setattr(fake, "config", healthy))
        sink = MemorySink()
        async with make_receiver(client=client, sink=sink, clock=sleeps) as receiver:
            await deliver(fake, receiver)
            await receiver.join()
    assert sleeps.delays == [0.5]
    assert (company, target) in sink.tables["customer"]


class _StuckOnce(MemorySink):
    """Its first write hangs until cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck = anyio.Event()
        self.hung = False

    async def write(self, batches: Sequence[Batch]) -> None:
        if not self.hung:
            self.hung = True
            self.stuck.set()
            await anyio.sleep_forever()
        await super().write(batches)


async def test_worker_cancelled_mid_write_loses_nothing(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """Stopping the worker while it writes leaves the event queued for the next one."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    (target,) = await _updated(fake, company, 1)
    sink = _StuckOnce()
    async with make_receiver(sink=sink) as receiver:
        await deliver(fake, receiver)
        await sink.stuck.wait()
    async with make_receiver(sink=sink) as again:
        assert again.queue.pending == 1
        await again.join()
    assert (company, target) in sink.tables["customer"]


class _BrokenSink(MemorySink):
    """Refuses every write with an unexpected error until ``fixed``."""

    def __init__(self) -> None:
        super().__init__()
        self.fixed = False

    async def write(self, batches: Sequence[Batch]) -> None:
        if not self.fixed:
            raise RuntimeError("a bad deployment")
        await super().write(batches)


async def test_many_events_failing_in_a_row_stop_the_acknowledgements(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """A sink that refuses everything: after 10 dead events the worker is failing, keeps
    the rest pending, /health is 503 and new deliveries are 503 (Tripletex retries);
    once the sink works again the kept events apply and deliveries are taken again (the
    dead ones leave it degraded)."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    for _ in range(3):  # 4 customers, 3 updates each: 12 deliveries
        await _updated(fake, company, 4)
    sink = _BrokenSink()
    backed_off = anyio.Event()
    clock = _Sleeps(hook=backed_off.set)  # the worker backs off once it is failing
    first = make_receiver(sink=sink)
    assert await deliver(fake, first) == 12
    async with make_receiver(sink=sink, clock=clock) as receiver:
        await backed_off.wait()
        async with asgi_client(receiver) as http:
            health = await http.get("https://receiver.example/health")
            late = await http.post(URL, content=LATE, headers=signed(LATE))
        assert (health.status_code, health.json()["status"]) == (503, "failing")
        assert late.status_code == 503
        assert len(await receiver.queue.dead()) == 10
        assert receiver.queue.pending == 2
        sink.fixed = True
        await receiver.join()
        async with asgi_client(receiver) as http:
            again = await http.get("https://receiver.example/health")
        assert len(await receiver.queue.dead()) == 10
    assert (again.status_code, again.json()["status"]) == (200, "degraded")
    assert sink.tables["customer"]


class _Polls(SystemClock):
    """A clock whose idle polls come due when the test says; `idle` is set each time the
    worker starts waiting for one."""

    def __init__(self) -> None:
        self.due = anyio.Event()
        self.idle = anyio.Event()

    async def sleep(self, delay: float) -> None:
        assert delay == POLL_EVERY
        self.idle.set()
        await self.due.wait()


async def test_events_requeued_by_another_process_are_applied_without_a_delivery(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """`webhooks dead requeue` beside a running receiver: its idle worker finds the
    events at its next look at the queue, with no delivery to wake it."""
    await subscribe(client, company, queue_path, specs("customer.update", fields=CUSTOMER))
    (target,) = await _updated(fake, company, 1)
    first = make_receiver(sink=_FlakySink(poison=target))
    await deliver(fake, first)
    async with first:
        await first.join()
    sink, clock = MemorySink(), _Polls()
    async with make_receiver(sink=sink, clock=clock) as receiver:
        await clock.idle.wait()
        async with EventQueue(queue_path) as other:  # the command line's connection
            (dead,) = await other.dead()
            assert await other.requeue([dead.seq]) == 1
        waited_on = clock.due
        clock.idle, clock.due = anyio.Event(), anyio.Event()
        waited_on.set()
        await clock.idle.wait()  # looked, applied, idle again
        assert await receiver.queue.dead() == []
        assert receiver.queue.pending == 0
    assert (company, target) in sink.tables["customer"]
