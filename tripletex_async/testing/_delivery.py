"""Work the command-line simulator does on a timer while it serves.

``--deliver-webhooks`` sends the queued webhook deliveries every interval, so that a
subscription made with curl receives calls without any Python code awaiting
`Webhooks.deliver`. ``--mutate-every`` changes a customer every interval, so that there
is something to deliver without any other tool. Both run as tasks of one task group
inside the server's ``async with`` block and end when it ends; a failure of either is
logged (stdlib logging, logger ``tripletex_async.testing``) and never stops the server.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import anyio
import httpx

from ._app import FakeTripletex
from ._webhooks import Delivery, Webhooks

__all__ = ["Background", "deliver_batch", "mutate_once", "run_background"]

LOGGER = logging.getLogger("tripletex_async.testing")
#: Per delivery; a receiver that hangs must not hold the next batch up for long.
_DELIVERY_TIMEOUT = 5.0
_CLOSE_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class Background:
    """What the simulator does on its own while serving; None turns a part off."""

    deliver_every: float | None = None
    mutate_every: float | None = None
    #: Seeds the choice of company and customer and the new values, so runs repeat.
    seed: int = 1

    @property
    def active(self) -> bool:
        """True if there is any work to do."""
        return self.deliver_every is not None or self.mutate_every is not None


def _log_failure(delivery: Delivery, reason: str) -> None:
    LOGGER.warning(
        "webhook delivery failed: subscription %d, %s, attempt %d: %s",
        delivery.subscription_id,
        delivery.target_url,
        delivery.attempts,
        reason,
    )


async def deliver_batch(webhooks: Webhooks, http: httpx.AsyncClient) -> tuple[int, int]:
    """Send what is queued now; return (sent, failed). Raises only cancellation."""
    # `deliver` takes exactly the deliveries queued when it is called.
    batch = len(webhooks.pending)
    if not batch:
        return 0, 0
    try:
        sent = await webhooks.deliver(http, on_failure=_log_failure)
    except Exception:  # not cancellation, which is a BaseException on every backend
        LOGGER.warning("webhook delivery batch of %d broke off", batch, exc_info=True)
        return 0, batch
    LOGGER.info("webhook deliveries: %d sent, %d failed", sent, batch - sent)
    return sent, batch - sent


def mutate_once(app: FakeTripletex, rng: random.Random) -> tuple[int, int] | None:
    """Change the phone number of a random customer of a random company, which fires
    ``customer.update``; return (company id, customer id), or None if no company has one.

    Companies with an active ``customer.update`` subscription are preferred, so that the
    change reaches someone.
    """
    every = [*app.portfolio.company_ids(), *app.portfolio.standalone_ids()]
    companies = [c for c in every if app.records(c, "customer")]
    subscribed = app.webhooks.subscribed_companies("customer.update")
    companies = [c for c in companies if c in subscribed] or companies
    if not companies:
        return None
    company = rng.choice(companies)
    customer = int(rng.choice(app.records(company, "customer"))["id"])
    app.update(company, "customer", customer, {"phoneNumber": f"{rng.randrange(10**8):08d}"})
    return company, customer


async def _deliver_forever(webhooks: Webhooks, http: httpx.AsyncClient, every: float) -> None:
    while True:
        await deliver_batch(webhooks, http)
        await anyio.sleep(every)


async def _mutate_forever(app: FakeTripletex, every: float, rng: random.Random) -> None:
    while True:
        await anyio.sleep(every)
        try:
            changed = mutate_once(app, rng)
        except Exception:  # a write the simulator refuses is its bug, not a reason to stop
            LOGGER.warning("could not change a customer", exc_info=True)
            continue
        if changed is not None:
            LOGGER.info("changed customer %d of company %d", changed[1], changed[0])


async def run_background(app: FakeTripletex, work: Background) -> None:
    """Do ``work`` until cancelled (the caller's task group owns this task)."""
    # trust_env=False: an HTTP(S)_PROXY in the environment must not carry deliveries
    # meant for a loopback receiver off the machine.
    http = httpx.AsyncClient(timeout=_DELIVERY_TIMEOUT, trust_env=False)
    try:
        async with anyio.create_task_group() as tg:
            if work.deliver_every is not None:
                LOGGER.info("delivering webhooks every %s s", work.deliver_every)
                tg.start_soon(_deliver_forever, app.webhooks, http, work.deliver_every)
            if work.mutate_every is not None:
                LOGGER.info("changing a customer every %s s", work.mutate_every)
                rng = random.Random(work.seed)
                tg.start_soon(_mutate_forever, app, work.mutate_every, rng)
    finally:
        # Shielded with a timeout: this runs while being cancelled.
        with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
            await http.aclose()
