"""The argument parser of ``tripletex-async``: commands, flags, and their checks.

Flags shared by several commands are added by one function each, so ``sync -v`` and
``plan -v`` mean the same. Defaults that depend on the day (the date range) are computed when the
parser is built, so ``--help`` shows the exact dates a run would use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeAlias

from .. import __version__
from ..client._errors import ConfigurationError
from ..engine._resources import DEFAULT_RESOURCES, RESOURCES, Resource, resource_name
from ..engine._sync import MAX_PAGE, default_date_range
from ._logging import LEVELS

__all__ = ["SyncRequest", "build_parser", "parse_args"]

DEFAULT_SINK = "sqlite:///tripletex.db"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _resources(text: str) -> tuple[str, ...]:
    """Names, groups or ``all``, comma-separated (see `_registry.select`)."""
    from ..engine._resources import select

    names = [n for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("no resources given")
    try:
        return select(names)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fields(text: str) -> tuple[str, str]:
    """``RESOURCE=a,b,c(d)``: a synced resource and the fields to sync of it."""
    from ..engine._resources import select

    name, sep, selection = text.partition("=")
    if not sep or not selection.strip():
        raise argparse.ArgumentTypeError(
            f"expected RESOURCE=FIELDS, such as customer=id,name: {text!r}"
        )
    try:
        chosen = select([name])
        if len(chosen) != 1 or resource_name(name) != chosen[0]:
            raise ConfigurationError(f"{name.strip()!r} is not one resource")
        RESOURCES[chosen[0]].with_fields(selection.strip())
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return chosen[0], selection.strip()


def _companies(text: str) -> list[int]:
    """``ID[,ID...]``; 0 is the token owner's own company (Tripletex's Basic username 0)."""
    ids = [part.strip() for part in text.split(",")]
    bad = [part for part in ids if not part.isdigit()]
    if bad or not ids:
        raise argparse.ArgumentTypeError(
            f"a company id is a whole number (0: the token's own company): {text!r}"
        )
    return [int(part) for part in ids]


def deadline(text: str, now: datetime | None = None, zone: tzinfo | None = None) -> datetime:
    """``HH:MM``: the next such time on this machine's clock (today, or tomorrow once it
    passed), as a cron schedule reads it; or an ISO date and time (this machine's zone
    unless it says another). Local times follow the zone's rules on the day itself
    (``zone``, else the machine's), so a deadline across a DST change is not an hour off."""
    now = now or datetime.now().astimezone()
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(part) for part in text.split(":"))
            clock = time(hour, minute)
            at = _local(now.date(), clock, zone)
            return at if at > now else _local(now.date() + timedelta(days=1), clock, zone)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HH:MM or an ISO date and time: {text!r}"
        ) from None
    return at if at.utcoffset() is not None else _local(at.date(), at.time(), zone)


def _local(day: date, clock: time, zone: tzinfo | None) -> datetime:
    """``day`` at ``clock`` in ``zone`` (the machine's zone, by its own rules, if None)."""
    if zone is None:
        return datetime.combine(day, clock).astimezone()
    return datetime.combine(day, clock, tzinfo=zone)


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number {low}..{high}: {text!r}")
        return int(text)

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0: {text!r}")
    return value


def _wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0: {text!r}")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 10:
        raise argparse.ArgumentTypeError(f"expected a scale between 0 and 10: {text!r}")
    return value


def _add_output(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("-v", "--verbose", action="count", default=0, help="-v logs INFO, -vv DEBUG")
    group.add_argument("--log-level", choices=list(LEVELS), help="overrides -v")
    group.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="log lines on stderr: pretty on a terminal, JSON lines otherwise (auto)",
    )
    group.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def _add_connection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection",
        "tokens come from TRIPLETEX_CONSUMER_TOKEN and TRIPLETEX_EMPLOYEE_TOKEN; "
        "without --env/--base-url, from TRIPLETEX_ENV/TRIPLETEX_BASE_URL (default: test)",
    )
    where = group.add_mutually_exclusive_group()
    where.add_argument("--env", choices=("test", "prod"), help="Tripletex's test or production")
    where.add_argument(
        "--base-url", metavar="URL", help="an API root including /v2 (a proxy, the simulator)"
    )
    for who in ("consumer", "employee"):
        group.add_argument(
            f"--{who}-token",
            metavar="TOKEN",
            help=f"discouraged: ends up in shell history (use TRIPLETEX_{who.upper()}_TOKEN)",
        )


def _add_scope(parser: argparse.ArgumentParser, today: date) -> None:
    group = parser.add_argument_group("what to sync")
    which = group.add_mutually_exclusive_group()
    which.add_argument(
        "--all-companies",
        action="store_true",
        help="every client company an accountant's token reaches",
    )
    which.add_argument(
        "--company",
        type=_companies,
        action="extend",
        metavar="ID[,ID...]",
        help="company ids (comma-separated, repeatable); 0 is the token owner's own company, "
        "the default (an accountant's token needs --company or --all-companies)",
    )
    group.add_argument(
        "--resources",
        type=_resources,
        default=DEFAULT_RESOURCES,
        metavar="A,B,...",
        help="comma-separated API paths, groups (invoicing, ledger, group:project, ...: "
        f"tripletex-async resources), default or all (default: {', '.join(DEFAULT_RESOURCES)})",
    )
    group.add_argument(
        "--fields",
        type=_fields,
        action="append",
        default=[],
        metavar="RESOURCE=FIELDS",
        help="sync only these fields of a resource, in Tripletex's fields syntax "
        "(customer=id,name,email; order=id,orderDate,orderLines(description,count)); "
        "repeatable; id and the date a resource is windowed on are always added",
    )
    group.add_argument(
        "--exclude-resources",
        type=_resources,
        default=(),
        metavar="A,B,...",
        help="leave these out (API paths or groups, comma-separated)",
    )
    start, end = default_date_range(today)
    group.add_argument(
        "--date-from", type=_date, default=start, metavar="YYYY-MM-DD",
        help=f"first day of dated resources (default: {start}, 1 January last year)",
    )  # fmt: skip
    group.add_argument(
        "--date-to", type=_date, default=end, metavar="YYYY-MM-DD",
        help=f"day after the last, exclusive (default: {end}, 1 January next year)",
    )  # fmt: skip
    group.add_argument(
        "--page-size",
        type=_bounded(1, MAX_PAGE),
        default=None,
        metavar="N",
        help=f"records per request, 1..{MAX_PAGE} (default: chosen per query: {MAX_PAGE}"
        " where the rate budget binds, pages of 1000 in parallel where it does not)",
    )


def _add_progress(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("progress and report")
    group.add_argument(
        "--progress",
        choices=("auto", "live", "lines", "off"),
        default="auto",
        help="a live table on a terminal, log lines otherwise (auto)",
    )
    group.add_argument(
        "--progress-interval",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="seconds between progress lines (default: 5)",
    )
    group.add_argument(
        "--report-json", type=Path, metavar="FILE", help="write the full report as JSON"
    )


def build_parser(today: date) -> argparse.ArgumentParser:
    """The whole parser; ``today`` (in Oslo) sets the default date range."""
    return _build(today)[0]


# A string: the class is generic only to type checkers.
class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line like every other error of the command line
    (no usage block before it); ``--help`` still shows everything."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


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
        "webhooks": _add_webhooks(commands),
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
    _add_connection(sync)
    _add_scope(sync, today)
    group = sync.add_argument_group("where to store")
    group.add_argument(
        "--sink",
        default=DEFAULT_SINK,
        metavar="URL",
        help=f"sqlite:///path.db, postgresql://..., jsonl:///dir (default: {DEFAULT_SINK})",
    )
    group.add_argument(
        "--lease-ttl",
        type=_seconds,
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
        type=_wait,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run syncing the same companies into the sink to "
        "finish (default: 0, exit 2 at once naming that run)",
    )
    group.add_argument(
        "--max-requests",
        type=_bounded(1, 10**9),
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
    _add_progress(sync)
    _add_output(sync)
    return sync


def _add_companies(commands: Subparsers) -> argparse.ArgumentParser:
    listing = commands.add_parser("companies", help="list the companies a token reaches")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    _add_connection(listing)
    _add_output(listing)
    return listing


def _add_plan(commands: Subparsers, today: date) -> argparse.ArgumentParser:
    plan = commands.add_parser(
        "plan",
        help="dry run: count records and estimate requests and time",
        description="Fetch the first page of every query a sync would start with, count "
        "what is there, and estimate requests and time from the rate limit.",
    )
    plan.add_argument("--json", action="store_true", help="JSON instead of a table")
    _add_connection(plan)
    _add_scope(plan, today)
    _add_output(plan)
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
        type=_resources,
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
    _add_output(describe)
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
    _add_output(resources)
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
        "--companies", type=_bounded(1, 200), default=3, metavar="N",
        help="client companies of the simulated office (default: 3)",
    )  # fmt: skip
    group.add_argument(
        "--db", type=Path, default=Path("tripletex-demo.db"), metavar="PATH",
        help="the SQLite file (default: tripletex-demo.db)",
    )  # fmt: skip
    group.add_argument(
        "--scale", type=_scale, default=0.5, help="multiplies record counts (default: 0.5)"
    )
    group.add_argument("--seed", type=int, default=1, help="the portfolio's seed (default: 1)")
    group.add_argument(
        "--latency-ms", type=_bounded(0, 10_000), default=20, metavar="MS",
        help="simulated latency per request (default: 20)",
    )  # fmt: skip
    _add_progress(demo)
    _add_output(demo)
    return demo


def _add_webhooks(commands: Subparsers) -> argparse.ArgumentParser:
    webhooks = commands.add_parser("webhooks", help="receive Tripletex webhooks into a sink")
    actions = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the webhook receiver (needs the webhooks extra: uvicorn)",
        description="Verify, durably queue and apply Tripletex webhook deliveries. Secrets "
        "from TRIPLETEX_WEBHOOK_HMAC_SECRET and/or TRIPLETEX_WEBHOOK_AUTH_VALUE.",
    )
    _add_connection(serve)
    group = serve.add_argument_group("receiving")
    group.add_argument("--host", default="127.0.0.1", help="address to listen on")
    group.add_argument("--port", type=_bounded(0, 65535), default=8000, help="(default: 8000)")
    group.add_argument(
        "--queue", type=Path, default=Path("tripletex-webhooks.db"), metavar="PATH",
        help="durable queue file (default: tripletex-webhooks.db)",
    )  # fmt: skip
    group.add_argument("--auth-header", metavar="NAME", help="the subscriptions' authHeaderName")
    group.add_argument(
        "--sink", default=DEFAULT_SINK, metavar="URL", help=f"(default: {DEFAULT_SINK})"
    )
    _add_output(serve)
    return serve


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
