"""`FaultInjector`: what `Faults` asks of the simulator: latency, server errors, dead
sessions, and answers dropped or cut short on the wire.

Every draw comes from one `random.Random` seeded by ``Faults.seed``, in request order,
so a seeded run meets the same faults at the same requests.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from ._auth import Session
from ._config import FakeConfig
from ._errors import ApiFailure, error_response
from ._http import FakeResponse, Fault
from ._stats import StatsRecorder

__all__ = ["FaultInjector"]


class FaultInjector:
    """Latency and faults as the app's config says; each fault counted in ``stats``.

    ``config`` is read per call: the app's can be swapped to turn faults on and off.
    """

    def __init__(
        self,
        config: Callable[[], FakeConfig],
        sleep: Callable[[float], Awaitable[None]],
        stats: StatsRecorder,
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._stats = stats
        self._random = random.Random(config().faults.seed)

    async def latency(self) -> None:
        """The fixed part of a request's latency, jitter included, before it is handled."""
        faults = self._config().faults
        delay = faults.latency + (faults.jitter * self._random.random() if faults.jitter else 0)
        if delay > 0:
            await self._sleep(delay)

    async def row_latency(self, rows: float) -> None:
        """The part of a request's latency that grows with the rows it answered."""
        # After the answer is known, since its size decides the cost; no sleep at all
        # when there is none, so a simulator without it keeps its timing exactly.
        delay = rows * self._config().faults.latency_per_row
        if delay > 0:
            await self._sleep(delay)

    def apply_to(self, route: str) -> bool:
        """Whether faults may meet a request to ``route``."""
        # Session calls are spared unless asked for, so a retry test is not also a test
        # of session handling.
        return self._config().faults.on_token_calls or not route.startswith("token/session/")

    def fail(self, session: Session, rid: str) -> FakeResponse | None:
        """A 500 or 503 instead of the answer, or a session killed (401); else None."""
        faults = self._config().faults
        if not faults.any:
            return None
        draw = self._random.random()
        for name, p in (("500", faults.error_500), ("503", faults.error_503)):
            if draw < p:
                self._stats.faults[name] += 1
                return _server_error(int(name), rid)
            draw -= p
        if draw < faults.session_death:
            self._stats.faults["session_death"] += 1
            session.alive = False
            raise ApiFailure(401, 3000, "Unauthorized", developer_message="Session expired.")
        return None

    def damage(self) -> Fault | None:
        """How the adapter is to spoil a successful answer on the wire, if at all."""
        faults = self._config().faults
        if not (faults.drop or faults.truncate):
            return None
        draw = self._random.random()
        if draw < faults.drop:
            self._stats.faults["drop"] += 1
            return Fault.DROP
        if draw < faults.drop + faults.truncate:
            self._stats.faults["truncate"] += 1
            return Fault.TRUNCATE
        return None


def _server_error(status: int, rid: str) -> FakeResponse:
    if status == 503:
        # Load balancers answer 503 with HTML, not Tripletex's JSON envelope.
        body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        return FakeResponse(503, body, [("content-type", "text/html")])
    return error_response(ApiFailure(500, 1000, "Internal error"), rid)
