"""``tripletex-async resources``: every list endpoint of Tripletex, what kind it is, which
group, whether a run takes it unasked (the default set), and why the excluded ones are
not synced."""

from __future__ import annotations

import argparse

from ..engine._registry import GROUPS, KINDS, endpoints, slug
from ..engine._resources import DEFAULT_RESOURCES
from ._report_table import console_for, simple_table
from ._run import EXIT_OK, Context

__all__ = ["run"]


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``resources`` command."""
    chosen = [
        e
        for e in endpoints()
        if (e.kind == "excluded") == args.excluded
        and (not args.group or slug(e.group) in args.group)
        and (not args.kind or e.kind in args.kind)
    ]
    order = {group: i for i, group in enumerate(GROUPS)}
    chosen.sort(key=lambda e: (order.get(e.group, len(order)), e.name))
    console = console_for(ctx.out)
    if args.excluded:
        rows = [[e.path, e.group, e.reason] for e in chosen]
        console.print(simple_table("not synced, and why", ["endpoint", "group", "why"], rows))
        return EXIT_OK
    default = set(DEFAULT_RESOURCES)
    rows = [
        [e.name, e.group, e.kind, "yes" if e.name in default else "", e.summary] for e in chosen
    ]
    head = ["resource", "group", "kind", "default", "what it is"]
    synced = sum(e.name in default for e in chosen)
    title = (
        f"{len(chosen)} resources (--resources all), {synced} in the default set "
        "(--resources default, or no --resources)"
    )
    console.print(simple_table(title, head, rows))
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument(
        "--group",
        action="append",
        choices=[slug(g) for g in GROUPS],
        metavar="GROUP",
        help=f"only this group (repeatable): {', '.join(GROUPS)}",
    )
    parser.add_argument(
        "--kind",
        action="append",
        choices=[k for k in KINDS if k != "excluded"],
        metavar="KIND",
        help="only this kind (repeatable): plain, dated, child, snapshot",
    )
    parser.add_argument(
        "--excluded",
        action="store_true",
        help="list the endpoints that are not synced, with the reason, instead",
    )
