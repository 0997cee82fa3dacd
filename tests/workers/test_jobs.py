"""The procrastinate adapter, on procrastinate's in-memory connector (the budgets, the
rows and the leases in the local PostgreSQL): a job runs a budget's slice, leaves its
continuation, is queued once however often it is planned, and is put back when its
worker stalls."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import psycopg
import pytest
from procrastinate.testing import InMemoryConnector

from tripletex_async import RESOURCES, ConfigurationError, SyncOptions
from tripletex_async.sinks import PostgresSink
from tripletex_async.testing import FakeTripletex
from tripletex_async.workers import Budget, Secrets
from tripletex_async.workers import jobs as jobs_module
from tripletex_async.workers._store import BudgetStore
from tripletex_async.workers.jobs import (
    CONTINUATION_PRIORITY,
    SYNC_TASK,
    SinkPool,
    WorkerSettings,
    _defer,
    day_start,
    defer_due,
    make_app,
    retry_stalled,
)

from ..expectations import expected, stored
from .conftest import NEVER, Database, accountant, client_factory, queue_app

pytestmark = pytest.mark.anyio


def _settings(database: Database, **overrides: object) -> WorkerSettings:
    settings = WorkerSettings(
        database.url,
        sink_schema=database.sink_schema,
        store_schema=database.store_schema,
        plan_cron=NEVER,
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


async def _app(
    fake: FakeTripletex,
    settings: WorkerSettings,
    budget: Budget,
    secrets: Secrets,
    sinks: SinkPool | None = None,
) -> tuple[procrastinate.App, InMemoryConnector]:
    connector = InMemoryConnector()
    app = make_app(
        settings, connector=connector, secrets=secrets, client=client_factory(fake), sinks=sinks
    )
    async with BudgetStore(settings.database_url, schema=settings.store_schema) as store:
        await store.register([budget])
    return app, connector


async def _customers(database: Database) -> dict[tuple[int, int], bytes]:
    """The customers in the sink's schema."""
    sink = PostgresSink(database.url, schema=database.sink_schema)
    try:
        await sink.open([RESOURCES["customer"].table()])
        return await sink.read("customer")
    finally:
        await sink.aclose()


async def _drain(app: procrastinate.App) -> None:
    """Run a worker until no job is left."""
    await app.run_worker_async(wait=False, install_signal_handlers=False, listen_notify=False)


def _jobs(connector: InMemoryConnector, status: str = "todo") -> list[dict[str, object]]:
    return [
        j for j in connector.jobs.values() if j["task_name"] == SYNC_TASK and j["status"] == status
    ]


async def test_a_planned_budget_is_run_by_one_job_and_ends_exact(
    fake: FakeTripletex, database: Database
) -> None:
    budget, secrets = accountant(fake)
    settings = _settings(database)
    app, connector = await _app(fake, settings, budget, secrets)
    async with app.open_async():
        assert await defer_due(app, settings) == 1
        (job,) = _jobs(connector)
        assert (job["lock"], job["queueing_lock"], job["args"]) == (
            budget.id, budget.id, {"budget_id": budget.id},
        )  # fmt: skip
        await _drain(app)
    assert [j["status"] for j in connector.jobs.values()] == ["succeeded"]
    records = await _customers(database)
    for company in fake.portfolio.company_ids():
        assert stored(records, company) == expected(fake, company, "customer")
    async with BudgetStore(database.url, schema=database.store_schema) as store:
        (row,) = await store.rows()
    assert (row.state, row.slices) == ("done", 1)
    assert row.budget.weight == row.chain_requests > 0


async def test_a_slice_that_leaves_work_defers_its_continuation_first_in_line(
    fake: FakeTripletex, database: Database
) -> None:
    """Slices of a few requests each: every one defers the next, ahead of budgets not
    started, until the chain is done; the rows end exact."""
    budget, secrets = accountant(fake)
    bounded = SyncOptions(max_requests=2, page_size=5)
    settings = _settings(database, options=bounded)
    app, connector = await _app(fake, settings, budget, secrets)
    async with app.open_async():
        await defer_due(app, settings)
        await app.run_worker_async(
            wait=False, install_signal_handlers=False, listen_notify=False, concurrency=1
        )
    finished = sorted(connector.jobs.values(), key=lambda j: j["id"])
    assert len(finished) > 1
    assert all(j["status"] == "succeeded" for j in finished)
    assert [j["priority"] for j in finished[1:]] == [CONTINUATION_PRIORITY] * (len(finished) - 1)
    records = await _customers(database)
    for company in fake.portfolio.company_ids():
        assert stored(records, company) == expected(fake, company, "customer")


async def test_planning_again_queues_a_waiting_budget_once_and_a_done_one_not_at_all(
    fake: FakeTripletex, database: Database
) -> None:
    budget, secrets = accountant(fake)
    settings = _settings(database)
    app, connector = await _app(fake, settings, budget, secrets)
    async with app.open_async():
        assert await defer_due(app, settings) == 1
        assert await defer_due(app, settings) == 0
        assert len(_jobs(connector)) == 1
        await _drain(app)
        assert await defer_due(app, settings) == 0  # done since today's 00:05 in Oslo
    assert _jobs(connector) == []


async def test_a_budget_with_missing_tokens_waits_for_an_operator(
    fake: FakeTripletex, database: Database
) -> None:
    """needs_reauth: recorded, and not planned again until its tokens are registered."""
    budget, _ = accountant(fake)
    settings = _settings(database)
    app, _ = await _app(fake, settings, budget, Secrets({}))
    async with app.open_async():
        await defer_due(app, settings)
        await _drain(app)
        assert await defer_due(app, settings) == 0
    async with BudgetStore(database.url, schema=database.store_schema) as store:
        (row,) = await store.rows()
    assert row.state == "needs_reauth"
    assert "env:CONSUMER" in row.message
    assert fake.statistics().requests == 0


async def test_a_stalled_job_goes_back_in_the_queue(
    fake: FakeTripletex, database: Database
) -> None:
    """A worker that stopped sending heartbeats: its job is set to run again."""
    budget, secrets = accountant(fake)
    settings = _settings(database)
    app, connector = await _app(fake, settings, budget, secrets)
    async with app.open_async():
        await defer_due(app, settings)
        worker_id = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
        assert job is not None
        connector.workers[worker_id] = datetime.now(UTC) - timedelta(minutes=5)
        assert await retry_stalled(app, settings) == 1
    assert [j["status"] for j in connector.jobs.values()] == ["todo"]


async def test_a_stalled_job_whose_budget_is_queued_again_is_closed(
    fake: FakeTripletex, database: Database
) -> None:
    """Its continuation (or a plan) already waits: putting it back would make two."""
    budget, secrets = accountant(fake)
    settings = _settings(database)
    app, connector = await _app(fake, settings, budget, secrets)
    async with app.open_async():
        await defer_due(app, settings)
        worker_id = await app.job_manager.register_worker()
        stalled = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
        assert stalled is not None
        # its continuation, deferred before the worker froze
        assert await _defer(app, [budget.id], priority=CONTINUATION_PRIORITY) == 1
        connector.workers[worker_id] = datetime.now(UTC) - timedelta(minutes=5)
        assert await retry_stalled(app, settings) == 0
    statuses = {j["id"]: j["status"] for j in connector.jobs.values()}
    assert statuses[stalled.id] == "failed"
    assert sorted(statuses.values()) == ["failed", "todo"]


def test_workers_refuse_a_database_other_than_postgresql() -> None:
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        WorkerSettings("sqlite:///tripletex.db")


def test_a_day_starts_at_five_past_midnight_in_oslo() -> None:
    from datetime import time

    winter_evening = datetime(2026, 12, 7, 22, 50, tzinfo=UTC)  # 23:50 in Oslo
    assert day_start(winter_evening, time(0, 5)).isoformat() == "2026-12-07T00:05:00+01:00"
    just_after = datetime(2026, 12, 7, 23, 6, tzinfo=UTC)  # 00:06 on the 8th in Oslo
    assert day_start(just_after, time(0, 5)).isoformat() == "2026-12-08T00:05:00+01:00"


async def test_no_token_reaches_the_jobs_the_budgets_table_or_a_log_line(
    fake: FakeTripletex, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Job arguments and locks carry the budget id; the budgets table holds references;
    every logger at its most verbose shows neither token."""
    caplog.set_level(logging.DEBUG)
    budget, secrets = accountant(fake)
    settings = _settings(database, options=SyncOptions(max_requests=2, page_size=5))
    app, connector = await _app(fake, settings, budget, secrets)
    async with app.open_async():
        await defer_due(app, settings)
        await _drain(app)
    with psycopg.connect(database.url) as connection:
        table = connection.execute(f'SELECT * FROM "{database.store_schema}".budgets').fetchall()
    seen = [repr(connector.jobs), repr(table), caplog.text]
    assert "budget_id" in seen[0]
    for token in (fake.credentials.consumer_token, fake.credentials.employee_token):
        assert all(token not in text for text in seen)


async def test_registering_a_budget_again_plans_it_again_after_its_tokens_failed(
    fake: FakeTripletex, database: Database
) -> None:
    """needs_reauth waits for an operator; registering it (new references) is that."""
    budget, _ = accountant(fake)
    settings = _settings(database)
    app, _ = await _app(fake, settings, budget, Secrets({}))
    async with app.open_async():
        await defer_due(app, settings)
        await _drain(app)
        async with BudgetStore(database.url, schema=database.store_schema) as store:
            assert await store.register([budget]) == 0
        assert await defer_due(app, settings) == 1


async def _one_job(app: procrastinate.App, budget: Budget) -> Any:
    """The budget's task run once, as a worker would (its context is not used)."""
    return await app.tasks[SYNC_TASK](None, budget_id=budget.id)


def _queued(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT status::text, priority, lock FROM procrastinate_jobs ORDER BY id"
        ).fetchall()
    return [(str(s), int(p), str(lock)) for s, p, lock in rows]


async def test_a_slice_commits_its_record_and_its_continuation_together(
    fake: FakeTripletex, database: Database, fresh_database: str
) -> None:
    """On procrastinate's PostgreSQL queue: the job that ends a slice with work left
    has queued its continuation by the time its record says ``more``."""
    budget, secrets = accountant(fake)
    settings = _settings(
        replace(database, url=fresh_database), options=SyncOptions(max_requests=2, page_size=5)
    )
    app = await queue_app(settings, budget, secrets, client_factory(fake))
    async with app.open_async():
        assert await _one_job(app, budget) == "more"
    assert _queued(fresh_database) == [("todo", CONTINUATION_PRIORITY, budget.id)]
    async with BudgetStore(fresh_database, schema=database.store_schema) as store:
        (row,) = await store.rows()
    assert (row.state, row.slices) == ("more", 1)


async def test_a_slice_whose_budget_a_later_slice_began_records_and_defers_nothing(
    fake: FakeTripletex, database: Database, fresh_database: str
) -> None:
    """A worker frozen mid-slice wakes after another slice of its budget began: its
    end is not recorded over the newer slice's, and it queues no continuation (the
    newer slice does)."""
    budget, secrets = accountant(fake)
    settings = _settings(
        replace(database, url=fresh_database), options=SyncOptions(max_requests=2, page_size=5)
    )
    make = client_factory(fake)

    def overtaken(consumer: str, employee: str) -> Any:
        # While this slice runs, a later slice of the budget records its start.
        with psycopg.connect(fresh_database, autocommit=True) as connection:
            connection.execute(
                f"UPDATE {database.store_schema}.budgets SET slice_token = 'later', "
                "state = 'running'"
            )
        return make(consumer, employee)

    app = await queue_app(settings, budget, secrets, overtaken)
    async with app.open_async():
        assert await _one_job(app, budget) == "more"
    assert _queued(fresh_database) == []
    async with BudgetStore(fresh_database, schema=database.store_schema) as store:
        (row,) = await store.rows()
    assert (row.state, row.slices) == ("running", 0)


async def test_a_workers_jobs_reuse_its_sinks_one_per_slot(
    fake: FakeTripletex, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job after job of one worker slot goes through one sink (one connection): a night
    of thousands of budgets pays no connection and no schema check per budget."""
    made: list[PostgresSink] = []

    def counted(*args: Any, **kwargs: Any) -> PostgresSink:
        made.append(PostgresSink(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(jobs_module, "PostgresSink", counted)
    budget, secrets = accountant(fake)
    settings = _settings(database, options=SyncOptions(max_requests=2, page_size=5))
    async with SinkPool(settings, size=1) as sinks:
        app, connector = await _app(fake, settings, budget, secrets, sinks)
        async with app.open_async():
            await defer_due(app, settings)
            await app.run_worker_async(
                wait=False, install_signal_handlers=False, listen_notify=False, concurrency=1
            )
        assert len(connector.jobs) > 2
    assert len(made) == 1
    records = await _customers(database)
    for company in fake.portfolio.company_ids():
        assert stored(records, company) == expected(fake, company, "customer")


async def test_a_pooled_sink_whose_connection_the_server_dropped_serves_the_next_job(
    fake: FakeTripletex, database: Database
) -> None:
    """A database restart, or an idle timeout, ends a pooled sink's connection while it
    waits for its next job: that job reconnects instead of failing."""
    budget, secrets = accountant(fake)
    settings = _settings(database, options=SyncOptions(max_requests=2, page_size=5))
    async with SinkPool(settings, size=1) as sinks:
        app, _ = await _app(fake, settings, budget, secrets, sinks)
        async with app.open_async():
            assert await app.tasks[SYNC_TASK](None, budget_id=budget.id) == "more"
            (idle,) = sinks._idle
            with psycopg.connect(database.url, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(%s)", (idle._connection.info.backend_pid,)
                )  # type: ignore[union-attr]
            assert await app.tasks[SYNC_TASK](None, budget_id=budget.id) == "more"
