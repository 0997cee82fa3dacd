"""The contenders of ``portfolio.py``, each run alone in this file's own subprocess.

``python benchmarks/_contenders.py SPEC_JSON`` runs the contender the `Spec` names,
timing the work (not the interpreter start or the imports) and printing one line
``RESULT {json}`` with wall and CPU seconds, records stored (counted in the target
afterwards), errors and the process's peak RSS: one subprocess per run, so the peak
is that contender's own.

* ``engine-sqlite`` / ``engine-postgres``: `tripletex_async.sync` with its defaults
  (``page_size`` aside) into `SQLiteSink` / `PostgresSink`; in the field scenario
  (``Spec.field``) every default resource of ``companies="all"``, defaults throughout;
* ``naive``: the integration guides' loop: ``requests``, one company and page after the
  other, ``json`` decoding, ``INSERT`` per row and a commit per page; in the field
  scenario over every resource (``_field_naive.py``);
* ``raw``: the machine's limit: aiohttp with a fixed number of requests in flight, one
  reused msgspec decoder, ``executemany`` in one transaction per page in a writer
  thread; no session, slot, budget or retry logic;
* ``dlt-defaults`` / ``dlt-tuned``: dlt's ``rest_api`` source into duckdb, with ``from``/
  ``count`` paging; tuned is ``parallelized=True`` on the source (1.31 ignores it per
  resource), parquet loader files and a stop on an empty page instead of
  ``fullResultSize``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import resource
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from _field_naive import count_field_records, run_naive_field
from _simulator import basic
from _workload import Spec, dict_values, insert_sql, row_maker, sqlite_ddl, struct_values
from _workload import resource as workload_resource

#: Tripletex's dates are Oslo's (a session's expirationDate must be after today there).
_OSLO = ZoneInfo("Europe/Oslo")

#: Stands for "this contender's package is not installed": the parent skips it.
MISSING = 3


class Outcome(msgspec.Struct):
    """What one run reports to the parent."""

    contender: str
    wall_seconds: float
    cpu_seconds: float
    records: int
    peak_rss_mb: float
    errors: list[str]


def _session_body(spec: Spec) -> dict[str, str]:
    return {
        "consumerToken": spec.consumer_token,
        "employeeToken": spec.employee_token,
        "expirationDate": (datetime.now(_OSLO).date() + timedelta(days=1)).isoformat(),
    }


def _query(spec: Spec, offset: int) -> dict[str, str | int]:
    fields = workload_resource(spec.narrow).fields()
    return {"fields": fields, "sorting": "id", "from": offset, "count": spec.page_size}


# -- tripletex_async -----------------------------------------------------------------


def run_engine(spec: Spec) -> list[str]:
    """`sync` of the workload's resource into the SQLite or PostgreSQL sink."""
    import structlog

    from tripletex_async import DEFAULT_RESOURCES, SyncOptions, TripletexClient, sync
    from tripletex_async.sinks import PostgresSink, Sink, SQLiteSink

    # The client logs every request at debug level; an unconfigured structlog prints it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    async def main() -> list[str]:
        sink: Sink = (
            PostgresSink(spec.target, schema=spec.schema)
            if spec.contender == "engine-postgres"
            else SQLiteSink(spec.target)
        )
        client = TripletexClient(
            spec.consumer_token, spec.employee_token, base_url=spec.api, environ={}
        )
        async with client:
            try:
                if spec.field:
                    report = await sync(
                        client, sink, companies="all", resources=spec.resources or DEFAULT_RESOURCES
                    )
                else:
                    report = await sync(
                        client,
                        sink,
                        resources=[workload_resource(spec.narrow)],
                        companies=spec.companies,
                        options=SyncOptions(page_size=spec.page_size),
                    )
            finally:
                await sink.aclose()
        return [error for r in report for error in r.errors]

    return asyncio.run(main())


# -- the naive loop of the integration guides -----------------------------------------


def run_naive(spec: Spec) -> list[str]:
    """Sequential ``requests``: per company, page after page until a short one."""
    import requests

    if spec.field:
        args = (spec.consumer_token, spec.employee_token, spec.target, spec.page_size)
        run_naive_field(spec.api, *args)
        return []
    res = workload_resource(spec.narrow)
    values, make = dict_values(res), row_maker(res)
    db = sqlite3.connect(spec.target)
    for statement in sqlite_ddl(res):
        db.execute(statement)
    insert = insert_sql(res)
    http = requests.Session()
    created = http.post(f"{spec.api}/token/session/:create", json=_session_body(spec))
    created.raise_for_status()
    token = created.json()["value"]["token"]
    for company in spec.companies:
        offset = 0
        while True:
            response = http.get(
                f"{spec.api}/customer", params=_query(spec, offset), auth=(str(company), token)
            )
            if response.status_code == 429:  # the guides: wait, then try again
                time.sleep(float(response.headers.get("x-rate-limit-reset") or 2))
                continue
            response.raise_for_status()
            page = json.loads(response.content)["values"]
            rows = [
                make(company, r["id"], json.dumps(r), r.get("version"), values(r)) for r in page
            ]
            db.executemany(insert, rows)
            db.commit()
            if len(page) < spec.page_size:
                break
            offset += spec.page_size
    db.close()
    return []


# -- the machine's limit: a minimal hand-written pipeline -----------------------------


class _RawPage(msgspec.Struct, gc=False):
    values: list[msgspec.Raw]
    fullResultSize: int | None = None  # noqa: N815 - Tripletex's name


def run_raw(spec: Spec) -> list[str]:
    """aiohttp, ``spec.concurrency`` in flight, msgspec, one SQLite transaction per page."""
    return asyncio.run(_raw(spec))


async def _raw(spec: Spec) -> list[str]:
    import aiohttp

    res = workload_resource(spec.narrow)
    assert res.model is not None
    page_decoder = msgspec.json.Decoder(_RawPage)
    record_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(res.model)
    values, make = struct_values(res), row_maker(res)
    db = sqlite3.connect(spec.target, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for statement in sqlite_ddl(res):
        db.execute(statement)
    insert = insert_sql(res)

    def write(rows: list[tuple[object, ...]]) -> None:
        db.execute("BEGIN")
        db.executemany(insert, rows)
        db.execute("COMMIT")

    writer = concurrent.futures.ThreadPoolExecutor(1)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=spec.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.post(
            f"{spec.api}/token/session/:create", json=_session_body(spec)
        ) as response:
            response.raise_for_status()
            token = (await response.json(content_type=None))["value"]["token"]
        url = f"{spec.api}/customer"

        async def fetch(company: int, offset: int) -> _RawPage:
            headers = {"Authorization": basic(company, token)}
            async with http.get(url, params=_query(spec, offset), headers=headers) as response:
                response.raise_for_status()
                body = await response.read()
            page = page_decoder.decode(body)
            rows = []
            for raw in page.values:
                obj = record_decoder.decode(raw)
                rows.append(make(company, obj.id, bytes(raw).decode(), obj.version, values(obj)))
            if rows:
                # Awaited here: a page stays in memory until written (back-pressure).
                await loop.run_in_executor(writer, write, rows)
            return page

        await _page_all(spec, fetch)
    writer.shutdown()
    db.close()
    return []


async def _page_all(spec: Spec, fetch: Callable[[int, int], Awaitable[_RawPage]]) -> None:
    """Page 0 of every company, then every page ``fullResultSize`` promises (it may be
    off by a few records), then one more for as long as the last page is full."""
    size = spec.page_size
    jobs: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
    for company in spec.companies:
        jobs.put_nowait((company, 0, 0))

    async def worker() -> None:
        while True:
            company, offset, planned_end = await jobs.get()
            try:
                page = await fetch(company, offset)
                full = len(page.values) == size
                if offset == 0 and full:
                    hint = (page.fullResultSize or 0) + 12
                    planned_end = max(2 * size, -(-hint // size) * size)
                    for later in range(size, planned_end, size):
                        jobs.put_nowait((company, later, planned_end))
                elif full and offset + size >= planned_end:
                    jobs.put_nowait((company, offset + size, offset + 2 * size))
            finally:
                jobs.task_done()

    async with asyncio.TaskGroup() as tg:
        workers = [tg.create_task(worker()) for _ in range(spec.concurrency)]
        await jobs.join()
        for task in workers:
            task.cancel()


# -- dlt ------------------------------------------------------------------------------


def run_dlt(spec: Spec) -> list[str]:
    """dlt's ``rest_api`` source, one resource per company into one ``customer`` table."""
    import dlt
    import requests
    from dlt.sources.rest_api import rest_api_source

    tuned = spec.contender == "dlt-tuned"
    created = requests.post(f"{spec.api}/token/session/:create", json=_session_body(spec))
    created.raise_for_status()
    token = created.json()["value"]["token"]
    paginator: dict[str, Any] = {
        "type": "offset",
        "limit": spec.page_size,
        "offset_param": "from",
        "limit_param": "count",
        # Defaults: believe the envelope's total; tuned: page to an empty page.
        "total_path": None if tuned else "fullResultSize",
        "stop_after_empty_page": True,
    }
    fields = workload_resource(spec.narrow).fields()
    config: Any = {
        "client": {"base_url": spec.api + "/", "paginator": paginator},
        "resources": [_dlt_resource(company, token, fields) for company in spec.companies],
    }
    source = rest_api_source(config, parallelized=tuned)
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{os.getpid()}",
        pipelines_dir=os.path.dirname(spec.target),
        destination=dlt.destinations.duckdb(spec.target),
        dataset_name="tripletex",
    )
    info = pipeline.run(source, loader_file_format="parquet") if tuned else pipeline.run(source)
    return [str(job) for package in info.load_packages for job in package.jobs["failed_jobs"]]


def _dlt_resource(company: int, token: str, fields: str) -> dict[str, Any]:
    def tag(record: dict[str, Any]) -> dict[str, Any]:
        record["company_id"] = company
        return record

    return {
        "name": f"customer_{company}",
        "table_name": "customer",
        "primary_key": ["company_id", "id"],
        "write_disposition": "append",
        "endpoint": {
            "path": "customer",
            "params": {"fields": fields, "sorting": "id"},
            "data_selector": "values",
            "auth": {"type": "http_basic", "username": str(company), "password": token},
        },
        "processing_steps": [{"map": tag}],
    }


# -- counting what was stored, and the subprocess's main ------------------------------


def count_records(spec: Spec) -> int:
    """Rows in the contender's customer table (field: every resource's), counted after
    the timed part."""
    if spec.field:
        return count_field_records(spec.target, spec.resources)
    if spec.contender == "engine-postgres":
        import psycopg

        with psycopg.connect(spec.target) as conn:
            row = conn.execute(f'SELECT count(*) FROM "{spec.schema}".customer').fetchone()
    elif spec.contender.startswith("dlt"):
        import duckdb

        with duckdb.connect(spec.target, read_only=True) as conn:
            row = conn.execute("SELECT count(*) FROM tripletex.customer").fetchone()
    else:
        with sqlite3.connect(spec.target) as conn:
            row = conn.execute("SELECT count(*) FROM customer").fetchone()
    return int(row[0]) if row else 0


RUNNERS: dict[str, Callable[[Spec], list[str]]] = {
    "engine-sqlite": run_engine,
    "engine-postgres": run_engine,
    "naive": run_naive,
    "raw": run_raw,
    "dlt-defaults": run_dlt,
    "dlt-tuned": run_dlt,
}
#: The package each contender needs beyond the engine's own dependencies.
PACKAGES = {
    "engine-postgres": "psycopg",
    "naive": "requests",
    "raw": "aiohttp",
    "dlt-defaults": "dlt",
    "dlt-tuned": "dlt",
}


def _own_peak_kb() -> int:
    """This process's peak resident set in KiB: Linux's ``VmHWM``, where it exists.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux keeps in it the peak of the address
    space ``exec`` replaced, which for a subprocess is its parent's resident set at fork
    time. The memory scenario's parent had warmed 100 companies' pages of 15 MB and stood
    at ~210 MB, so every engine run "peaked" there whatever the engine did (its own peak,
    ``VmHWM``, was 112 MB).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    """Run the contender of ``argv[1]`` (a `Spec` as JSON); print ``RESULT {json}``."""
    spec = Spec.from_json(sys.argv[1])
    package = PACKAGES.get(spec.contender)
    if package is not None:
        try:
            __import__(package)
        except ImportError:
            print(f"{spec.contender}: {package} is not installed", file=sys.stderr)
            return MISSING
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    wall, cpu = time.perf_counter(), time.process_time()
    errors = RUNNERS[spec.contender](spec)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += children.ru_utime + children.ru_stime
    peak_kb = max(_own_peak_kb(), children.ru_maxrss)
    outcome = Outcome(
        contender=spec.contender,
        wall_seconds=wall,
        cpu_seconds=cpu,
        records=count_records(spec),
        peak_rss_mb=peak_kb / 1024,
        errors=errors,
    )
    print("RESULT " + msgspec.json.encode(outcome).decode(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
