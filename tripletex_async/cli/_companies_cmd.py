"""``tripletex-async companies``: the companies a token reaches, as a table or JSON."""

from __future__ import annotations

import argparse
import json

from ._connect import open_client, resolve
from ._report_table import console_for, simple_table
from ._run import EXIT_OK, Context

__all__ = ["run"]


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``companies`` command."""
    endpoint = resolve(args, ctx.environ, ctx.logs.scrubber, ctx.err)
    async with open_client(endpoint, ctx.logs.scrubber) as client:
        who = await client.who_am_i()
        clients = await client.companies()
    rows = [
        {
            "id": c.id,
            "name": c.name or c.displayName or "",
            "organization_number": c.organizationNumber,
        }
        for c in clients
    ]
    if args.json:
        document = {"token_company_id": who.companyId, "companies": rows}
        print(json.dumps(document, indent=2, ensure_ascii=False), file=ctx.out)
        return EXIT_OK
    title = f"companies reachable by the token of company {who.companyId}"
    table = simple_table(
        title,
        ["id", "name", "organisation number"],
        [[str(r["id"]), r["name"], r["organization_number"] or ""] for r in rows],
    )
    console_for(ctx.out).print(table)
    if not rows:
        print(
            "the token reaches no client companies: it is not an accountant's token; "
            f"sync without --all-companies syncs its own company ({who.companyId})",
            file=ctx.err,
        )
    return EXIT_OK
