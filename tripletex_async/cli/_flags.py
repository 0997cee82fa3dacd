"""Flag groups shared by several commands, added by one function each, so ``sync -v`` and
``plan -v`` mean the same."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from ..engine._resources import DEFAULT_RESOURCES
from ..engine._sync import MAX_PAGE, default_date_range
from ._logging import LEVELS
from ._values import bounded, companies, deadline, fields, iso_date, resources, seconds

__all__ = [
    "add_auth_header",
    "add_company_choice",
    "add_connection",
    "add_output",
    "add_progress",
    "add_queue",
    "add_scope",
]


def add_output(parser: argparse.ArgumentParser) -> None:
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


def add_connection(parser: argparse.ArgumentParser) -> None:
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


def add_scope(parser: argparse.ArgumentParser, today: date) -> None:
    group = parser.add_argument_group("what to sync")
    add_company_choice(
        group,
        "company ids (comma-separated, repeatable); 0 is the token owner's own company, "
        "the default (an accountant's token needs --company or --all-companies)",
    )
    group.add_argument(
        "--resources",
        type=resources,
        default=DEFAULT_RESOURCES,
        metavar="A,B,...",
        help="comma-separated API paths, groups (invoicing, ledger, group:project, ...: "
        f"tripletex-async resources), default or all (default: {', '.join(DEFAULT_RESOURCES)})",
    )
    group.add_argument(
        "--fields",
        type=fields,
        action="append",
        default=[],
        metavar="RESOURCE=FIELDS",
        help="sync only these fields of a resource, in Tripletex's fields syntax "
        "(customer=id,name,email; order=id,orderDate,orderLines(description,count)); "
        "repeatable; id and the date a resource is windowed on are always added",
    )
    group.add_argument(
        "--exclude-resources",
        type=resources,
        default=(),
        metavar="A,B,...",
        help="leave these out (API paths or groups, comma-separated)",
    )
    start, end = default_date_range(today)
    group.add_argument(
        "--date-from", type=iso_date, default=start, metavar="YYYY-MM-DD",
        help=f"first day of dated resources (default: {start}, 1 January last year)",
    )  # fmt: skip
    group.add_argument(
        "--date-to", type=iso_date, default=end, metavar="YYYY-MM-DD",
        help=f"day after the last, exclusive (default: {end}, 1 January next year)",
    )  # fmt: skip
    group.add_argument(
        "--page-size",
        type=bounded(1, MAX_PAGE),
        default=None,
        metavar="N",
        help=f"records per request, 1..{MAX_PAGE} (default: chosen per query: {MAX_PAGE}"
        " where the rate budget binds, pages of 1000 in parallel where it does not)",
    )


def add_progress(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("progress and report")
    group.add_argument(
        "--progress",
        choices=("auto", "live", "lines", "off"),
        default="auto",
        help="a live table on a terminal, log lines otherwise (auto)",
    )
    group.add_argument(
        "--progress-interval",
        type=seconds,
        default=5.0,
        metavar="SECONDS",
        help="seconds between progress lines (default: 5)",
    )
    group.add_argument(
        "--report-json", type=Path, metavar="FILE", help="write the full report as JSON"
    )


def add_queue(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--queue", type=Path, default=Path("tripletex-webhooks.db"), metavar="PATH",
        help="the receiver's queue file, also its subscription registry "
        "(default: tripletex-webhooks.db)",
    )  # fmt: skip


def add_auth_header(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--auth-header",
        metavar="NAME",
        help="the subscriptions' authHeaderName (its value in TRIPLETEX_WEBHOOK_AUTH_VALUE)",
    )


def add_listen(group: argparse._ActionsContainer) -> None:
    group.add_argument("--host", default="127.0.0.1", help="address to listen on")
    group.add_argument("--port", type=bounded(0, 65535), default=8000, help="(default: 8000)")


def add_previous_secret_until(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--previous-secret-until",
        type=deadline,
        metavar="WHEN",
        help="refuse signatures by TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS after this (HH:MM "
        "or an ISO date and time; default: accept them while the variable is set)",
    )


def company_help(verb: str) -> str:
    """The ``--company`` help of a command that does ``verb`` to companies."""
    return (
        f"company ids to {verb} (comma-separated, repeatable); 0 is the token owner's own "
        "company, the default"
    )


def add_company_choice(parser: argparse._ActionsContainer, help_text: str) -> None:
    """``--all-companies`` or ``--company ID,...`` (``help_text`` is the latter's)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--all-companies",
        action="store_true",
        help="every client company an accountant's token reaches",
    )
    which.add_argument(
        "--company",
        type=companies,
        action="extend",
        metavar="ID[,ID...]",
        help=help_text,
    )
