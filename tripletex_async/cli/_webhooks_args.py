"""The parsers of the ``webhooks`` command: ``serve``, ``subscribe``, ``status`` and
``dead list``/``dead requeue``/``dead drop``."""

from __future__ import annotations

import argparse
from typing import TypeAlias, TypeVar

from ._flags import (
    add_auth_header,
    add_company_choice,
    add_connection,
    add_listen,
    add_output,
    add_previous_secret_until,
    add_queue,
    company_help,
)
from ._values import DEFAULT_SINK, seqs, webhook_resources

__all__ = ["add_webhooks"]

#: The command line's parser class (``_args._Parser``, in the module above this one); its
#: subcommands' parsers are of the same class.
P = TypeVar("P", bound=argparse.ArgumentParser)
# A string: the class is generic only to type checkers.
Subparsers: TypeAlias = "argparse._SubParsersAction[P]"


def add_webhooks(commands: Subparsers[P]) -> P:
    webhooks = commands.add_parser(
        "webhooks", help="receive Tripletex webhooks into a sink, and operate them"
    )
    actions = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the webhook receiver (needs the webhooks extra: uvicorn)",
        description="Verify, durably queue and apply Tripletex webhook deliveries. Secrets "
        "from TRIPLETEX_WEBHOOK_HMAC_SECRET and/or TRIPLETEX_WEBHOOK_AUTH_VALUE; while "
        "rotating, TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS is accepted too.",
    )
    add_connection(serve)
    group = serve.add_argument_group("receiving")
    add_listen(group)
    add_queue(group)
    add_auth_header(group)
    add_previous_secret_until(group)
    group.add_argument(
        "--sink", default=DEFAULT_SINK, metavar="URL", help=f"(default: {DEFAULT_SINK})"
    )
    add_output(serve)
    _add_subscribe(actions)
    _add_status(actions)
    _add_dead(actions)
    return webhooks


def _add_subscribe(actions: Subparsers[P]) -> None:
    from ..webhooks._events import WEBHOOK_RESOURCES

    subscribe = actions.add_parser(
        "subscribe",
        help="create or update the subscriptions that keep a sink current (idempotent)",
        description="Make every company's subscriptions to the receiver at --url exist, with "
        "the fields a sync would fetch and the receiver's secrets (the same variables as "
        "serve; the new HMAC secret when rotating), and note them in the receiver's queue "
        "file. A rerun changes nothing. Exit 1 when some company failed.",
    )
    subscribe.add_argument(
        "--url", required=True, metavar="URL", help="the receiver's public HTTPS address"
    )
    add_company_choice(subscribe, company_help("subscribe"))
    subscribe.add_argument(
        "--resources",
        type=webhook_resources,
        default=WEBHOOK_RESOURCES,
        metavar="A,B,...",
        help=f"resources to keep current (default: {', '.join(WEBHOOK_RESOURCES)})",
    )
    add_queue(subscribe)
    add_auth_header(subscribe)
    subscribe.add_argument(
        "--reenable",
        action="store_true",
        help="set subscriptions Tripletex disabled (too many errors) active again",
    )
    subscribe.add_argument("--json", action="store_true", help="JSON instead of a table")
    add_connection(subscribe)
    add_output(subscribe)


def _add_status(actions: Subparsers[P]) -> None:
    status = actions.add_parser(
        "status",
        help="subscriptions per company with their status, and the queue's backlog",
        description="List every company's subscriptions with Tripletex's status (disabled "
        "ones too: re-enable them with subscribe --reenable) and whether the receiver's "
        "queue knows them; then the queue: events pending, the oldest one's age, dead events.",
    )
    add_queue(status)
    add_company_choice(status, company_help("show"))
    status.add_argument("--json", action="store_true", help="JSON instead of tables")
    add_connection(status)
    add_output(status)


def _add_dead(actions: Subparsers[P]) -> None:
    dead = actions.add_parser("dead", help="events the receiver gave up on: list, requeue, drop")
    which = dead.add_subparsers(dest="dead_command", metavar="ACTION", required=True)
    listing = which.add_parser(
        "list",
        help="list dead events and why they died (no values)",
        description="Events the receiver gave up on: their seq, company, event, object id, "
        "when they came and why they died (the error's type and message). Needs no token.",
    )
    add_queue(listing)
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    add_output(listing)
    requeue = which.add_parser(
        "requeue",
        help="set dead events pending again",
        description="Set dead events pending again. A running receiver applies them within "
        "10 seconds (or at its next delivery), a starting one at once; the nightly reconcile "
        "repairs them anyway. Exit 1 when some asked for were not dead.",
    )
    _add_chosen(requeue)
    drop = which.add_parser(
        "drop",
        help="remove dead events for good",
        description="Remove dead events and their payloads from the queue file: for events "
        "that can never apply (requeued, they die again), so that the dead events alert "
        "clears; the nightly reconcile repairs what they missed. Exit 1 when some asked for "
        "were not dead.",
    )
    _add_chosen(drop)


def _add_chosen(parser: argparse.ArgumentParser) -> None:
    """``--queue``, which dead events (``--all`` or ``--seq``), and the output flags."""
    add_queue(parser)
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--all", action="store_true", help="every dead event")
    chosen.add_argument(
        "--seq", type=seqs, action="extend", metavar="N[,N...]", help="these events (seq)"
    )
    add_output(parser)
