"""``tripletex-async demo``: the real engine against the simulator, no account needed.

The simulator runs in-process (no socket) on a generated accounting office; the sync,
the SQLite sink, progress and summary are exactly what ``sync`` uses. The portfolio is a
pure function of its seed, so a second run on the same file meets the same data and shows
what an incremental rerun costs: one 304 per window.
"""

from __future__ import annotations

import argparse
import shlex
from datetime import date
from pathlib import Path

import anyio

from ..client._config import Credentials
from ..engine._report import SyncReport
from ..engine._resources import DEFAULT_RESOURCES
from ..sinks import SQLiteSink
from ..testing import (
    FakeConfig,
    FakeTransport,
    FakeTripletex,
    Faults,
    PortfolioConfig,
    RateLimit,
    generate_portfolio,
)
from ._args import SyncRequest
from ._connect import Endpoint, closing, open_client
from ._run import Context
from ._sync_cmd import Display, run_sync

__all__ = ["run"]

#: Never contacted: the transport answers in-process. A host that is neither Tripletex
#: environment, so the simulator's test tokens are accepted.
DEMO_URL = "http://simulator.invalid/v2"
#: A limit the engine learns and paces by, generous enough not to slow the demo down.
DEMO_RATE_LIMIT = RateLimit(limit=2000, period=10)


def _fake(args: argparse.Namespace) -> FakeTripletex:
    companies: int = args.companies
    portfolio = generate_portfolio(
        PortfolioConfig(
            seed=args.seed,
            companies=companies,
            scale=args.scale,
            # One client without data, as in any real office, when there are several.
            empty_companies=min(1, companies - 1),
            heavy_companies=0,
        )
    )
    faults = Faults(latency=args.latency_ms / 1000)
    return FakeTripletex(portfolio, FakeConfig(rate_limit=DEMO_RATE_LIMIT, faults=faults))


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``demo`` command."""
    fake = _fake(args)
    db: Path = args.db
    rerun = await anyio.Path(db).exists()
    tokens = fake.credentials
    for token in (tokens.consumer_token, tokens.employee_token):
        ctx.logs.scrubber.add(token)
    endpoint = Endpoint(DEMO_URL, Credentials(tokens.consumer_token, tokens.employee_token))
    year = fake.portfolio.config.year
    request = SyncRequest("all", DEFAULT_RESOURCES, date(year, 1, 1), date(year + 1, 1, 1))
    print(
        f"demo: syncing a simulated accounting office ({args.companies} client companies, "
        f"data of {year}) into {db}" + (" again" if rerun else ""),
        file=ctx.err,
    )
    about = {"base_url": "in-process simulator", "sink": f"sqlite:///{db}"}
    transport = FakeTransport(fake)
    async with (
        closing(SQLiteSink(db)) as sink,
        open_client(endpoint, ctx.logs.scrubber, transport=transport) as client,
    ):
        code, report = await run_sync(client, sink, request, Display.from_args(args), ctx, about)
    _explain(report, db, rerun, ctx)
    return code


def _explain(report: SyncReport, db: Path, rerun: bool, ctx: Context) -> None:
    total = report.total()
    path = shlex.quote(str(db))
    lines = [""]
    if rerun:
        lines.append(
            f"That was an incremental rerun: {total.unchanged} of {total.windows} windows "
            f"answered 304 (unchanged) and {total.records} records were fetched again."
        )
    lines += [
        f"The data is in {db}: one table per resource (ledger/posting is ledger_posting,",
        "order is orders, an order's lines are order_lines), snake_case typed columns plus",
        "each record as fetched, as JSON, in `data` (`tripletex-async describe` lists them;",
        "SQLite sums money exactly in hundredths, amount_minor). Look at it:",
        f'  sqlite3 {path} "SELECT company_id, count(*) FROM customer GROUP BY company_id"',
        f'  sqlite3 {path} "SELECT account_id, SUM(amount_minor) / 100.0 FROM ledger_posting'
        ' GROUP BY account_id LIMIT 5"',
    ]
    if not rerun:
        lines.append("Run the same command again to see an incremental rerun (304s).")
    print("\n".join(lines), file=ctx.out)
