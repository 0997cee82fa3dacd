"""Webhooks in the distributed mode: a verified delivery to a budget's URL queues that
budget's job, coalesced while one waits, on procrastinate's PostgreSQL queue."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import httpx
import psycopg
import pytest

from tripletex_async import RESOURCES
from tripletex_async.sinks import PostgresSink
from tripletex_async.testing import FakeTripletex
from tripletex_async.webhooks import Secret, WebhookAuth
from tripletex_async.webhooks._verify import signature
from tripletex_async.workers._store import BudgetStore
from tripletex_async.workers.jobs import (
    SYNC_TASK,
    WorkerSettings,
    defer_due,
)
from tripletex_async.workers.trigger import WEBHOOK_PRIORITY, BudgetTrigger

from ..expectations import expected, stored
from .conftest import NEVER, Database, accountant, client_factory, queue_app

pytestmark = pytest.mark.anyio

AUTH = WebhookAuth(hmac_secret=Secret("hmac-5c1d-secret"))
BODY = b'{"subscriptionId": 901, "event": "customer.update", "id": 7, "value": {"id": 7}}'


def _signed(body: bytes = BODY, key: str = "key-1") -> dict[str, str]:
    assert AUTH.hmac_secret is not None
    return {
        "idempotency-key": key,
        "x-request-signature": signature(AUTH.hmac_secret, key.encode(), body).decode(),
        "content-type": "application/json",
    }


@pytest.fixture
async def triggered(fake: FakeTripletex, database: Database, fresh_database: str) -> Any:
    """The accountant's budget registered; procrastinate's queue; the trigger app."""
    budget, secrets = accountant(fake)
    settings = WorkerSettings(
        fresh_database,
        sink_schema=database.sink_schema,
        store_schema=database.store_schema,
        plan_cron=NEVER,
    )
    app = await queue_app(settings, budget, secrets, client_factory(fake))
    async with app.open_async():
        yield budget, app, BudgetTrigger(app, settings, auth=AUTH, manage_app=False), settings


async def _post(trigger: BudgetTrigger, path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=trigger)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport) as http:
        return await http.post(
            f"https://workers.example/tripletex/{path}", content=BODY, headers=headers
        )


def _jobs(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT status::text, priority FROM procrastinate_jobs WHERE task_name = %s "
            "ORDER BY id",
            (SYNC_TASK,),
        ).fetchall()
    return [(str(s), int(p)) for s, p in rows]


async def test_deliveries_queue_their_budgets_job_once_while_it_waits(
    triggered: Any, fresh_database: str, fake: FakeTripletex, database: Database
) -> None:
    budget, app, trigger, _ = triggered
    first = await _post(trigger, budget.id, _signed(key="key-1"))
    again = await _post(trigger, budget.id, _signed(key="key-2"))
    assert (first.status_code, first.json()) == (200, {"status": "queued"})
    assert (again.status_code, again.json()) == (200, {"status": "coalesced"})
    assert _jobs(fresh_database) == [("todo", WEBHOOK_PRIORITY)]
    await app.run_worker_async(wait=False, install_signal_handlers=False, listen_notify=False)
    assert _jobs(fresh_database) == [("succeeded", WEBHOOK_PRIORITY)]
    sink = PostgresSink(fresh_database, schema=database.sink_schema)
    try:
        await sink.open([RESOURCES["customer"].table()])
        records = await sink.read("customer")
    finally:
        await sink.aclose()
    for company in fake.portfolio.company_ids():
        assert stored(records, company) == expected(fake, company, "customer")


async def test_a_delivery_while_the_budgets_job_runs_queues_exactly_one_more(
    triggered: Any, fresh_database: str
) -> None:
    budget, app, trigger, settings = triggered
    await defer_due(app, settings)
    with psycopg.connect(fresh_database, autocommit=True) as connection:
        connection.execute("UPDATE procrastinate_jobs SET status = 'doing'")  # it runs
    for key in ("key-1", "key-2", "key-3"):
        await _post(trigger, budget.id, _signed(key=key))
    assert _jobs(fresh_database) == [("doing", 0), ("todo", WEBHOOK_PRIORITY)]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("{id}", {"content-type": "application/json"}, 401),  # not signed: not Tripletex
        ("{id}", _signed(BODY.replace(b"7", b"8")), 401),  # signed for another body
        ("0123456789abcdef0123456789abcdef", _signed(), 404),  # no such budget
        ("not-a-budget", _signed(), 404),
    ],
)
async def test_a_delivery_that_is_not_a_budgets_queues_nothing(
    triggered: Any, fresh_database: str, path: str, headers: dict[str, str], status: int
) -> None:
    budget, _, trigger, _ = triggered
    response = await _post(trigger, path.format(id=budget.id), headers)
    assert response.status_code == status
    assert _jobs(fresh_database) == []


async def test_the_cli_receives_deliveries_into_jobs_until_sigterm(
    fresh_database: str, fake: FakeTripletex
) -> None:
    """``tripletex-async workers webhooks``: a real server process; a signed delivery to
    a registered budget's URL is one queued job; SIGTERM stops it (143, in its own
    words), and no secret reaches its output."""
    budget, _ = accountant(fake)
    async with BudgetStore(fresh_database) as store:
        await store.register([budget])
    assert AUTH.hmac_secret is not None
    environ = {
        "PATH": "/usr/bin:/bin",
        "TRIPLETEX_WEBHOOK_HMAC_SECRET": AUTH.hmac_secret.reveal(),
    }
    command = [
        sys.executable, "-m", "tripletex_async.cli", "workers", "webhooks", "--database",
        fresh_database, "--port", "0",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: ASYNC220 (a server for the test's lifetime)
        command, env=environ, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        url = line.split(" on ", 1)[1].split("BUDGET_ID", 1)[0]
        async with httpx.AsyncClient() as http:
            answer = await http.post(url + budget.id, content=BODY, headers=_signed())
        assert (answer.status_code, answer.json()) == (200, {"status": "queued"})
        assert _jobs(fresh_database) == [("todo", WEBHOOK_PRIORITY)]
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, rest
    assert "delivery it acknowledged queued its budget's job" in rest
    assert AUTH.hmac_secret.reveal() not in line + rest
