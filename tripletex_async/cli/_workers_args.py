"""The parsers of the ``workers`` command: ``register``, ``plan``, ``run``,
``webhooks``, ``status``."""

from __future__ import annotations

import argparse
from typing import TypeAlias, TypeVar

from ._flags import add_auth_header, add_listen, add_output, add_previous_secret_until
from ._values import bounded, seconds

__all__ = ["DATABASE_VARIABLE", "add_workers"]

P = TypeVar("P", bound=argparse.ArgumentParser)
Subparsers: TypeAlias = "argparse._SubParsersAction[P]"

#: Where the workers' database URL is read from when --database is not given.
DATABASE_VARIABLE = "TRIPLETEX_WORKERS_DATABASE"


def add_workers(commands: Subparsers[P]) -> P:
    workers = commands.add_parser(
        "workers",
        help="run budgets on many workers (procrastinate on PostgreSQL; the workers extra)",
        description="Many workers on many machines: register budgets (a consumer and an "
        "employee token each, by reference), plan the due ones, run workers, watch them. "
        "Budget ids are made with TRIPLETEX_WORKERS_KEY (the same on every machine).",
    )
    actions = workers.add_subparsers(dest="workers_command", metavar="ACTION", required=True)
    register = actions.add_parser(
        "register",
        help="add or update budgets from a JSON file (or - for stdin)",
        description='A JSON array (or JSON lines) of {"consumer_token": REF, '
        '"employee_token": REF, "companies": "own"|"all"|[ids], "resources": [names], '
        '"label": TEXT}; a REF is env:NAME or file:PATH#KEY, never a token. Each budget is '
        "checked (its references resolve) before any is stored.",
    )
    register.add_argument("file", metavar="FILE", help="the budgets, or - for stdin")
    _common(register)
    plan = actions.add_parser(
        "plan",
        help="queue every due budget now, longest first (the workers also do it each minute)",
    )
    _common(plan)
    run = actions.add_parser(
        "run",
        help="run a worker until SIGTERM/Ctrl-C (slices wind down and commit first)",
    )
    run.add_argument(
        "--concurrency",
        type=bounded(1, 1000),
        default=8,
        help="budgets this worker drives at once (default: 8)",
    )
    run.add_argument(
        "--slice",
        type=seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long a job drives a budget before handing over (default: 300)",
    )
    run.add_argument(
        "--stall-after",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="a worker silent this long is dead: its budgets go to others (default: 30)",
    )
    where = run.add_argument_group("Tripletex")
    choice = where.add_mutually_exclusive_group()
    choice.add_argument("--env", choices=("test", "prod"), help="Tripletex's test or production")
    choice.add_argument("--base-url", metavar="URL", help="an API root including /v2")
    _common(run)
    hooks = actions.add_parser(
        "webhooks",
        help="receive Tripletex webhooks: each queues its budget's job (needs uvicorn)",
        description="Verify each delivery to .../BUDGET_ID and queue that budget's sync "
        "job, coalesced while one waits. Subscribe a budget's companies to "
        "https://YOUR-HOST/.../BUDGET_ID (workers register prints the ids). Secrets from "
        "TRIPLETEX_WEBHOOK_HMAC_SECRET and/or TRIPLETEX_WEBHOOK_AUTH_VALUE.",
    )
    group = hooks.add_argument_group("receiving")
    add_listen(group)
    add_auth_header(group)
    add_previous_secret_until(group)
    _common(hooks)
    status = actions.add_parser(
        "status", help="budgets by state, jobs running and waiting, the plan's estimate"
    )
    status.add_argument("--json", action="store_true", help="JSON instead of tables")
    _common(status)
    return workers


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("database")
    group.add_argument(
        "--database",
        metavar="URL",
        help=f"PostgreSQL URL of the queue, budgets and rows (default: ${DATABASE_VARIABLE})",
    )
    group.add_argument(
        "--schema", default="public", help="the sink's schema, for rows and checkpoints"
    )
    add_output(parser)
