"""``tripletex-async sync``: companies' resources into a sink, with progress and a summary.

`run_sync` is shared with ``demo``: one sync with its progress display, the summary on
stdout, the optional JSON report, and the exit code the report calls for.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio

from .. import __version__
from .._client import TripletexClient
from .._groups import sole_exception
from .._report import SyncReport
from .._resources import RESOURCES
from .._sync import SyncOptions, sync
from ..sinks import Sink, open_sink
from ._connect import closing, open_client, resolve, safe_url
from ._progress import ProgressMode, Tracker, show
from ._report_table import console_for, print_summary
from ._run import EXIT_FAILED, EXIT_OK, Context

__all__ = ["Display", "SyncRequest", "run", "run_sync"]

Companies = list[int] | Literal["all"] | None


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """What to sync: companies, resources, dates, and how."""

    companies: Companies
    resources: tuple[str, ...]
    date_from: date
    date_to: date
    full: bool = False
    #: The nightly run beside webhooks; the same incremental sync, labelled as such.
    reconcile: bool = False
    page_size: int = 1000

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SyncRequest:
        """From ``sync``'s (or ``plan``'s) flags."""
        companies: Companies = "all" if args.all_companies else args.company
        return cls(
            companies=companies,
            resources=tuple(args.resources),
            date_from=args.date_from,
            date_to=args.date_to,
            full=bool(getattr(args, "full", False)),
            reconcile=bool(getattr(args, "reconcile", False)),
            page_size=args.page_size,
        )

    def describe(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        companies = "own" if self.companies is None else self.companies
        return {
            "companies": companies,
            "resources": list(self.resources),
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "full": self.full,
            "reconcile": self.reconcile,
            "page_size": self.page_size,
        }


@dataclass(frozen=True, slots=True)
class Display:
    """How a sync shows itself: progress mode and interval, and where the report goes."""

    mode: ProgressMode = "auto"
    interval: float = 5.0
    report_json: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Display:
        """From the progress flags."""
        return cls(args.progress, args.progress_interval, args.report_json)


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``sync`` command."""
    endpoint = resolve(args, ctx.environ, ctx.logs.scrubber, ctx.err)
    request = SyncRequest.from_args(args)
    sink = open_sink(args.sink)
    async with closing(sink):
        # Opened here first so an unreachable sink fails before any request is made.
        await sink.open([RESOURCES[name].table() for name in request.resources])
        async with open_client(endpoint, ctx.logs.scrubber) as client:
            about = {"base_url": client.base_url, "sink": safe_url(args.sink)}
            code, _ = await run_sync(client, sink, request, Display.from_args(args), ctx, about)
    return code


async def run_sync(
    client: TripletexClient,
    sink: Sink,
    request: SyncRequest,
    display: Display,
    ctx: Context,
    about: Mapping[str, Any],
) -> tuple[int, SyncReport]:
    """Sync with progress, print the summary, write the report; the exit code too."""
    started_at = datetime.now(UTC)
    tracker = Tracker(client.statistics, anyio.current_time())
    progress = partial(show, tracker, display.mode, interval=display.interval, emit=ctx.logs.emit)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress)
            try:
                report = await sync(
                    client,
                    sink,
                    resources=request.resources,
                    companies=request.companies,
                    date_from=request.date_from,
                    date_to=request.date_to,
                    full=request.full,
                    options=SyncOptions(page_size=request.page_size),
                    on_progress=tracker.on_progress,
                )
            finally:
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
    code = EXIT_OK if report.ok else EXIT_FAILED
    print_summary(report, client.statistics(), console_for(ctx.out))
    if report.failed_companies:
        _print_failed(report, ctx)
    if display.report_json is not None:
        document = {
            **report.to_dict(),
            "exit_code": code,
            "started_at": started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "request": {**request.describe(), **about},
            "statistics": dataclasses.asdict(client.statistics()),
            "version": __version__,
        }
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        await anyio.Path(display.report_json).write_text(text, encoding="utf-8")
    return code, report


def _print_failed(report: SyncReport, ctx: Context) -> None:
    failed = report.failed_companies
    ids = ", ".join(str(c) for c in failed[:10]) + (", ..." if len(failed) > 10 else "")
    print(
        f"error: {len(failed)} of {len(report.companies)} companies failed ({ids}); the "
        "others are committed. A rerun retries what failed.",
        file=ctx.err,
    )
