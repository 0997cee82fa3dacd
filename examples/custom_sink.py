"""A user-written sink: every stored record goes to a callback (a queue, a search index,
an API), and the sync state goes to a JSON file so reruns stay incremental.

A sink implements four methods (`tripletex_async.Sink`): ``open``, ``load_state``,
``write`` and ``aclose``. ``write`` gets batches of rows plus the window state they
complete; it must apply them all or none (here: state is saved only after the callback
took every row). Runs against the in-process simulator, so it needs no account:

    python examples/custom_sink.py
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path

import anyio
import anyio.to_thread
import structlog

from tripletex_async import Sink, TripletexClient, sync
from tripletex_async.sinks import Batch, StateKey, Table, WindowState
from tripletex_async.testing import (
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    generate_portfolio,
)

Key = tuple[str, int, int]  # table, company, record id


class CallbackSink:
    """Hands upserts and deletions to ``emit``; keeps state and a row index in a file."""

    def __init__(self, path: Path, emit: Callable[[str, str, int, int, bytes | None], None]):
        self._path, self._emit = path, emit
        self._states: dict[StateKey, WindowState] = {}
        # What a window scan saw, so rows it did not see can be reported deleted.
        self._rows: dict[Key, tuple[str | None, str | None]] = {}

    async def open(self, tables: Sequence[Table]) -> None:
        if self._path.exists():
            saved = json.loads(self._path.read_text())
            for raw in saved["states"]:
                state = WindowState(**{**raw, "key": StateKey(**raw["key"])})
                self._states[state.key] = state
            self._rows = {tuple(k): tuple(v) for k, v in saved["rows"]}  # type: ignore[misc]

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        return [
            s
            for k, s in self._states.items()
            if (k.connection, k.company_id, k.resource) == (connection, company_id, resource)
        ]

    async def write(self, batches: Sequence[Batch]) -> None:
        for batch in batches:
            self._apply(batch)
        await anyio.to_thread.run_sync(self._save)

    def _apply(self, batch: Batch) -> None:
        table, company = batch.table.name, batch.company_id
        scan = batch.state.scan if batch.state else None
        for row in batch.rows:
            record_id, data, day = int(row[0]), bytes(row[1]), row[2]  # type: ignore[call-overload]
            self._rows[(table, company, record_id)] = (day if isinstance(day, str) else None, scan)
            self._emit("upsert", table, company, record_id, data)
        gone = set(batch.deleted_ids)
        if batch.state is not None and (batch.delete_unseen or batch.live_ids is not None):
            low, high = batch.state.key.window_from, batch.state.key.window_to
            for (t, c, i), (day, seen_by) in self._rows.items():
                in_window = t == table and c == company and (not low or low <= (day or "") < high)
                unseen = batch.delete_unseen and seen_by != scan
                dead = batch.live_ids is not None and i not in batch.live_ids
                if in_window and (unseen or dead):
                    gone.add(i)
        for record_id in gone:
            if self._rows.pop((table, company, record_id), None) is not None:
                self._emit("delete", table, company, record_id, None)
        for key in batch.superseded:
            self._states.pop(key, None)
        if batch.state is not None:
            self._states[batch.state.key] = batch.state

    def _save(self) -> None:
        data = {
            "states": [asdict(s) for s in self._states.values()],
            "rows": [[list(k), list(v)] for k, v in self._rows.items()],
        }
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self._path)  # atomic: a crash leaves the old state or the new one

    async def aclose(self) -> None:
        return None


async def run(state_file: Path) -> None:
    fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=3, scale=0.1)))
    counts: dict[str, int] = {}

    def emit(op: str, table: str, company: int, record_id: int, data: bytes | None) -> None:
        counts[op] = counts.get(op, 0) + 1

    sink = CallbackSink(state_file, emit)
    assert isinstance(sink, Sink)
    company = fake.portfolio.company_ids()[-1]
    async with TripletexClient(
        fake.credentials.consumer_token,
        fake.credentials.employee_token,
        base_url="http://simulator/v2",
        transport=FakeTransport(fake),
    ) as client:
        for round_ in (1, 2):
            counts.clear()
            report = await sync(
                client,
                sink,
                companies="all",
                resources=["customer", "invoice"],
                date_from=date(2025, 1, 1),
                date_to=date(2026, 1, 1),
            )
            total = report.total()
            print(f"run {round_}: {counts or 'nothing emitted'}; 304s: {total.not_modified}")
            fake.delete(company, "customer", fake.records(company, "customer")[0]["id"])


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(run, Path(tmp) / "state.json")


if __name__ == "__main__":
    main()
