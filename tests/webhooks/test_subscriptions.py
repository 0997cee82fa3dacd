"""Subscriptions: the endpoints, `ensure_subscriptions` (idempotent, reports and re-enables
disabled ones), and secrets that never show."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import structlog

from tripletex_async import ConfigurationError, TripletexClient, ValidationError
from tripletex_async.testing import FakeTripletex
from tripletex_async.webhooks import (
    EventQueue,
    Secret,
    Subscription,
    Subscriptions,
    SubscriptionSpec,
    ensure_subscriptions,
    subscription_specs,
)

from .conftest import (
    AUTH,
    HEADER_VALUE,
    HMAC_SECRET,
    TARGET,
    MakeReceiver,
    asgi_client,
    deliver,
    specs,
)

pytestmark = pytest.mark.anyio

EVENTS = ("customer.create", "customer.update", "customer.delete")


async def test_event_types_come_from_get_event(client: TripletexClient) -> None:
    """GET /event lists event names with their payload models."""
    types = await Subscriptions(client).event_types()
    assert types["customer.update"].payload_model == "Customer"
    assert types["customer.delete"].payload_model is None


async def test_create_get_update_delete(client: TripletexClient, company: int) -> None:
    """One subscription through its whole life."""
    api = Subscriptions(client.company(company))
    created = await api.create(specs("customer.update", fields="id,version")[0])
    assert (await api.get(created.id)).fields == "id,version"
    changed = await api.update(created.id, {"fields": "id,name"})
    assert (changed.fields, changed.version) == ("id,name", created.version + 1)
    await api.delete(created.id)
    assert await api.list_all() == []


async def test_bulk_forms(client: TripletexClient, company: int) -> None:
    """/event/subscription/list creates, updates and deletes several at once."""
    api = Subscriptions(client.company(company))
    created = await api.create_many(specs(*EVENTS))
    updated = await api.update_many({s.id: {"fields": "id"} for s in created})
    assert {s.fields for s in updated} == {"id"}
    await api.delete_many(s.id for s in created)
    assert await api.list_all() == []


async def test_ensure_creates_what_is_missing(
    client: TripletexClient, company: int, tmp_path: Path
) -> None:
    """A first run creates every wanted subscription, active, with its fields."""
    async with EventQueue(tmp_path / "q.db") as queue:
        view = client.company(company)
        report = await ensure_subscriptions(view, specs(*EVENTS, fields="id"), registry=queue)
    assert sorted(s.event for s in report.created) == sorted(EVENTS)
    assert report.ok
    assert not report.updated
    assert not report.unchanged


async def test_ensure_without_a_registry_is_refused_before_anything_is_created(
    client: TripletexClient, fake: FakeTripletex, company: int
) -> None:
    """Subscriptions the receiver would not know (404 on every delivery, then disabled
    by Tripletex) cannot be made: without registry= nothing is created."""
    view = client.company(company)
    with pytest.raises(ConfigurationError, match="registry="):
        await ensure_subscriptions(view, specs("customer.update"), registry=None)  # type: ignore[arg-type]
    assert await Subscriptions(view).list_all() == []


async def test_ensure_twice_creates_nothing_new(
    client: TripletexClient, company: int, tmp_path: Path
) -> None:
    """A rerun (with a registry) finds everything in place and changes nothing."""
    view = client.company(company)
    async with EventQueue(tmp_path / "q.db") as queue:
        await ensure_subscriptions(view, specs(*EVENTS), registry=queue)
        again = await ensure_subscriptions(view, specs(*EVENTS), registry=queue)
    assert (again.created, again.updated) == ((), ())
    assert len(again.unchanged) == 3
    assert len(await Subscriptions(view).list_all()) == 3


async def test_ensure_updates_fields_that_differ(
    client: TripletexClient, company: int, tmp_path: Path
) -> None:
    """A matched subscription (same event and URL) with other fields is updated in place."""
    view = client.company(company)
    async with EventQueue(tmp_path / "q.db") as queue:
        first = await ensure_subscriptions(
            view, specs("customer.update", fields="id"), registry=queue
        )
        again = await ensure_subscriptions(
            view, specs("customer.update", fields="id,name"), registry=queue
        )
    assert [s.id for s in again.updated] == [first.created[0].id]
    assert (await Subscriptions(view).get(first.created[0].id)).fields == "id,name"


async def test_ensure_sends_rotated_secrets(
    client: TripletexClient, fake: FakeTripletex, company: int, tmp_path: Path
) -> None:
    """With a registry, a changed HMAC secret is detected (by fingerprint) and sent."""
    view = client.company(company)
    rotated = SubscriptionSpec("customer.update", TARGET, hmac_secret=Secret("new-secret-1"))
    async with EventQueue(tmp_path / "q.db") as queue:
        await ensure_subscriptions(view, specs("customer.update"), registry=queue)
        report = await ensure_subscriptions(view, [rotated], registry=queue)
    assert len(report.updated) == 1
    assert fake.webhooks.subscriptions()[0]["hmacSharedSecret"] == "new-secret-1"


async def test_ensure_registers_company_event_and_fields(
    client: TripletexClient, company: int, tmp_path: Path
) -> None:
    """The registry learns whose data each subscription delivers."""
    async with EventQueue(tmp_path / "q.db") as queue:
        report = await ensure_subscriptions(
            client.company(company), specs("customer.update", fields="id"), registry=queue
        )
        registered = await queue.registrations(company)
    sub = report.created[0]
    assert (registered[sub.id].company_id, registered[sub.id].event) == (
        company,
        "customer.update",
    )
    assert registered[sub.id].fields == "id"


async def test_ensure_on_the_token_s_own_company_asks_who_am_i(
    client: TripletexClient, fake: FakeTripletex, company: int, tmp_path: Path
) -> None:
    """A company's own token (company 0) is registered under the company's real id."""
    own = client.connect(employee_token=fake.company_credentials(company).employee_token)
    async with EventQueue(tmp_path / "q.db") as queue:
        report = await ensure_subscriptions(own, specs("customer.update"), registry=queue)
        registered = await queue.registrations(company)
    assert report.company_id == company
    assert list(registered) == [report.created[0].id]


async def _disable(
    fake: FakeTripletex, client: TripletexClient, company: int, sub: Subscription
) -> None:
    """Fail deliveries until the simulator gives up on the subscription."""
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Feiler AS"})
    failing = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(500)))
    async with failing:
        for _ in range(12):
            await fake.webhooks.deliver(failing)
    status = (await Subscriptions(client.company(company)).get(sub.id)).status
    assert status == "DISABLED_TOO_MANY_ERRORS"


async def test_ensure_reports_a_disabled_subscription(
    client: TripletexClient, fake: FakeTripletex, company: int, tmp_path: Path
) -> None:
    """A subscription Tripletex disabled after too many errors is reported, left alone."""
    view = client.company(company)
    async with EventQueue(tmp_path / "q.db") as queue:
        first = await ensure_subscriptions(view, specs("customer.update"), registry=queue)
        await _disable(fake, client, company, first.created[0])
        report = await ensure_subscriptions(view, specs("customer.update"), registry=queue)
    assert [s.status for s in report.disabled] == ["DISABLED_TOO_MANY_ERRORS"]
    assert not report.ok
    assert not report.reenabled


async def test_ensure_reenables_on_request(
    client: TripletexClient,
    fake: FakeTripletex,
    company: int,
    queue_path: Path,
    make_receiver: MakeReceiver,
) -> None:
    """reenable=True sets a disabled subscription ACTIVE; deliveries flow again."""
    view = client.company(company)
    async with EventQueue(queue_path) as queue:
        first = await ensure_subscriptions(view, specs("customer.update"), registry=queue)
        await _disable(fake, client, company, first.created[0])
        report = await ensure_subscriptions(
            view, specs("customer.update"), reenable=True, registry=queue
        )
    assert [s.status for s in report.reenabled] == ["ACTIVE"]
    fake.update(company, "customer", fake.records(company, "customer")[1]["id"], {"name": "X"})
    assert await deliver(fake, make_receiver()) == 1


async def test_subscription_specs_cover_each_resource(client: TripletexClient) -> None:
    """create/update ask for the resource's own fields; invoices use invoice.charged."""
    wanted = subscription_specs(TARGET, AUTH, resources=["customer", "invoice"])
    assert [s.event for s in wanted] == [*EVENTS, "invoice.charged"]
    assert wanted[1].fields.startswith("accountManager,")
    assert wanted[2].fields == "id"


async def test_secrets_never_reach_logs_reprs_or_errors(
    client: TripletexClient,
    fake: FakeTripletex,
    company: int,
    queue_path: Path,
    make_receiver: MakeReceiver,
) -> None:
    """Ensure, deliveries, refusals and failures: no secret in any log event or repr."""
    secret_url = "https://alice:url-pw-77@receiver.example/hook?token=url-token-88"
    wanted = [*specs(*EVENTS), SubscriptionSpec("customer.update", secret_url)]
    with structlog.testing.capture_logs() as events:
        async with EventQueue(queue_path) as queue:
            report = await ensure_subscriptions(client.company(company), wanted, registry=queue)
        fake.update(company, "customer", fake.records(company, "customer")[0]["id"], {})
        async with make_receiver() as receiver:
            await deliver(fake, receiver)
            await receiver.join()
        async with asgi_client(receiver) as http:
            await http.post(TARGET, content=b"{}", headers={"x-tripletex-auth": "wrong"})
        with pytest.raises(ValidationError) as refused:
            async with EventQueue(queue_path) as queue:
                await ensure_subscriptions(
                    client.company(company),
                    [SubscriptionSpec("no.such", TARGET, hmac_secret=Secret(HMAC_SECRET))],
                    registry=queue,
                )
    shown = repr(events) + repr(report) + repr(wanted) + repr(AUTH) + repr(receiver)
    shown += (
        str(refused.value)
        + repr(report.created)
        + repr(await Subscriptions(client.company(company)).list_all())
    )
    assert any(e["event"] == "subscription_created" for e in events)
    for secret in (HEADER_VALUE, HMAC_SECRET, "url-pw-77", "url-token-88"):
        assert secret not in shown
