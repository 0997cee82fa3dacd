"""The argument parser of ``tripletex-async``: commands, flags, and their checks.

Flags shared by several commands are in `._flags`, the value parsers in `._values`, the
``webhooks`` command in `._webhooks_args`. Defaults that depend on the day (the date range) are
computed when the parser is built, so ``--help`` shows the exact dates a run would use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeAlias

from .. import __version__
from ..engine._resources import RESOURCES, Resource
from ._flags import add_connection, add_output, add_progress, add_scope
from ._values import DEFAULT_SINK, bounded, deadline, resources, scale, seconds, wait
from ._webhooks_args import add_webhooks
from ._workers_args import add_workers

# ``deadline`` is re-exported: callers (and tests) know it as the ``--deadline`` parser.
__all__ = ["SyncRequest", "build_parser", "deadline", "parse_args"]


def build_parser(today: date) -> argparse.ArgumentParser:
    """The whole parser; ``today`` (in Oslo) sets the default date range."""
    return _build(today)[0]


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line like every other error of the command line
    (no usage block before it); ``--help`` still shows everything."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


# A string: the class is generic only to type checkers.
Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _build(today: date) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its commands' parsers (for errors found after parsing)."""
    parser = _Parser(
        prog="tripletex-async",
        description="Sync Tripletex accounting data into SQLite, PostgreSQL or JSONL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    built = {
        "sync": _add_sync(commands, today),
        "companies": _add_companies(commands),
        "plan": _add_plan(commands, today),
        "demo": _add_demo(commands),
        "webhooks": add_webhooks(commands),
        "workers": add_workers(commands),
        "describe": _add_describe(commands),
        "resources": _add_resources(commands),
    }
    commands.add_parser(
        "fake-server",
        add_help=False,
        help="run the simulated Tripletex on loopback (see fake-server --help)",
    )
    return parser, built


def _add_sync(commands: Subparsers, today: date) -> argparse.ArgumentParser:
    sync = commands.add_parser(
        "sync",
        help="sync companies' resources into a sink (incremental on reruns)",
        description="Sync into a sink. Rerunning is incremental; an interrupted run "
        "continues where it stopped.",
    )
    add_connection(sync)
    add_scope(sync, today)
    group = sync.add_argument_group("where to store")
    group.add_argument(
        "--sink",
        default=DEFAULT_SINK,
        metavar="URL",
        help=f"sqlite:///path.db, postgresql://..., jsonl:///dir (default: {DEFAULT_SINK})",
    )
    group.add_argument(
        "--lease-ttl",
        type=seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long this run's lease on its companies in the sink survives without renewal: "
        "another run takes over a frozen one after that (default: 60)",
    )
    mode = group.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="ignore saved state, scan everything")
    mode.add_argument(
        "--reconcile",
        action="store_true",
        help="the nightly run beside webhooks: checksum-first incremental sync that catches "
        "versions deliveries skipped (never a full scan)",
    )
    group.add_argument(
        "--wait",
        type=wait,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run syncing the same companies into the sink to "
        "finish (default: 0, exit 2 at once naming that run)",
    )
    group.add_argument(
        "--max-requests",
        type=bounded(1, 10**9),
        default=None,
        metavar="N",
        help="stop after N data requests, most recent windows first; the next run "
        "continues (default: no bound)",
    )
    group.add_argument(
        "--deadline",
        type=deadline,
        default=None,
        metavar="HH:MM",
        help="send no request after this time (the next HH:MM on this machine's clock, or "
        "an ISO date and time); like --max-requests, what is left waits for the next run",
    )
    add_progress(sync)
    add_output(sync)
    return sync


def _add_companies(commands: Subparsers) -> argparse.ArgumentParser:
    listing = commands.add_parser("companies", help="list the companies a token reaches")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    add_connection(listing)
    add_output(listing)
    return listing


def _add_plan(commands: Subparsers, today: date) -> argparse.ArgumentParser:
    plan = commands.add_parser(
        "plan",
        help="dry run: count records and estimate requests and time",
        description="Fetch the first page of every query a sync would start with, count "
        "what is there, and estimate requests and time from the rate limit.",
    )
    plan.add_argument("--json", action="store_true", help="JSON instead of a table")
    add_connection(plan)
    add_scope(plan, today)
    add_output(plan)
    return plan


def _add_describe(commands: Subparsers) -> argparse.ArgumentParser:
    describe = commands.add_parser(
        "describe",
        help="the data dictionary: tables, columns, SQL types and what they hold",
        description="Print the table of each resource as the SQL sinks create it: its "
        "columns, their types in PostgreSQL and SQLite, and what each holds (Tripletex's "
        "description where its spec has one). Needs no token.",
    )
    describe.add_argument(
        "resources",
        nargs="*",
        type=resources,
        metavar="RESOURCE",
        help="API paths (ledger/posting), groups or default, comma-separated or not "
        "(default: all 124 resources)",
    )
    describe.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="a table per resource on the terminal, or one Markdown document (text)",
    )
    add_output(describe)
    return describe


def _add_resources(commands: Subparsers) -> argparse.ArgumentParser:
    from ._resources_cmd import add_arguments

    resources = commands.add_parser(
        "resources",
        help="every Tripletex list endpoint: group, kind, default or not, and why not",
        description="List every GET list endpoint of Tripletex's spec with its group, its "
        "kind (plain, dated, child, snapshot) and whether a run takes it without "
        "--resources (the default set); --excluded lists the ones never synced, with the "
        "reason. Needs no token.",
    )
    add_arguments(resources)
    add_output(resources)
    return resources


def _add_demo(commands: Subparsers) -> argparse.ArgumentParser:
    demo = commands.add_parser(
        "demo",
        help="sync a simulated accounting office into SQLite (no account needed)",
        description="Start the simulator in-process and sync its generated portfolio with "
        "the real engine. Run it twice to see an incremental rerun.",
    )
    group = demo.add_argument_group("the simulated office")
    group.add_argument(
        "--companies", type=bounded(1, 200), default=3, metavar="N",
        help="client companies of the simulated office (default: 3)",
    )  # fmt: skip
    group.add_argument(
        "--db", type=Path, default=Path("tripletex-demo.db"), metavar="PATH",
        help="the SQLite file (default: tripletex-demo.db)",
    )  # fmt: skip
    group.add_argument(
        "--scale", type=scale, default=0.5, help="multiplies record counts (default: 0.5)"
    )
    group.add_argument("--seed", type=int, default=1, help="the portfolio's seed (default: 1)")
    group.add_argument(
        "--latency-ms", type=bounded(0, 10_000), default=20, metavar="MS",
        help="simulated latency per request (default: 20)",
    )  # fmt: skip
    add_progress(demo)
    add_output(demo)
    return demo


def parse_args(argv: Sequence[str], today: date) -> argparse.Namespace:
    """Parse and check ``argv``; argparse's `SystemExit` (2, or 0 for --help) on error."""
    parser, commands = _build(today)
    if not argv:  # nothing asked yet: show what can be asked
        parser.print_usage(sys.stderr)
    args = parser.parse_args(argv)
    parser = commands.get(args.command, parser)
    date_from: date | None = getattr(args, "date_from", None)
    date_to: date | None = getattr(args, "date_to", None)
    if date_from is not None and date_to is not None and date_to <= date_from:
        parser.error(f"--date-to ({date_to}) must be after --date-from ({date_from})")
    report: Path | None = getattr(args, "report_json", None)
    problem = None if report is None else _unwritable(report)
    if problem is not None:
        parser.error(f"--report-json: {problem}")
    left_out = set(getattr(args, "exclude_resources", ()))
    if left_out:
        args.resources = tuple(r for r in args.resources if r not in left_out)
        if not args.resources:
            parser.error("--exclude-resources leaves no resources to sync")
    for name, _ in getattr(args, "fields", ()):
        if name not in args.resources:
            parser.error(f"--fields {name}=...: {name} is not among the resources synced")
    return args


def _unwritable(path: Path) -> str | None:
    """Why a report could not be written to ``path`` (checked before any request, and
    creating nothing), or None."""
    directory = path.parent
    if not directory.is_dir():
        return f"no such directory: {directory}"
    if path.is_dir():
        return f"is a directory: {path}"
    if path.exists():
        return None if os.access(path, os.W_OK) else f"file not writable: {path}"
    return None if os.access(directory, os.W_OK | os.X_OK) else f"not writable: {directory}"


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
    #: Records per request; None: chosen per query (`SyncOptions.page_size`).
    page_size: int | None = None
    #: Seconds the run's lease survives without renewal (`SyncOptions.lease_ttl`).
    lease_ttl: float = 60.0
    #: Seconds to wait for another run's lease on these companies (`SyncOptions.lease_wait`).
    lease_wait: float = 0.0
    #: Data requests this run may make (`SyncOptions.max_requests`); None: no bound.
    max_requests: int | None = None
    #: No request after this (`SyncOptions.deadline`); None: no bound.
    deadline: datetime | None = None
    #: Resource -> the fields to sync of it (``--fields``), Tripletex's syntax.
    fields: Mapping[str, str] = field(default_factory=dict)

    def chosen(self) -> list[Resource]:
        """The resources to sync, each narrowed to its ``--fields`` if any."""
        out = []
        for name in self.resources:
            resource = RESOURCES[name]
            out.append(resource.with_fields(self.fields[name]) if name in self.fields else resource)
        return out

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
            lease_ttl=getattr(args, "lease_ttl", 60.0),
            lease_wait=getattr(args, "wait", 0.0),
            max_requests=getattr(args, "max_requests", None),
            deadline=getattr(args, "deadline", None),
            fields=dict(getattr(args, "fields", ())),
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
            "max_requests": self.max_requests,
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "fields": dict(self.fields),
        }
