"""An anyio service that keeps a PostgreSQL or SQLite copy of Tripletex fresh on a schedule
and exposes `statistics()`, as you would embed it next to a web app or a worker.

Each cycle is an incremental sync: unchanged windows cost one 304 each, changed ones
are fetched again, deletions are removed. Uses PostgreSQL when DATABASE_URL is set
(``postgresql://...``), else a SQLite file; and the in-process simulator when
TRIPLETEX_BASE_URL is not set, so it needs no account:

    python examples/embedded_service.py
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import anyio
import structlog

from tripletex_async import SyncReport, TripletexClient, sync
from tripletex_async.sinks import Sink, open_sink
from tripletex_async.testing import (
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    generate_portfolio,
)


@dataclass(frozen=True)
class Statistics:
    """What the service reports to a health endpoint or a metrics scrape."""

    cycles: int
    last_ok: bool | None
    last_records: int
    last_not_modified: int
    requests: int
    rate_limited: int


class FreshCopy:
    """Syncs ``resources`` of every client company into ``sink`` every ``interval`` s."""

    def __init__(
        self, client: TripletexClient, sink: Sink, resources: list[str], interval: float
    ) -> None:
        self._client, self._sink = client, sink
        self._resources, self._interval = resources, interval
        self._cycles = 0
        self._last: SyncReport | None = None

    def statistics(self) -> Statistics:
        last = self._last.total() if self._last else None
        conn = self._client.statistics()
        return Statistics(
            cycles=self._cycles,
            last_ok=self._last.ok if self._last else None,
            last_records=last.records if last else 0,
            last_not_modified=last.not_modified if last else 0,
            requests=conn.requests,
            rate_limited=conn.rate_limited,
        )

    async def run(self, cycles: int | None = None) -> None:
        """Sync, sleep, repeat (for ever, or ``cycles`` times)."""
        while cycles is None or self._cycles < cycles:
            self._last = await sync(
                self._client,
                self._sink,
                companies="all",
                resources=self._resources,
                date_from=date(2025, 1, 1),
                date_to=date(2026, 1, 1),
            )
            self._cycles += 1
            await anyio.sleep(self._interval)


async def main(workdir: Path) -> None:
    fake: FakeTripletex | None = None
    options: dict[str, object] = {}
    if not os.environ.get("TRIPLETEX_BASE_URL"):
        fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=4, scale=0.1)))
        options = {
            "consumer_token": fake.credentials.consumer_token,
            "employee_token": fake.credentials.employee_token,
            "base_url": "http://simulator/v2",
            "transport": FakeTransport(fake),
        }
    sink = open_sink(os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'copy.db'}")
    try:
        async with TripletexClient(**options) as client:  # type: ignore[arg-type]
            service = FreshCopy(client, sink, ["customer", "invoice", "ledger/posting"], 0.05)
            async with anyio.create_task_group() as tg:
                tg.start_soon(service.run, 3)
                for _ in range(3):
                    await anyio.sleep(0.04)
                    if fake is not None:  # someone edits a customer in Tripletex
                        ids = fake.portfolio.company_ids()
                        company = max(ids, key=lambda c: fake.portfolio.count(c, "customer"))
                        first = fake.records(company, "customer")[0]["id"]
                        fake.update(company, "customer", first, {"name": "Oppdatert AS"})
                    print(service.statistics())
    finally:
        await sink.aclose()


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(main, Path(tmp))
