"""Workers' start on a database: procrastinate's tables and our index for its fetch
query, created once however many workers start together, and added to tables that
procrastinate's own ``schema --apply`` made."""

from __future__ import annotations

import anyio
import procrastinate
import psycopg
import pytest

from tripletex_async.workers.jobs import FETCH_INDEX, WorkerSettings, ensure_schema

pytestmark = pytest.mark.anyio


def _indexes(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'procrastinate_jobs'"
        ).fetchall()
    return {str(name) for (name,) in rows}


async def test_workers_starting_together_create_the_queue_and_its_fetch_index_once(
    fresh_database: str,
) -> None:
    settings = WorkerSettings(fresh_database)
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(ensure_schema, settings)
    assert FETCH_INDEX in _indexes(fresh_database)


async def test_a_queue_made_by_procrastinate_itself_gets_the_fetch_index(
    fresh_database: str,
) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as connection:
        connection.execute(procrastinate.schema.SchemaManager.get_schema())
    assert FETCH_INDEX not in _indexes(fresh_database)
    await ensure_schema(WorkerSettings(fresh_database))
    assert FETCH_INDEX in _indexes(fresh_database)
