"""``tripletex-async webhooks subscribe|status|dead``: operating a receiver's
subscriptions and queue from the command line.

Nothing here shows a secret: subscriptions are shown by id, event, status and their
target's scheme, host and port (`shown_url`); dead events by seq, company, event, object
id, when they came and why they died (a reason the worker scrubbed of secrets), never
their values. Secrets come from the same environment variables as ``serve`` (see
`_webhooks_cmd`), and go to the log scrubber first.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio

from ..client._client import TripletexClient
from ..client._errors import AuthenticationError, ConfigurationError, TripletexError
from ..engine._targets import Wanted, resolve_targets
from ..webhooks import (
    EnsureReport,
    EventQueue,
    Subscription,
    Subscriptions,
    ensure_subscriptions,
    subscription_specs,
)
from ..webhooks._queue import QueueStatus
from ..webhooks._subscriptions import shown_url
from ..webhooks._worker import POLL_EVERY
from ._connect import open_client, resolve
from ._report_table import console_for, simple_table
from ._run import EXIT_FAILED, EXIT_OK, Context, describe
from ._webhooks_auth import auth_from

__all__ = ["run"]

_T = TypeVar("_T")
#: Companies worked on at once (each is a few requests).
WORKERS = 8
_COUNTS = ("created", "updated", "unchanged", "reenabled", "disabled")


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """``webhooks subscribe``, ``status``, ``dead list``, ``dead requeue`` and ``dead
    drop``."""
    if args.webhooks_command == "subscribe":
        return await subscribe(args, ctx)
    if args.webhooks_command == "status":
        return await status(args, ctx)
    if args.dead_command == "list":
        return await dead_list(args, ctx)
    if args.dead_command == "drop":
        return await dead_drop(args, ctx)
    return await dead_requeue(args, ctx)


# -- subscribe ---------------------------------------------------------------------------


async def subscribe(args: argparse.Namespace, ctx: Context) -> int:
    """Create or update every company's subscriptions; exit 1 when a company failed."""
    auth = auth_from(args, ctx.environ)
    parts = urlsplit(args.url)
    for secret in [*auth.secrets(), parts.password or "", parts.username or ""]:
        ctx.logs.scrubber.add(secret)
    specs = subscription_specs(args.url, auth, resources=args.resources)
    endpoint = resolve(args, ctx.environ, ctx.logs.scrubber, ctx.err)
    async with open_client(endpoint, ctx.logs.scrubber) as client, EventQueue(args.queue) as queue:
        names = await _targets(client, args)

        async def ensure(company: int) -> EnsureReport:
            view = client.company(company)
            return await ensure_subscriptions(view, specs, registry=queue, reenable=args.reenable)

        outcomes = await _each_company(names, ensure)
    failed = [c for c, o in outcomes.items() if isinstance(o, TripletexError)]
    disabled = sum(len(o.disabled) for o in outcomes.values() if isinstance(o, EnsureReport))
    if args.json:
        rows = [_subscribe_row(c, names[c], o, ctx) for c, o in outcomes.items()]
        document = {"url": shown_url(args.url), "queue": str(args.queue), "companies": rows}
        print(json.dumps(document, indent=2, ensure_ascii=False), file=ctx.out)
    else:
        _print_subscribed(args, names, outcomes, ctx)
    if disabled:
        print(
            f"warning: {disabled} subscription(s) disabled by Tripletex were left so; "
            "`tripletex-async webhooks subscribe --reenable` sets them active again",
            file=ctx.err,
        )
    if failed:
        print(f"error: {len(failed)} company(ies) failed (see the table)", file=ctx.err)
    return EXIT_FAILED if failed else EXIT_OK


def _subscribe_row(
    company: int, name: str, outcome: EnsureReport | TripletexError, ctx: Context
) -> dict[str, Any]:
    if isinstance(outcome, TripletexError):
        error = ctx.logs.scrubber.text(describe(outcome))
        return {"company_id": company, "name": name, "error": error}
    return {**outcome.to_dict(), "name": name}


def _print_subscribed(
    args: argparse.Namespace,
    names: dict[int, str],
    outcomes: dict[int, EnsureReport | TripletexError],
    ctx: Context,
) -> None:
    rows: list[list[object]] = []
    for company, outcome in outcomes.items():
        if isinstance(outcome, TripletexError):
            error = ctx.logs.scrubber.text(describe(outcome))
            rows.append([str(company), names[company], *[""] * len(_COUNTS), error])
        else:
            counts = [len(getattr(outcome, name)) for name in _COUNTS]
            rows.append([str(company), names[company], *counts, ""])
    title = f"subscriptions to {shown_url(args.url)} (registered in {args.queue})"
    columns = ["company", "name", "created", "updated", "unchanged", "re-enabled", "disabled"]
    console_for(ctx.out).print(simple_table(title, [*columns, "error"], rows))


# -- status ------------------------------------------------------------------------------


async def status(args: argparse.Namespace, ctx: Context) -> int:
    """Every company's subscriptions and the queue's backlog; exit 1 only when a
    company's subscriptions could not be listed."""
    endpoint = resolve(args, ctx.environ, ctx.logs.scrubber, ctx.err)
    async with open_client(endpoint, ctx.logs.scrubber) as client:
        names = await _targets(client, args)

        async def listed(company: int) -> list[Subscription]:
            return await Subscriptions(client.company(company)).list_all()

        outcomes = await _each_company(names, listed)
    queue = await _queue_state(args.queue, names)
    now = datetime.now(UTC)
    document = _status_document(args.queue, names, outcomes, queue, now, ctx)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False), file=ctx.out)
    else:
        _print_status(document, ctx)
    disabled = sum(
        s["status"] != "ACTIVE" for c in document["companies"] for s in c.get("subscriptions", ())
    )
    if disabled:
        print(
            f"warning: {disabled} subscription(s) disabled; `tripletex-async webhooks "
            "subscribe --reenable` sets them active again",
            file=ctx.err,
        )
    return EXIT_FAILED if any("error" in c for c in document["companies"]) else EXIT_OK


async def _queue_state(path: Path, companies: Iterable[int]) -> tuple[QueueStatus, set[int]] | None:
    """The queue's status and every subscription it knows of these companies; None
    when there is no queue file (status creates none)."""
    if not await anyio.Path(path).exists():
        return None
    async with EventQueue(path) as queue:
        known: set[int] = set()
        for company in companies:
            known |= set(await queue.registrations(company))
        return await queue.status(), known


def _status_document(
    path: Path,
    names: dict[int, str],
    outcomes: dict[int, list[Subscription] | TripletexError],
    queue: tuple[QueueStatus, set[int]] | None,
    now: datetime,
    ctx: Context,
) -> dict[str, Any]:
    known = set() if queue is None else queue[1]
    companies: list[dict[str, Any]] = []
    for company, outcome in outcomes.items():
        entry: dict[str, Any] = {"company_id": company, "name": names[company]}
        if isinstance(outcome, TripletexError):
            entry["error"] = ctx.logs.scrubber.text(describe(outcome))
        else:
            entry["subscriptions"] = [
                {
                    "id": s.id,
                    "event": s.event,
                    "status": s.status,
                    "target": shown_url(s.target_url),
                    "registered": s.id in known,
                }
                for s in sorted(outcome, key=lambda s: (s.event, s.id))
            ]
        companies.append(entry)
    return {"companies": companies, "queue": _queue_document(path, queue, now)}


def _queue_document(
    path: Path, queue: tuple[QueueStatus, set[int]] | None, now: datetime
) -> dict[str, Any]:
    if queue is None:
        return {"path": str(path), "exists": False}
    state = queue[0]
    oldest = state.oldest_pending
    return {
        "path": str(path),
        "exists": True,
        "pending": state.pending,
        "oldest_pending": None if oldest is None else oldest.isoformat(),
        # The same number as /health's apply_lag_seconds: 0.0 when nothing is pending.
        "lag_seconds": state.apply_lag(now),
        "dead": state.dead,
    }


def _print_status(document: dict[str, Any], ctx: Context) -> None:
    rows: list[list[object]] = []
    for company in document["companies"]:
        head = [str(company["company_id"]), company["name"]]
        if "error" in company:
            rows.append([*head, "", "", "", "", "", company["error"]])
        for sub in company.get("subscriptions", ()):
            registered = "yes" if sub["registered"] else "no"
            rows.append([*head, str(sub["id"]), sub["event"], sub["status"], sub["target"]])
            rows[-1] += [registered, ""]
    columns = ["company", "name", "id", "event", "status", "target", "in queue", "error"]
    console_for(ctx.out).print(simple_table("webhook subscriptions", columns, rows))
    print(_queue_line(document["queue"]), file=ctx.out)


def _queue_line(queue: dict[str, Any]) -> str:
    if not queue["exists"]:
        return f"queue {queue['path']}: no such file (the receiver creates it; see --queue)"
    lag = queue["lag_seconds"]
    oldest = "" if queue["oldest_pending"] is None else f", the oldest received {lag:,.0f} s ago"
    return (
        f"queue {queue['path']}: {queue['pending']:,} pending{oldest}; {queue['dead']:,} dead"
        + (" (tripletex-async webhooks dead list)" if queue["dead"] else "")
    )


# -- dead --------------------------------------------------------------------------------


async def dead_list(args: argparse.Namespace, ctx: Context) -> int:
    """Dead events: seq, company, event, object id, attempts, when received, why dead."""
    async with _existing(args.queue) as queue:
        events = await queue.dead()
        received = await queue.received_at(e.seq for e in events)
    rows = [
        {
            "seq": e.seq,
            "company_id": e.company_id,
            "event": e.event,
            "object_id": e.object_id,
            "attempts": e.attempts,
            "received_at": received[e.seq].isoformat() if e.seq in received else None,
            "reason": e.dead_reason,
        }
        for e in events
    ]
    if args.json:
        document = {"queue": str(args.queue), "dead": rows}
        print(json.dumps(document, indent=2, ensure_ascii=False), file=ctx.out)
        return EXIT_OK
    if not rows:
        print(f"no dead events in {args.queue}", file=ctx.out)
        return EXIT_OK
    columns = ["seq", "company", "event", "object id", "attempts", "received at", "reason"]
    cells = [[str(r["seq"]), str(r["company_id"]), r["event"], str(r["object_id"]),
              r["attempts"], r["received_at"] or "", r["reason"] or ""]
             for r in rows]  # fmt: skip
    title = (
        f"dead events in {args.queue} (tripletex-async webhooks dead requeue, or dead drop "
        "for those that can never apply)"
    )
    console_for(ctx.out).print(simple_table(title, columns, cells))
    return EXIT_OK


async def dead_requeue(args: argparse.Namespace, ctx: Context) -> int:
    """Set dead events pending again; exit 1 when some asked for were not dead."""
    async with _existing(args.queue) as queue:
        wanted = await _chosen(queue, args)
        count = await queue.requeue(wanted)
    applies = (
        f"; a running receiver applies them within {POLL_EVERY:.0f} seconds, a starting one at once"
    )
    print(f"requeued {count} dead event(s) in {args.queue}{applies if count else ''}", file=ctx.out)
    return _missed(len(wanted) - count, ctx)


async def dead_drop(args: argparse.Namespace, ctx: Context) -> int:
    """Remove dead events for good; exit 1 when some asked for were not dead."""
    async with _existing(args.queue) as queue:
        wanted = await _chosen(queue, args)
        count = await queue.drop(wanted)
    print(f"dropped {count} dead event(s) from {args.queue}", file=ctx.out)
    return _missed(len(wanted) - count, ctx)


async def _chosen(queue: EventQueue, args: argparse.Namespace) -> list[int]:
    """The seqs ``--all`` or ``--seq`` asked for (``--seq`` de-duplicated, in order)."""
    return [e.seq for e in await queue.dead()] if args.all else list(dict.fromkeys(args.seq))


def _missed(missed: int, ctx: Context) -> int:
    """The exit code when ``missed`` of the events asked for were not dead (said so)."""
    if missed:
        print(f"error: {missed} of the events asked for are not dead (see dead list)", file=ctx.err)
    return EXIT_FAILED if missed else EXIT_OK


@asynccontextmanager
async def _existing(path: Path) -> AsyncIterator[EventQueue]:
    """The queue at ``path``, which must exist (a typo must not create a new one)."""
    if not await anyio.Path(path).is_file():
        raise ConfigurationError(f"no webhook queue at {path} (see --queue)")
    async with EventQueue(path) as queue:
        yield queue


# -- companies ---------------------------------------------------------------------------


async def _targets(client: TripletexClient, args: argparse.Namespace) -> dict[int, str]:
    """Company id -> name, checked against what the token reaches as a sync checks them."""
    wanted: Wanted = "all" if args.all_companies else args.company
    who = await client.who_am_i()
    return await resolve_targets(client.company(0), wanted, who.owner_company())


async def _each_company(
    companies: Iterable[int], work: Callable[[int], Awaitable[_T]]
) -> dict[int, _T | TripletexError]:
    """``work`` for every company, ``WORKERS`` at a time; a company's error is its
    outcome (a refused token is everyone's, and raised)."""
    ids = list(companies)
    out: dict[int, _T | TripletexError] = {}
    limiter = anyio.CapacityLimiter(WORKERS)

    async def one(company: int) -> None:
        async with limiter:
            try:
                out[company] = await work(company)
            except AuthenticationError:
                raise
            except TripletexError as exc:
                out[company] = exc

    async with anyio.create_task_group() as tg:
        for company in ids:
            tg.start_soon(one, company)
    return {company: out[company] for company in ids}
