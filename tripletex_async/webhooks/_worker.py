"""The receiver's worker: drains the queue into the sink, batch by batch, in order.

It sleeps while the queue is empty, woken by each new delivery, and looks again every
``poll_every`` seconds all the same: events set pending by another process (``webhooks
dead requeue`` while the receiver runs) are applied within that, not only after the next
delivery. It backs off
while the sink, the queue file or Tripletex fail, and isolates an event that fails for
any other reason: the batch is retried one event at a time and the culprit is marked
dead, keeping why (`dead_reason`: ``webhooks dead list`` shows it), so one bad event
cannot block the others. The nightly reconcile repairs what a dead event missed.

Many events failing in a row is no bad event but a bad deployment (a sink that refuses
every row, a bug): after ``max_dead_in_a_row`` of them the worker stops giving events up,
says so at ERROR, keeps retrying the oldest with backoff, and is `failing` until one
applies; meanwhile the receiver answers new deliveries 503, so Tripletex keeps them
and retries later, instead of 200s for events that would all die.
"""

from __future__ import annotations

import anyio
import anyio.abc

from ..client._clock import Clock
from ..client._errors import ConfigurationError
from ..client._log import Log, Redactor
from ..sinks import SinkError
from ._apply import Applier, RetryLater
from ._queue import EventQueue, QueuedEvent, QueueError, dead_reason

__all__ = ["POLL_EVERY", "Worker"]

#: Seconds between looks at an idle queue (see the module's text).
POLL_EVERY = 10.0


class _Failing(Exception):
    """Applying fails event after event: the oldest is retried with backoff, not given up."""


#: Failures of the infrastructure: retried with backoff, never blamed on an event.
_INFRASTRUCTURE = (RetryLater, SinkError, QueueError, _Failing)


class Worker:
    """Applies queued events; one `run` at a time."""

    def __init__(
        self,
        queue: EventQueue,
        applier: Applier,
        *,
        batch_size: int,
        clock: Clock,
        log: Log,
        redactor: Redactor | None = None,
        backoff: tuple[float, float] = (0.5, 60.0),
        max_dead_in_a_row: int = 10,
        poll_every: float = POLL_EVERY,
    ) -> None:
        if batch_size < 1 or max_dead_in_a_row < 1:
            raise ConfigurationError("batch_size and max_dead_in_a_row must be at least 1")
        if not poll_every > 0:
            raise ConfigurationError("poll_every must be positive")
        self._queue = queue
        self._applier = applier
        self._batch_size = batch_size
        self._clock = clock
        self._log = log
        #: Scrubs the receiver's secrets from the reasons dead events keep.
        self._redactor = redactor or Redactor()
        self._backoff = backoff
        self._poll_every = poll_every
        self._running = False
        #: Events still to apply one at a time after a batch failed unexpectedly.
        self._hunting = 0
        self._wake = anyio.Event()
        self._progress = anyio.Event()
        self._max_dead = max_dead_in_a_row
        #: Events given up on since the last one applied.
        self._dead_in_a_row = 0

    @property
    def failing(self) -> bool:
        """Whether applying is failing event after event (see the module's text)."""
        return self._dead_in_a_row >= self._max_dead

    @property
    def running(self) -> bool:
        """Whether `run` is running."""
        return self._running

    def wake(self) -> None:
        """A delivery was queued: look at the queue again."""
        self._wake.set()

    async def join(self) -> None:
        """Wait until the queue has no pending event (the worker must be running)."""
        while self._queue.pending:
            await self._progress.wait()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Open the queue and the sink, report started, then work until cancelled."""
        if self._running:
            raise ConfigurationError("this receiver's worker is already running")
        self._running = True
        try:
            await self._queue.open()
            await self._applier.open()
            task_status.started()
            await self._loop()
        finally:
            self._running = False

    async def _loop(self) -> None:
        delay = 0.0
        while True:
            wake = self._wake
            try:
                events = await self._queue.take(1 if self._hunting else self._batch_size)
                if not events:
                    self._progressed()
                    await self._idle(wake)
                    if self._wake is wake:
                        self._wake = anyio.Event()
                    continue
                await self._apply(events)
                delay = 0.0
            except _INFRASTRUCTURE as exc:
                low, high = self._backoff
                delay = min(max(delay * 2, low), high)
                self._log.warning("webhook_apply_retry", error=exc, delay=delay)
                await self._clock.sleep(delay)
            self._progressed()

    async def _idle(self, wake: anyio.Event) -> None:
        """Until a delivery wakes the worker or ``poll_every`` has passed."""
        async with anyio.create_task_group() as tg:

            async def poll() -> None:
                await self._clock.sleep(self._poll_every)
                tg.cancel_scope.cancel()

            tg.start_soon(poll)
            await wake.wait()
            tg.cancel_scope.cancel()

    async def _apply(self, events: list[QueuedEvent]) -> None:
        """Apply a batch; after an unexpected failure, hunt for the culprit one by one."""
        try:
            await self._applier.apply(events)
        except _INFRASTRUCTURE:
            raise
        except Exception as exc:
            if len(events) > 1:
                self._log.warning("webhook_batch_failed", events=len(events), error=exc)
                self._hunting = len(events)
                return
            event = events[0]
            if self.failing:  # keep it: the fault is not this event's
                raise _Failing(exc) from exc
            self._dead_in_a_row += 1
            self._log.warning(
                "webhook_event_dead", seq=event.seq, event_name=event.event, error=exc
            )
            await self._queue.complete([], {event.seq: dead_reason(exc, self._redactor)})
            if self.failing:
                self._log.error(
                    "webhook_apply_failing",
                    dead_in_a_row=self._dead_in_a_row,
                    error=exc,
                    action="deliveries are answered 503 until an event applies again",
                )
            return
        if self._dead_in_a_row:
            if self.failing:
                self._log.warning("webhook_apply_recovered", dead_in_a_row=self._dead_in_a_row)
            self._dead_in_a_row = 0
        self._hunting = max(self._hunting - 1, 0)

    def _progressed(self) -> None:
        self._progress.set()
        self._progress = anyio.Event()
