"""`WebhookReceiver`: a plain ASGI application that takes Tripletex's webhook calls.

A delivery is a POST to any path but ``/health`` and ``/metrics`` (``GET`` or ``HEAD``
there answers the monitoring), so the receiver can sit at any URL, mounted or not. Any
other request (a load balancer's ``GET /``, a scanner) is answered 405 and logged at
DEBUG only: it is not a delivery, so it is not counted as refused and cannot trip an
alert on refusals.

A delivery is answered fast: the receiver checks the auth header and/or HMAC signature
(401, counted as ``unauthorized`` or ``bad_signature``: see `_verify`), the payload
(400), the subscription (404 when not registered: no write, and Tripletex retries),
commits the delivery to the `EventQueue` (503 when full: Tripletex retries) and only
then says 200. A worker, running in a task group of its owner (the ASGI lifespan,
`WebhookReceiver.run`, or ``async with receiver``), drains the queue into the sink.
Nothing inside a request can stop the app: an unexpected error is a logged 500.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import anyio
import anyio.abc
import msgspec

from ..client._client import CompanyView, TripletexClient
from ..client._clock import Clock, SystemClock
from ..client._errors import ConfigurationError
from ..client._log import Log, Redactor
from ..engine._resources import Resource
from ..sinks import Sink
from ._apply import Applier
from ._asgi import Receive, Scope, Send, read_body, request_headers, respond
from ._events import known_resources, route
from ._health import OUTCOMES, STATUSES, DeliveryStats, HealthPolicy, health, metrics
from ._queue import EventQueue, Put
from ._verify import IDEMPOTENCY_KEY, WebhookAuth, claimed_subscription
from ._worker import Worker

__all__ = ["Receive", "Scope", "Send", "WebhookReceiver"]


_STATUS = {Put.QUEUED: 200, Put.DUPLICATE: 200}
#: The outcome (`OUTCOMES`) of a refused put.
_OUTCOME = {Put.UNKNOWN_SUBSCRIPTION: "unknown_subscription", Put.FULL: "queue_full"}
#: Paths (at the end of the request's) that answer monitoring, never deliveries.
_MONITORING = ("/health", "/metrics")


class _Payload(msgspec.Struct, rename="camel"):
    """``{"subscriptionId", "event", "id", "value"}`` (the API docs' "WebHook envelope")."""

    subscription_id: int
    event: str
    id: int
    value: msgspec.Raw = msgspec.Raw(b"null")


class _Reject(Exception):
    """A refused delivery: its outcome (`OUTCOMES`), the message answered, and the
    subscription it claims to come from when the body said (for the log)."""

    def __init__(self, outcome: str, error: str, subscription_id: int | None = None) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.status = OUTCOMES[outcome]
        self.subscription_id = subscription_id


_decode_payload = msgspec.json.Decoder(_Payload).decode


class WebhookReceiver:
    """Receives Tripletex webhooks into ``sink`` through a durable ``queue``.

    Serve it with any ASGI server (it speaks the ``lifespan`` protocol, which runs the
    worker), or mount it in Starlette or FastAPI and run the worker yourself with
    ``await task_group.start(receiver.run)`` or ``async with receiver: ...``.

    ``client`` fetches objects whose payload does not carry every field of the model,
    sharing its rate budget; it must be open while the worker runs. The company of a
    delivery comes from the queue's registry (`ensure_subscriptions` fills it): a
    delivery from a subscription not registered there writes nothing.

    ``GET /health`` stops saying ``ok`` when the oldest pending event has waited
    ``stalled_after`` seconds (``stalled``, 503) or the last ``refusing_after``
    deliveries were refused for their auth or signature (``refusing``, 200); see
    `_health`.
    """

    def __init__(
        self,
        *,
        client: TripletexClient | CompanyView,
        sink: Sink,
        queue: EventQueue,
        auth: WebhookAuth,
        resources: Iterable[str | Resource] | None = None,
        max_body: int = 1 << 20,
        batch_size: int = 200,
        fetch_concurrency: int = 8,
        clock: Clock | None = None,
        owns_sink: bool = False,
        stalled_after: float = 300.0,
        refusing_after: int = 5,
    ) -> None:
        if not isinstance(auth, WebhookAuth):
            raise ConfigurationError("auth must be a WebhookAuth")
        self.queue = queue
        self._auth = auth
        self._max_body = max_body
        self._policy = HealthPolicy(stalled_after=stalled_after, refusing_after=refusing_after)
        redactor = Redactor(auth.secrets())
        self._log = Log(redactor, component="webhooks")
        chosen = known_resources(resources)
        applier = Applier(
            client,
            sink,
            queue,
            chosen,
            log=self._log,
            redactor=redactor,
            fetch_concurrency=fetch_concurrency,
        )
        self._worker = Worker(
            queue,
            applier,
            batch_size=batch_size,
            clock=clock or SystemClock(),
            log=self._log,
            redactor=redactor,
        )
        self._sink = sink
        self._owns_sink = owns_sink
        self._group: anyio.abc.TaskGroup | None = None
        self._clock = clock or SystemClock()
        #: Deliveries by outcome since this receiver was made (``GET /health``, ``/metrics``).
        self.stats = DeliveryStats()

    def __repr__(self) -> str:
        return f"<WebhookReceiver queue={self.queue.path!r} auth={self._auth!r}>"

    # -- the worker ----------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Open the queue and the sink's tables, then apply queued events until cancelled;
        closes the queue (and a sink it owns) when it ends."""
        if self._worker.running:
            raise ConfigurationError("this receiver's worker is already running")
        try:
            await self._worker.run(task_status=task_status)
        finally:
            with anyio.move_on_after(10, shield=True):
                await self.queue.aclose()
                if self._owns_sink:
                    await self._sink.aclose()

    async def join(self) -> None:
        """Wait until every acknowledged event is applied (or given up on); needs a
        running worker."""
        await self._worker.join()

    async def __aenter__(self) -> Self:
        group = anyio.create_task_group()
        await group.__aenter__()
        try:
            await group.start(self.run)
        except BaseException as exc:
            await group.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group, self._group = self._group, None
        assert group is not None
        group.cancel_scope.cancel()
        return await group.__aexit__(exc_type, exc, tb)

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: ``http`` and ``lifespan`` scopes."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        phase = "startup"
        try:
            async with anyio.create_task_group() as group:
                await group.start(self.run)
                await send({"type": "lifespan.startup.complete"})
                phase = "shutdown"
                await receive()  # lifespan.shutdown
                group.cancel_scope.cancel()
        except Exception as exc:
            self._log.warning("webhook_worker_failed", phase=phase, error=exc)
            await send({"type": f"lifespan.{phase}.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope.get("method"), str(scope.get("path", "")).rstrip("/")
        monitoring = path.endswith(_MONITORING)
        if monitoring and method in ("GET", "HEAD"):
            await self._status(send, path.endswith("/metrics"))
            return
        if monitoring or method != "POST":
            # Not a delivery (a probe, a scanner, a browser): not counted, not a warning.
            self._log.debug(
                "webhook_not_a_delivery", method=method, path=path, client=_client(scope)
            )
            allow = b"GET, HEAD" if monitoring else b"POST"
            await respond(send, 405, b'{"error":"method not allowed"}', allow=allow)
            return
        try:
            status, body = await self._handle(scope, receive)
        except _Reject as exc:
            status, body = exc.status, {"error": str(exc)}
            self.stats.count(exc.outcome)
            # Refused: Tripletex retries, then disables the subscription; say why, loudly
            # (never the body or a secret).
            self._log.warning(
                "webhook_refused",
                reason=exc.outcome,
                status=status,
                path=path,
                client=_client(scope),
                subscription_id=exc.subscription_id,
            )
        except Exception as exc:
            self.stats.count("failed")
            self._log.warning("webhook_request_failed", error=exc)
            status, body = 500, {"error": "internal error"}
        if status == 0:
            return  # the client went away
        await respond(send, status, msgspec.json.encode(body))

    async def _status(self, send: Send, scrape: bool) -> None:
        """``GET /health`` (JSON) or ``GET /metrics`` (Prometheus text)."""
        status = await self.queue.status()
        now, failing, policy = self._clock.now(), self._worker.failing, self._policy
        if scrape:
            text = metrics(status, self.stats, now, failing=failing, policy=policy)
            await respond(send, 200, text, b"text/plain; version=0.0.4; charset=utf-8")
        else:
            body = health(status, self.stats, now, failing=failing, policy=policy)
            await respond(send, STATUSES[str(body["status"])], msgspec.json.encode(body))

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
        body = await self._body(receive)
        if body is None:
            return 0, {}
        headers = request_headers(scope)
        refusal = self._auth.refusal(headers, body)
        if refusal is not None:
            # Both are answered alike: the caller learns nothing from the difference.
            raise _Reject(refusal, "unauthorized", claimed_subscription(body))
        try:
            payload = _decode_payload(body)
        except msgspec.MsgspecError:
            raise _Reject("malformed", "malformed payload", claimed_subscription(body)) from None
        if route(payload.event) is None:
            self.stats.count("ignored")
            return 200, {"status": "ignored"}
        key = headers.get(IDEMPOTENCY_KEY, b"").decode("latin-1").strip()
        return await self._enqueue(payload, key or "sha256:" + hashlib.sha256(body).hexdigest())

    async def _enqueue(self, payload: _Payload, key: str) -> tuple[int, dict[str, str]]:
        """Commit the delivery; answer only once it is durable (or refused)."""
        if self._worker.failing:  # see _worker: Tripletex keeps it and retries later
            raise _Reject(
                "apply_failing", "applying deliveries is failing", payload.subscription_id
            )
        value = bytes(payload.value)
        put = await self.queue.put(
            key,
            payload.subscription_id,
            payload.event,
            payload.id,
            None if value == b"null" else value,
        )
        if put is Put.QUEUED:
            self._worker.wake()
        if put in (Put.QUEUED, Put.DUPLICATE):
            self.stats.count(put.value)
            return _STATUS[put], {"status": put.value}
        raise _Reject(_OUTCOME[put], put.value, payload.subscription_id)

    async def _body(self, receive: Receive) -> bytes | None:
        body = await read_body(receive, self._max_body)
        if body is not None and len(body) > self._max_body:
            raise _Reject("too_large", "payload too large")
        return body


def _client(scope: Scope) -> str | None:
    """``host:port`` of the peer (the proxy's, behind one), when the server says."""
    client = scope.get("client")
    return None if not client else f"{client[0]}:{client[1]}"
