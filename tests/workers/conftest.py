"""Workers' fixtures: the local PostgreSQL (fresh schemas per test), the simulator, and
budgets registered for its tokens."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import procrastinate
import psycopg
import pytest

from tripletex_async import TripletexClient
from tripletex_async.testing import (
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    generate_portfolio,
)
from tripletex_async.workers import Budget, ClientFactory, Secrets, budget_id
from tripletex_async.workers._store import BudgetStore
from tripletex_async.workers.jobs import WorkerSettings, ensure_schema, make_app

KEY = b"a-server-key-for-tests"
#: Cron expressions that never come due while a test runs.
NEVER = "0 0 1 1 *"


@dataclass(frozen=True, slots=True)
class Database:
    """The test's PostgreSQL: its URL and the schemas of the sink and the budgets."""

    url: str
    sink_schema: str
    store_schema: str


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    """Fresh schemas in the local PostgreSQL, dropped afterwards."""
    tag = secrets.token_hex(5)
    found = Database(postgres_url, f"workers_sink_{tag}", f"workers_store_{tag}")
    yield found
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for schema in (found.sink_schema, found.store_schema):
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    """An empty database of the local PostgreSQL, dropped afterwards."""
    name = f"workers_schema_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def queue_app(
    settings: WorkerSettings, budget: Budget, secrets: Secrets, client: ClientFactory
) -> procrastinate.App:
    """An app on procrastinate's own PostgreSQL queue (its tables made as a worker makes
    them), ``budget`` registered."""
    await ensure_schema(settings)
    connector = procrastinate.PsycopgConnector(conninfo=settings.database_url)
    app = make_app(settings, connector=connector, secrets=secrets, client=client)
    async with BudgetStore(settings.database_url, schema=settings.store_schema) as store:
        await store.register([budget])
    return app


@pytest.fixture
def fake() -> FakeTripletex:
    """Two client companies under the accountant's token."""
    return FakeTripletex(generate_portfolio(PortfolioConfig(seed=3, companies=2, scale=0.05)))


def client_factory(fake: FakeTripletex) -> Callable[[str, str], TripletexClient]:
    """Clients of the in-process simulator."""

    def make(consumer: str, employee: str) -> TripletexClient:
        return TripletexClient(
            consumer,
            employee,
            base_url="http://tripletex.test/v2",
            transport=FakeTransport(fake),
            environ={},
        )

    return make


def accountant(
    fake: FakeTripletex, resources: tuple[str, ...] = ("customer",)
) -> tuple[Budget, Secrets]:
    """The accountant's budget (every client company), its tokens in a fake environment."""
    tokens = fake.credentials
    environ = {"CONSUMER": tokens.consumer_token, "EMPLOYEE": tokens.employee_token}
    id_ = budget_id(tokens.consumer_token, tokens.employee_token, KEY)
    budget = Budget(id_, "env:CONSUMER", "env:EMPLOYEE", "all", resources, "accountant")
    return budget, Secrets(environ)
