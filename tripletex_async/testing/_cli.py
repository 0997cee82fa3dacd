"""Command line of the simulator: ``python -m tripletex_async.testing``.

It generates a portfolio, serves it on a loopback port and prints where, with the
simulator's tokens as shell exports, until SIGINT or SIGTERM (`TOKENS_HELP` says which
token is which). ``--tokens-file`` also writes every budget of the portfolio (the
accountants' tokens and each ``--standalone-companies`` company's) as JSON, before the
"listening on" line, for tests that hand budgets to workers on other processes; the
tokens go to that file only, never to a log line. ``--deliver-webhooks`` and
``--mutate-every`` add work on a timer while it serves (`_delivery`), logged to stderr.
``--summary`` prints the portfolio instead of serving it. ``build_parser``,
``add_arguments`` and ``run`` are public so the project's own CLI
(``tripletex-async fake-server``) reuses the same flags.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import anyio

from ._app import FakeTripletex
from ._config import FakeConfig, Faults, FullResultSize, RateLimit
from ._delivery import LOGGER, Background, run_background
from ._portfolio import Portfolio, PortfolioConfig, generate_portfolio
from ._server import loopback_host, serve

__all__ = [
    "TOKENS_HELP",
    "WEBHOOKS_HELP",
    "add_arguments",
    "background",
    "build_parser",
    "company_token_lines",
    "fake_config",
    "main",
    "portfolio_config",
    "print_summary",
    "run",
    "write_tokens_file",
]

_HOSTS = {"test": "api-test.tripletex.tech", "prod": "tripletex.no"}

#: What the printed tokens are; the help's epilog and the README say the same.
TOKENS_HELP = """\
printed tokens (one consumer token for both employee tokens):
  TRIPLETEX_EMPLOYEE_TOKEN          an accounting office's token: Basic username = a
                                    client company id from GET /company/>withLoginAccess;
                                    username 0 reaches only that list and >whoAmI
  TRIPLETEX_COMPANY_EMPLOYEE_TOKEN  a regular employee's token of the client company
                                    TRIPLETEX_COMPANY_ID: username 0 (or that id) works
--tokens-file PATH writes the accountant's pair (one per --accountants, each with its
share of the clients) and one per --standalone-companies company (reached by its own
token only) as a JSON list of {"label", "kind", "consumer_token", "employee_token",
"companies"}, before "listening on" is printed.
"""

#: How to see webhooks from the command line; the help's epilog and the README agree.
WEBHOOKS_HELP = """\
webhooks from the command line:
  Subscribe with POST /event/subscription (a company session; targetUrl may be
  http://127.0.0.1:PORT/... or http://localhost:PORT/...: plain HTTP only to loopback,
  where the real Tripletex demands HTTPS), change data with POST or PUT (SESSION from
  /token/session/:create with the company employee token), e.g.
    curl -u 0:$SESSION -X PUT -H 'content-type: application/json' \\
      -d '{"name": "Nytt navn AS"}' $TRIPLETEX_BASE_URL/customer/ID
  and --deliver-webhooks sends the signed calls every --delivery-interval seconds;
  --mutate-every changes a customer on its own (subscribed companies first).
"""


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1, not {text}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number >= 0: {text!r}")
    return int(text)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text}")
    return value


def _rate_limit(text: str) -> RateLimit:
    limit, sep, period = text.partition("/")
    try:
        return RateLimit(int(limit), float(period)) if sep else RateLimit(int(limit), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LIMIT/PERIOD_SECONDS like 100/10, with both > 0, not {text!r}"
        ) from None


def _host(text: str) -> str:
    try:
        return loopback_host(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags to ``parser``."""
    serving = parser.add_argument_group("serving")
    serving.add_argument("--host", type=_host, default="127.0.0.1", help="loopback address")
    serving.add_argument("--port", type=_port, default=8080, help="0 picks a free port")
    serving.add_argument("--env", choices=("test", "prod"), default="test")
    serving.add_argument(
        "--summary", action="store_true", help="print the portfolio and exit, do not serve"
    )
    serving.add_argument(
        "--tokens-file",
        type=Path,
        metavar="PATH",
        help="write every budget's tokens as JSON here before listening (see below)",
    )
    data = parser.add_argument_group("portfolio")
    data.add_argument("--seed", type=int, default=1)
    data.add_argument("--companies", type=_count, default=5, help="the accountant's clients")
    data.add_argument(
        "--standalone-companies",
        type=_count,
        default=0,
        metavar="N",
        help="companies reached only by their own employee token, not the accountant's",
    )
    data.add_argument(
        "--accountants",
        type=_count,
        default=1,
        metavar="N",
        help="accounting-office employee tokens (budgets), the clients split among them "
        "(default 1; the printed token is the first's)",
    )
    data.add_argument("--scale", type=_non_negative, default=1.0, help="multiplies record counts")
    data.add_argument("--year", type=int, default=2025)
    data.add_argument(
        "--records-per-company", type=_count, metavar="N", help="customers per company"
    )
    data.add_argument(
        "--empty-companies", type=_count, metavar="N", help="clients with no records (default 1)"
    )
    data.add_argument(
        "--heavy-companies",
        type=_count,
        metavar="N",
        help="clients with over 10,000 postings in --year (default 1)",
    )
    behaviour = parser.add_argument_group("behaviour and faults")
    behaviour.add_argument("--latency-ms", type=_non_negative, default=0.0)
    behaviour.add_argument(
        "--latency-per-row-us",
        type=_non_negative,
        default=0.0,
        metavar="US",
        help="more per row of a list response, times the share of fields asked for",
    )
    behaviour.add_argument("--jitter-ms", type=_non_negative, default=0.0)
    behaviour.add_argument(
        "--rate-limit", type=_rate_limit, metavar="LIMIT/SECONDS", help="e.g. 100/10"
    )
    behaviour.add_argument(
        "--rate-limit-reset-on-429",
        action="store_true",
        help="send X-Rate-Limit-Reset on 429s (real Tripletex does not, api2#103)",
    )
    for flag, what in (
        ("--fail-500", "a 500"),
        ("--fail-503", "a 503"),
        ("--drop", "a dropped connection"),
        ("--truncate", "a truncated body"),
        ("--session-death", "the session dying"),
    ):
        behaviour.add_argument(
            flag, type=_probability, default=0.0, metavar="P", help=f"chance of {what}"
        )
    behaviour.add_argument("--fault-seed", type=int, default=0, metavar="S")
    behaviour.add_argument(
        "--no-default-filters",
        dest="default_filters",
        action="store_false",
        help="list every row unless asked otherwise; Tripletex hides inactive customers and "
        "suppliers, contacts and closed projects by default",
    )
    behaviour.add_argument(
        "--full-result-size",
        choices=[f.value for f in FullResultSize],
        default=FullResultSize.INEXACT.value,
    )
    hooks = parser.add_argument_group("webhooks (logged to stderr)")
    hooks.add_argument(
        "--deliver-webhooks",
        action="store_true",
        help="send queued webhook deliveries on a timer while serving (signed, retried); "
        "targets are https, or plain http to 127.0.0.1, ::1 or localhost only",
    )
    hooks.add_argument(
        "--delivery-interval",
        type=_positive,
        default=1.0,
        metavar="SECONDS",
        help="how often --deliver-webhooks sends (default 1.0)",
    )
    hooks.add_argument(
        "--mutate-every",
        type=_positive,
        metavar="SECONDS",
        help="change a random customer's phone number this often (seeded by --seed), "
        "which fires customer.update",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m tripletex_async.testing``."""
    parser = argparse.ArgumentParser(
        prog="python -m tripletex_async.testing",
        description="Serve a simulated Tripletex API v2 on a loopback port.",
        epilog=f"{TOKENS_HELP}\n{WEBHOOKS_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return parser


def fake_config(args: argparse.Namespace) -> FakeConfig:
    """The simulator's behaviour, from parsed flags."""
    rate_limit: RateLimit | None = args.rate_limit
    if rate_limit is not None and args.rate_limit_reset_on_429:
        rate_limit = RateLimit(rate_limit.limit, rate_limit.period, reset_header_on_429=True)
    faults = Faults(
        seed=args.fault_seed,
        latency=args.latency_ms / 1000,
        jitter=args.jitter_ms / 1000,
        latency_per_row=args.latency_per_row_us / 1e6,
        error_500=args.fail_500,
        error_503=args.fail_503,
        drop=args.drop,
        truncate=args.truncate,
        session_death=args.session_death,
    )
    return FakeConfig(
        environment=args.env,
        host=_HOSTS[args.env],
        rate_limit=rate_limit,
        faults=faults,
        full_result_size=FullResultSize(args.full_result_size),
        default_filters=args.default_filters,
        accountants=args.accountants,
    )


def background(args: argparse.Namespace) -> Background:
    """What the server does on its own while serving, from parsed flags."""
    return Background(
        deliver_every=args.delivery_interval if args.deliver_webhooks else None,
        mutate_every=args.mutate_every,
        seed=args.seed,
    )


def portfolio_config(args: argparse.Namespace) -> PortfolioConfig:
    """The generated data, from parsed flags."""
    sizes = None if args.records_per_company is None else {"customer": args.records_per_company}
    # Unless told: one empty and one heavy client as the defaults have, as long as there
    # is room (``--companies 1`` gives one heavy client rather than a refusal).
    empty = args.empty_companies
    if empty is None:
        empty = max(min(1, args.companies - 1), 0)
    heavy = args.heavy_companies
    if heavy is None:
        heavy = min(1, max(args.companies - empty, 0))
    return PortfolioConfig(
        seed=args.seed,
        companies=args.companies,
        standalone=args.standalone_companies,
        empty_companies=empty,
        heavy_companies=heavy,
        year=args.year,
        scale=args.scale,
        sizes=sizes,
        host=_HOSTS[args.env],
    )


def print_summary(portfolio: Portfolio, out: TextIO) -> None:
    """A table: one row per company with its record counts per resource, then totals."""
    rows = portfolio.summary()
    resources: list[str] = []
    for _, _, counts in rows:
        resources.extend(r for r in counts if r not in resources)
    name_width = max([len("name"), *(len(name) for _, name, _ in rows)])
    widths = [max(len(r), 7) for r in resources]
    header = [f"{'id':>10}", f"{'name':<{name_width}}"]
    header += [f"{r:>{w}}" for r, w in zip(resources, widths, strict=True)]
    print("  ".join(header), file=out)
    totals = dict.fromkeys(resources, 0)
    for company_id, name, counts in rows:
        cells = [f"{company_id:>10}", f"{name:<{name_width}}"]
        for resource, width in zip(resources, widths, strict=True):
            totals[resource] += counts.get(resource, 0)
            cells.append(f"{counts.get(resource, 0):>{width}}")
        print("  ".join(cells), file=out)
    cells = [f"{'':>10}", f"{'total':<{name_width}}"]
    cells += [f"{totals[r]:>{w}}" for r, w in zip(resources, widths, strict=True)]
    print("  ".join(cells), file=out)


async def _serve_until_signal(
    app: FakeTripletex, host: str, port: int, out: TextIO, work: Background | None = None
) -> None:
    # The signal receiver is in place before "listening on" is printed, so a parent that
    # reads that line and at once sends SIGTERM still gets a clean exit.
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serve(app.handle, host=host, port=port) as server:
            credentials = app.credentials
            # The first four lines are parsed by tests and benchmarks: keep them first.
            lines = [
                f"listening on {server.api_url}",
                f"export TRIPLETEX_BASE_URL={shlex.quote(server.api_url)}",
                f"export TRIPLETEX_CONSUMER_TOKEN={shlex.quote(credentials.consumer_token)}",
                f"export TRIPLETEX_EMPLOYEE_TOKEN={shlex.quote(credentials.employee_token)}",
                *company_token_lines(app),
            ]
            print("\n".join(lines), file=out, flush=True)
            async with anyio.create_task_group() as tg:
                if work is not None and work.active:
                    tg.start_soon(run_background, app, work)
                async for _ in signals:
                    break
                tg.cancel_scope.cancel()


def company_token_lines(app: FakeTripletex) -> list[str]:
    """Shell lines giving a regular employee token of one client company with data (the
    guide's default: Basic username 0), after comments saying which token is which."""
    portfolio = app.portfolio
    ids = portfolio.company_ids()
    company = next((c for c in ids if portfolio.role(c) != "empty"), ids[0])
    token = app.company_credentials(company).employee_token
    return [
        "# TRIPLETEX_EMPLOYEE_TOKEN is the accounting office's: Basic username = a client id"
        " from /company/>withLoginAccess (username 0 reaches only that list and >whoAmI)",
        f"# TRIPLETEX_COMPANY_EMPLOYEE_TOKEN is a regular employee's of company {company}"
        " (same consumer token): Basic username 0 means that company",
        f"export TRIPLETEX_COMPANY_ID={company}",
        f"export TRIPLETEX_COMPANY_EMPLOYEE_TOKEN={shlex.quote(token)}",
    ]


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the simulator (or print its summary) as the parsed ``args`` say."""
    try:
        config = fake_config(args)
        portfolio = generate_portfolio(portfolio_config(args))
        if args.summary:
            print_summary(portfolio, sys.stdout)
            return 0
        app = FakeTripletex(portfolio, config)
    except ValueError as exc:  # a combination of flags the configs refuse
        parser.error(str(exc))
    if args.tokens_file is not None:
        try:
            write_tokens_file(app, args.tokens_file)
        except OSError as exc:
            print(f"error: cannot write --tokens-file: {exc}", file=sys.stderr)
            return 1
    work = background(args)
    try:
        with _logging_to_stderr(work.active):
            anyio.run(_serve_until_signal, app, args.host, args.port, sys.stdout, work)
    except OSError as exc:  # typically: the port is taken
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the signal receiver was in place
        pass
    return 0


def write_tokens_file(app: FakeTripletex, path: Path) -> None:
    """Write ``app.budgets()`` to ``path`` as a JSON list, readable by its owner only.

    Written to a temporary file beside it and renamed, so a reader sees the whole list
    or no file (or the old one), never half of it.
    """
    data = json.dumps([budget.to_dict() for budget in app.budgets()], indent=1) + "\n"
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def _logging_to_stderr(wanted: bool) -> Iterator[None]:
    """INFO and above of the simulator's logger on stderr for the run, if ``wanted``."""
    if not wanted:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level, propagate = LOGGER.level, LOGGER.propagate
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False  # once is enough, whatever the root logger does
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
        LOGGER.propagate = propagate


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (argparse exits 2 on bad flags)."""
    parser = build_parser()
    return run(parser.parse_args(argv), parser)
