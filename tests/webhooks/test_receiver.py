"""The ASGI app: who may write (401), what is a delivery (400), whose data it is (404),
back-pressure (503), and that nothing inside a request brings it down (500)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog

from tripletex_async import TripletexClient
from tripletex_async.sinks import ReadableSink, SinkError
from tripletex_async.testing import FakeTripletex
from tripletex_async.webhooks import (
    EventQueue,
    Registration,
    Secret,
    Subscriptions,
    WebhookAuth,
)
from tripletex_async.webhooks._verify import signature

from .conftest import (
    HEADER_VALUE,
    HMAC_SECRET,
    MakeReceiver,
    asgi_client,
    deliver,
    signed,
    specs,
    subscribe,
)

pytestmark = pytest.mark.anyio

URL = "https://receiver.example/tripletex"
BODY = b'{"subscriptionId": 901, "event": "customer.update", "id": 7, "value": {"id": 7}}'


async def _registered(queue_path: Path, company: int = 42) -> None:
    async with EventQueue(queue_path) as queue:
        await queue.register([Registration(901, company, "customer.update", "id,version")])


async def _post(receiver: Any, body: bytes, headers: dict[str, str]) -> Any:
    async with asgi_client(receiver) as http:
        return await http.post(URL, content=body, headers=headers)


async def test_valid_delivery_is_queued(make_receiver: MakeReceiver, queue_path: Path) -> None:
    """A signed delivery of a registered subscription is committed, then answered 200."""
    await _registered(queue_path)
    receiver = make_receiver()
    response = await _post(receiver, BODY, signed(BODY))
    assert (response.status_code, response.json()) == (200, {"status": "queued"})
    assert [e.object_id for e in await receiver.queue.take(10)] == [7]


async def test_bad_signature_is_401(make_receiver: MakeReceiver, queue_path: Path) -> None:
    """A body that does not match its x-request-signature is refused, not queued."""
    await _registered(queue_path)
    receiver = make_receiver()
    headers = signed(BODY)
    response = await _post(receiver, BODY.replace(b"7", b"8"), headers)
    assert (response.status_code, response.json()) == (401, {"error": "unauthorized"})
    assert receiver.queue.pending == 0


async def test_missing_signature_is_401(make_receiver: MakeReceiver, queue_path: Path) -> None:
    """Without x-request-signature a receiver with an HMAC secret refuses."""
    await _registered(queue_path)
    headers = signed(BODY)
    del headers["x-request-signature"]
    assert (await _post(make_receiver(), BODY, headers)).status_code == 401


async def test_bad_auth_header_is_401(make_receiver: MakeReceiver, queue_path: Path) -> None:
    """A correct signature with the wrong auth header value is refused."""
    await _registered(queue_path)
    headers = {**signed(BODY), "x-tripletex-auth": "not-the-value"}
    assert (await _post(make_receiver(), BODY, headers)).status_code == 401


async def test_auth_header_alone_suffices_when_configured_alone(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """A receiver with only an auth header needs no signature."""
    await _registered(queue_path)
    auth = WebhookAuth(header_name="x-tripletex-auth", header_value=Secret("only-header"))
    headers = {"x-tripletex-auth": "only-header"}
    assert (await _post(make_receiver(auth=auth), BODY, headers)).status_code == 200


async def test_malformed_json_is_400(make_receiver: MakeReceiver) -> None:
    """A signed body that is not JSON is a 400."""
    body = b'{"subscriptionId": 901, "event": '
    response = await _post(make_receiver(), body, signed(body))
    assert (response.status_code, response.json()) == (400, {"error": "malformed payload"})


async def test_payload_of_the_wrong_shape_is_400(make_receiver: MakeReceiver) -> None:
    """JSON without an integer id (or subscriptionId) is a 400."""
    body = b'{"subscriptionId": 901, "event": "customer.update", "id": "seven"}'
    assert (await _post(make_receiver(), body, signed(body))).status_code == 400


async def test_unknown_subscription_is_404_and_writes_nothing(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    sink: ReadableSink,
) -> None:
    """A subscription missing from the registry (its company unknown) is refused: no write,
    and Tripletex keeps the delivery to retry."""
    await Subscriptions(client.company(company)).create(specs("customer.update")[0])
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Ukjent AS"})
    async with make_receiver() as receiver:
        assert await deliver(fake, receiver) == 0
        await receiver.join()
        assert await sink.read("customer") == {}
    assert len(fake.webhooks.pending) == 1


async def test_event_other_than_registered_is_404(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """A subscription registered for one event cannot deliver another."""
    await _registered(queue_path)
    body = BODY.replace(b"customer.update", b"supplier.update")
    assert (await _post(make_receiver(), body, signed(body))).status_code == 404


async def test_other_methods_are_405(make_receiver: MakeReceiver) -> None:
    """Only POST is served."""
    async with asgi_client(make_receiver()) as http:
        response = await http.get(URL)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


async def test_requests_that_are_not_posts_are_not_refused_deliveries(
    make_receiver: MakeReceiver,
) -> None:
    """A load balancer's GET /, a scanner's GET /nope, a HEAD: 405, none counted."""
    receiver = make_receiver()
    async with asgi_client(receiver) as http:
        answers = [
            (await http.get("https://receiver.example/")).status_code,
            (await http.get("https://receiver.example/nope")).status_code,
            (await http.head(URL)).status_code,
        ]
    assert answers == [405, 405, 405]
    assert receiver.stats.refused() == 0


async def test_requests_that_are_not_posts_are_logged_at_debug_only(
    make_receiver: MakeReceiver,
) -> None:
    """Probes leave no WARNING behind (they would drown the refusals that matter)."""
    with structlog.testing.capture_logs() as events:
        async with asgi_client(make_receiver()) as http:
            await http.get("https://receiver.example/")
    assert [(e["event"], e["log_level"]) for e in events] == [("webhook_not_a_delivery", "debug")]


async def test_a_post_to_health_is_not_a_delivery(make_receiver: MakeReceiver) -> None:
    """/health answers GET and HEAD only: a POST there is 405 and not counted."""
    receiver = make_receiver()
    async with asgi_client(receiver) as http:
        response = await http.post("https://receiver.example/health", content=BODY)
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")
    assert receiver.stats.refused() == 0


async def test_a_wrong_auth_header_is_counted_as_unauthorized(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """A right signature with the wrong auth header: outcome "unauthorized"."""
    await _registered(queue_path)
    receiver = make_receiver()
    await _post(receiver, BODY, {**signed(BODY), "x-tripletex-auth": "not-the-value"})
    counted = {k: n for k, n in receiver.stats.snapshot().items() if n}
    assert counted == {"unauthorized": 1}


async def test_a_bad_signature_is_counted_as_bad_signature(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """The right auth header with a signature that does not verify: outcome
    "bad_signature", still answered 401 "unauthorized" (the caller learns no more)."""
    await _registered(queue_path)
    receiver = make_receiver()
    response = await _post(receiver, BODY.replace(b"7", b"8"), signed(BODY))
    assert (response.status_code, response.json()) == (401, {"error": "unauthorized"})
    counted = {k: n for k, n in receiver.stats.snapshot().items() if n}
    assert (counted, receiver.stats.refused()) == ({"bad_signature": 1}, 1)


async def test_a_refusal_names_the_client_and_the_claimed_subscription(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """The refusal WARNING says who called (scope["client"]) and which subscription the
    body claims, and shows no secret."""
    await _registered(queue_path)
    headers = {**signed(BODY), "x-tripletex-auth": "not-the-value"}
    with structlog.testing.capture_logs() as events:
        await _post(make_receiver(), BODY, headers)
    (refused,) = [e for e in events if e["event"] == "webhook_refused"]
    assert (refused["client"], refused["subscription_id"]) == ("127.0.0.1:123", 901)
    assert HMAC_SECRET not in repr(refused)
    assert HEADER_VALUE not in repr(refused)


def test_the_verifier_tells_a_missing_signature_from_a_bad_one() -> None:
    """No signature headers: "unauthorized"; a signature that does not verify:
    "bad_signature"; a genuine call: None."""
    secret, key = Secret("hmac-only-secret"), b"key-9"
    auth = WebhookAuth(hmac_secret=secret)
    good = {"idempotency-key": key, "x-request-signature": signature(secret, key, BODY)}
    assert auth.refusal({}, BODY) == "unauthorized"
    assert auth.refusal(good, BODY + b" ") == "bad_signature"
    assert auth.refusal(good, BODY) is None


async def test_oversized_body_is_413(make_receiver: MakeReceiver) -> None:
    """A body over max_body is refused before it is verified or parsed."""
    body = b"x" * 2048
    assert (await _post(make_receiver(max_body=1024), body, signed(body))).status_code == 413


async def test_full_queue_is_503_and_tripletex_retries(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
) -> None:
    """Beyond max_pending a delivery gets 503 with Retry-After; it stays with Tripletex."""
    await subscribe(client, company, queue_path, specs("customer.update"))
    for record in fake.records(company, "customer")[:2]:
        fake.update(company, "customer", record["id"], {"name": "Fullt AS"})
    receiver = make_receiver(queue=EventQueue(queue_path, max_pending=1))
    async with asgi_client(receiver) as http:
        waiting = fake.webhooks.pending[1]
        assert await fake.webhooks.deliver(http, limit=1) == 1
        response = await http.post(URL, content=waiting.body, headers=waiting.headers)
    assert (response.status_code, response.headers["retry-after"]) == (503, "30")
    assert receiver.queue.pending == 1


class _FailingOnce(EventQueue):
    """A queue whose first put breaks unexpectedly."""

    failed = False

    async def put(self, *args: Any, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise RuntimeError("disk on fire")
        return await super().put(*args, **kwargs)


async def test_internal_error_is_500_and_the_app_keeps_serving(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """An exception inside a request is a logged 500; the next request is served."""
    await _registered(queue_path)
    receiver = make_receiver(queue=_FailingOnce(queue_path))
    first = await _post(receiver, BODY, signed(BODY))
    second = await _post(receiver, BODY, signed(BODY))
    assert (first.status_code, first.json()) == (500, {"error": "internal error"})
    assert second.status_code == 200


async def test_lifespan_runs_the_worker(
    make_receiver: MakeReceiver,
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    queue_path: Path,
    sink: ReadableSink,
) -> None:
    """ASGI lifespan startup starts the worker (events get applied); shutdown stops it."""
    await subscribe(client, company, queue_path, specs("customer.update"))
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Livsløp AS"})
    receiver = make_receiver()
    to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_outbox, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    async with to_app, app_inbox, app_outbox, from_app, anyio.create_task_group() as tg:
        tg.start_soon(receiver, {"type": "lifespan"}, app_inbox.receive, app_outbox.send)
        await to_app.send({"type": "lifespan.startup"})
        assert (await from_app.receive())["type"] == "lifespan.startup.complete"
        await deliver(fake, receiver)
        await receiver.join()
        assert (company, target) in await sink.read("customer")
        await to_app.send({"type": "lifespan.shutdown"})
        assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"


class _BrokenSink:
    """A sink that cannot even open."""

    async def open(self, tables: Any) -> None:
        raise SinkError("database unreachable")

    async def aclose(self) -> None:
        pass


async def test_lifespan_reports_a_failed_startup(make_receiver: MakeReceiver) -> None:
    """A sink that cannot open makes startup fail, as the lifespan protocol says."""
    receiver = make_receiver(sink=_BrokenSink())
    to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_outbox, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    async with to_app, app_inbox, app_outbox, from_app:
        await to_app.send({"type": "lifespan.startup"})
        await receiver({"type": "lifespan"}, app_inbox.receive, app_outbox.send)
        assert (await from_app.receive())["type"] == "lifespan.startup.failed"


async def test_a_second_worker_is_refused(make_receiver: MakeReceiver) -> None:
    """One receiver runs one worker at a time."""
    async with make_receiver() as receiver:
        with pytest.raises(Exception, match="already running"):
            await receiver.run()


def test_receiver_needs_some_authentication() -> None:
    """A WebhookAuth with neither header nor HMAC secret cannot be made."""
    with pytest.raises(Exception, match="anyone could write"):
        WebhookAuth()
