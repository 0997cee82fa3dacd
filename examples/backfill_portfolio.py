"""Back-fill an accountant's whole portfolio from Python, choosing fields with a Struct.

Declaring a Struct is how you choose fields: the engine derives ``fields=`` from it, so
only what you declare is fetched, decoded and given a typed column (snake_case, of the
field's type: ``Decimal`` amounts exact, `DateText` / ``datetime.date`` dates). Runs
against the
in-process simulator when TRIPLETEX_BASE_URL is not set, so it needs no account:

    python examples/backfill_portfolio.py [path/to/backfill.db]
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import anyio
import msgspec
import structlog
from msgspec import UNSET, UnsetType

from tripletex_async import RESOURCES, DateText, Ref, SyncOptions, TripletexClient, sync
from tripletex_async.sinks import SQLiteSink
from tripletex_async.testing import (
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    generate_portfolio,
)


class Invoice(msgspec.Struct, kw_only=True, gc=False):
    """The eight invoice fields this report needs (Tripletex's names; amounts exact)."""

    id: int
    invoiceNumber: int | UnsetType | None = UNSET  # noqa: N815
    invoiceDate: DateText | UnsetType | None = UNSET  # noqa: N815
    invoiceDueDate: DateText | UnsetType | None = UNSET  # noqa: N815
    amount: Decimal | UnsetType | None = UNSET
    amountOutstanding: Decimal | UnsetType | None = UNSET  # noqa: N815
    currency: Ref | UnsetType | None = UNSET
    customer: Ref | UnsetType | None = UNSET


def client_options() -> dict[str, object]:
    """The simulator's tokens and transport, unless a real account is configured."""
    if os.environ.get("TRIPLETEX_BASE_URL"):
        return {}
    fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=6, scale=0.2)))
    return {
        "consumer_token": fake.credentials.consumer_token,
        "employee_token": fake.credentials.employee_token,
        "base_url": "http://simulator/v2",
        "transport": FakeTransport(fake),
    }


async def backfill(db: Path) -> None:
    """Sync invoices (narrow) and customers (every field) of every client company."""
    sink = SQLiteSink(db)
    resources = [RESOURCES["invoice"].with_model(Invoice), "customer"]
    try:
        async with TripletexClient(**client_options()) as client:  # type: ignore[arg-type]
            report = await sync(
                client,
                sink,
                companies="all",
                resources=resources,
                date_from=date(2025, 1, 1),
                date_to=date(2026, 1, 1),
                # Rows per request follow the rate budget; a nightly job would also
                # bound itself: SyncOptions(deadline=...) or max_requests=.
                options=SyncOptions(max_bytes_in_memory=16 * 1024 * 1024),
            )
    finally:
        await sink.aclose()
    total = report.total()
    print(
        f"{len(report.companies)} companies, {total.records} records, "
        f"{total.requests} requests in {report.seconds:.2f} s; failed: {report.failed_companies}"
    )
    # Column names need no quotes; SQLite sums money exactly in hundredths (``_minor``).
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT company_id, count(*), sum(amount_outstanding_minor) FROM invoice "
            "WHERE invoice_due_date < '2025-07-01' GROUP BY company_id ORDER BY 3 DESC LIMIT 3"
        ).fetchall()
    for company, invoices, minor in rows:
        outstanding = Decimal(minor or 0).scaleb(-2)  # hundredths to kroner, exactly
        print(f"company {company}: {invoices} invoices due by July, {outstanding} outstanding")


def main() -> None:
    # The library logs through structlog and never configures it: the application does.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if len(sys.argv) > 1:
        anyio.run(backfill, Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(backfill, Path(tmp) / "backfill.db")


if __name__ == "__main__":
    main()
