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
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import anyio

from .. import __version__
from ..client._client import TripletexClient
from ..engine._groups import sole_exception
from ..engine._report import SyncReport
from ..engine._sync import SyncOptions, sync
from ..sinks import Sink, open_sink
from ..sinks._common import SinkBase
from ._args import SyncRequest
from ._connect import CLOSE_SECONDS, closing, open_client, resolve, safe_url
from ._progress import ProgressMode, Tracker, show
from ._report_table import console_for, print_summary
from ._run import EXIT_FAILED, EXIT_OK, Context

__all__ = ["Display", "run", "run_sync"]


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
    # Only the URL is checked here. `sync` opens the sink once the tokens, the base URL
    # and the companies have proved right, so a run that cannot work creates nothing.
    sink = open_sink(args.sink)
    async with closing(sink), open_client(endpoint, ctx.logs.scrubber) as client:
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
    """Sync with progress, print the summary, write the report; the exit code too.

    Interrupted, it still writes the report, of what was done so far and marked
    ``interrupted``, before the cancellation goes on.
    """
    tracker = Tracker(client.statistics, anyio.current_time())
    out = None
    if display.report_json is not None:
        out = _ReportFile(display.report_json, request, about, datetime.now(UTC), client)
    try:
        report = await _sync_showing_progress(client, sink, request, display, ctx, tracker)
    except anyio.get_cancelled_exc_class():
        if out is not None:
            with anyio.move_on_after(CLOSE_SECONDS, shield=True):
                interrupted = _interrupted(tracker, anyio.current_time())
                await out.write(interrupted, ctx.interrupted_code(), ctx.err)
        raise
    code = EXIT_OK if report.ok else EXIT_FAILED
    where = sink.description if isinstance(sink, SinkBase) else None
    print_summary(report, client.statistics(), console_for(ctx.out), where=where)
    if report.failed_companies:
        _print_failed(report, ctx)
    if out is not None:
        await out.write({**report.to_dict(), "interrupted": False}, code, ctx.err)
    return code, report


async def _sync_showing_progress(
    client: TripletexClient,
    sink: Sink,
    request: SyncRequest,
    display: Display,
    ctx: Context,
    tracker: Tracker,
) -> SyncReport:
    progress = partial(show, tracker, display.mode, interval=display.interval, emit=ctx.logs.emit)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress)
            try:
                report = await sync(
                    client,
                    sink,
                    resources=request.chosen(),
                    companies=request.companies,
                    date_from=request.date_from,
                    date_to=request.date_to,
                    full=request.full,
                    options=SyncOptions(
                        page_size=request.page_size,
                        lease_ttl=request.lease_ttl,
                        lease_wait=request.lease_wait,
                        max_requests=request.max_requests,
                        deadline=request.deadline,
                    ),
                    on_progress=tracker.on_progress,
                )
            finally:
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
    return report


def _interrupted(tracker: Tracker, now: float) -> dict[str, Any]:
    """The report of a cancelled sync: the units seen so far (those the cancellation
    ended say ``interrupted``)."""
    document = SyncReport("", tracker.reports(), now - tracker.started).to_dict()
    document.update(connection=None, ok=False, interrupted=True)
    return document


@dataclass(frozen=True, slots=True)
class _ReportFile:
    """Where ``--report-json`` goes, and what it holds besides the sync's report."""

    path: Path
    request: SyncRequest
    about: Mapping[str, Any]
    started_at: datetime
    client: TripletexClient

    async def write(self, report: dict[str, Any], code: int, err: TextIO) -> None:
        """Write ``report`` with the exit code, times, request and statistics."""
        document = {
            **report,
            "exit_code": code,
            "started_at": self.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "request": {**self.request.describe(), **self.about},
            "statistics": dataclasses.asdict(self.client.statistics()),
            "version": __version__,
        }
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        try:
            await anyio.Path(self.path).write_text(text, encoding="utf-8")
        except OSError as exc:
            # It was writable when the run began; the exit code still says how it went.
            print(f"error: could not write the report: {exc}", file=err)


def _print_failed(report: SyncReport, ctx: Context) -> None:
    failed = report.failed_companies
    ids = ", ".join(str(c) for c in failed[:10]) + (", ..." if len(failed) > 10 else "")
    # What the failed companies' other resources fetched is committed too.
    others = "" if len(failed) == len(report.companies) else "; the others are committed"
    print(
        f"error: {len(failed)} of {_companies(len(report.companies))} failed ({ids}){others}; "
        "a rerun retries what failed",
        file=ctx.err,
    )


def _companies(count: int) -> str:
    return f"{count} {'company' if count == 1 else 'companies'}"
