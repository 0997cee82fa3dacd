"""A sync job run as its own process, so a test can kill it with SIGKILL.

Usage: ``python sync_worker.py BASE_URL DB_PATH [RESOURCE,...]`` with the tokens in
``TRIPLETEX_CONSUMER_TOKEN`` / ``TRIPLETEX_EMPLOYEE_TOKEN`` (resources: the default set
unless given). Prints the report's totals as JSON on success.
"""

from __future__ import annotations

import json
import sys
from datetime import date

import anyio

from tripletex_async import DEFAULT_RESOURCES, SyncOptions, TripletexClient, sync
from tripletex_async.sinks import SQLiteSink


async def main(base_url: str, path: str, resources: list[str]) -> None:
    sink = SQLiteSink(path)
    try:
        async with TripletexClient(base_url=base_url) as client:
            report = await sync(
                client,
                sink,
                companies="all",
                resources=resources,
                date_from=date(2024, 1, 1),
                date_to=date(2027, 1, 1),
                options=SyncOptions(page_size=100, companies_at_once=4),
            )
    finally:
        await sink.aclose()
    print(json.dumps(report.to_dict()["total"]))


if __name__ == "__main__":
    chosen = sys.argv[3].split(",") if len(sys.argv) > 3 else list(DEFAULT_RESOURCES)
    anyio.run(main, sys.argv[1], sys.argv[2], chosen)
