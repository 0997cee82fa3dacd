"""`BudgetStore`: the registered budgets and how their runs went, in PostgreSQL.

Beside procrastinate's own tables, in a schema of ours (``tripletex_workers`` unless
told otherwise)::

    budgets(id PRIMARY KEY, label, consumer_ref, employee_ref, companies, resources,
            weight, registered_at,
            state,              new | running | more | done | busy | needs_reauth | failed
            chain_started_at,   when the current chain of slices began
            last_done_at,       when a chain last ended with nothing left
            last_slice_at, slices, chain_requests, message,
            slice_token)        the slice recording it: a frozen slice cannot overwrite a newer one
    plan(id = 1, planned_at, budgets, makespan_seconds, estimated_finish)

No token is stored: a budget holds references (``env:NAME``, ``file:PATH#KEY``). The
``weight`` of a budget is the requests its last complete chain took: the planner runs the
heaviest first.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from ..client._errors import ConfigurationError
from ..sinks._common import check_name
from ._budget import Budget, Companies
from ._slice import SliceResult

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = ["BudgetRow", "BudgetStore", "PlanRow"]

DEFAULT_SCHEMA = "tripletex_workers"


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """A budget and how its runs went (`BudgetStore.rows`)."""

    budget: Budget
    state: str
    chain_started_at: datetime | None
    last_done_at: datetime | None
    last_slice_at: datetime | None
    slices: int
    chain_requests: int
    #: How long its last complete chain took, first slice to last (0: none yet).
    last_chain_seconds: float
    message: str


@dataclass(frozen=True, slots=True)
class PlanRow:
    """The last plan: when, how many budgets, and its estimated makespan."""

    planned_at: datetime
    budgets: int
    makespan_seconds: float
    estimated_finish: datetime


class BudgetStore:
    """Registered budgets in PostgreSQL; ``async with BudgetStore(url) as store`` (its
    own connection, the tables created if missing), or `borrowing` a connection."""

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA) -> None:
        self._url = url
        self.schema = check_name(schema, "schema name")
        self._connection: AsyncConnection[Any] | None = None
        self._owned = True

    @classmethod
    def borrowing(cls, connection: AsyncConnection[Any], *, schema: str = DEFAULT_SCHEMA) -> Self:
        """A store on ``connection`` (not closed, committed or created by it): its
        statements join the transaction the caller has open. The tables must exist (a
        registration made them)."""
        store = cls("", schema=schema)
        store._connection, store._owned = connection, False
        return store

    def __repr__(self) -> str:
        return f"<BudgetStore schema {self.schema}>"

    async def __aenter__(self) -> Self:
        import psycopg

        self._connection = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        await self._create()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._owned:
            await connection.close()

    @property
    def _conn(self) -> AsyncConnection[Any]:
        if self._connection is None:
            raise ConfigurationError(f"{self!r} is not open")
        return self._connection

    async def _create(self) -> None:
        s = self.schema
        async with self._conn.transaction():
            # Two workers starting at once must not race on CREATE: one at a time.
            await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (s,))
            await self._conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
            await self._conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.budgets (
                    id text PRIMARY KEY,
                    label text NOT NULL DEFAULT '',
                    consumer_ref text NOT NULL,
                    employee_ref text NOT NULL,
                    companies text NOT NULL,
                    resources text NOT NULL DEFAULT '',
                    weight bigint NOT NULL DEFAULT 0,
                    registered_at timestamptz NOT NULL DEFAULT now(),
                    state text NOT NULL DEFAULT 'new',
                    chain_started_at timestamptz,
                    last_done_at timestamptz,
                    last_slice_at timestamptz,
                    slices integer NOT NULL DEFAULT 0,
                    chain_requests bigint NOT NULL DEFAULT 0,
                    last_chain_seconds double precision NOT NULL DEFAULT 0,
                    message text NOT NULL DEFAULT '',
                    slice_token text NOT NULL DEFAULT '')"""
            )
            await self._conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.plan (
                    id integer PRIMARY KEY CHECK (id = 1),
                    planned_at timestamptz NOT NULL,
                    budgets integer NOT NULL,
                    makespan_seconds double precision NOT NULL,
                    estimated_finish timestamptz NOT NULL)"""
            )

    async def register(self, budgets: Sequence[Budget]) -> int:
        """Add budgets or update their references, companies and resources (their run
        history stays; one waiting for new tokens is planned again); how many were new."""
        rows = [
            (
                b.id, b.label, b.consumer_ref, b.employee_ref, _companies_text(b.companies),
                ",".join(b.resources), b.weight,
            )
            for b in budgets
        ]  # fmt: skip
        async with self._conn.transaction(), self._conn.cursor() as cursor:
            await cursor.execute(f"SELECT count(*) FROM {self.schema}.budgets")
            before = (await cursor.fetchone() or (0,))[0]
            await cursor.executemany(
                f"""INSERT INTO {self.schema}.budgets
                    (id, label, consumer_ref, employee_ref, companies, resources, weight)
                    VALUES (%s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT (id) DO UPDATE SET label = excluded.label,
                    consumer_ref = excluded.consumer_ref, employee_ref = excluded.employee_ref,
                    companies = excluded.companies, resources = excluded.resources,
                    state = CASE WHEN budgets.state = 'needs_reauth' THEN 'new'
                        ELSE budgets.state END""",
                rows,
            )
            await cursor.execute(f"SELECT count(*) FROM {self.schema}.budgets")
            after = (await cursor.fetchone() or (0,))[0]
        return int(after) - int(before)

    async def get(self, id_: str) -> Budget | None:
        """The budget registered under ``id_``."""
        cursor = await self._conn.execute(
            f"{_SELECT} FROM {self.schema}.budgets WHERE id = %s", (id_,)
        )
        row = await cursor.fetchone()
        return None if row is None else _budget(row)

    async def rows(self) -> list[BudgetRow]:
        """Every budget with its run history, heaviest first."""
        cursor = await self._conn.execute(
            f"{_SELECT}, state, chain_started_at, last_done_at, last_slice_at, slices, "
            f"chain_requests, last_chain_seconds, message FROM {self.schema}.budgets "
            "ORDER BY weight DESC, id"
        )
        return [BudgetRow(_budget(r[:8]), *r[8:]) for r in await cursor.fetchall()]

    async def due(self, cutoff: datetime) -> list[BudgetRow]:
        """Budgets whose last complete chain ended before ``cutoff``, but for those
        waiting for new tokens."""
        return [
            r
            for r in await self.rows()
            if (r.last_done_at is None or r.last_done_at < cutoff) and r.state != "needs_reauth"
        ]

    async def started(self, id_: str) -> str:
        """A slice of ``id_`` began (a chain begins unless the last slice left more);
        the slice's token, which `finished` and `failed` need: a slice whose budget was
        taken over meanwhile (its worker frozen) then records nothing over the newer
        slice's record."""
        token = secrets.token_hex(8)
        await self._conn.execute(
            f"""UPDATE {self.schema}.budgets SET state = 'running', last_slice_at = now(),
                slice_token = %s,
                chain_started_at = CASE WHEN state = 'more' THEN chain_started_at ELSE now() END,
                chain_requests = CASE WHEN state = 'more' THEN chain_requests ELSE 0 END
                WHERE id = %s""",
            (token, id_),
        )
        return token

    async def finished(self, id_: str, token: str, result: SliceResult) -> bool:
        """A slice of ``id_`` ended with ``result``; a chain ending ``done`` sets the
        budget's weight to what the chain cost. False if a later slice of the budget
        began meanwhile (this one's worker was frozen): nothing recorded."""
        params = {
            "id": id_,
            "token": token,
            "state": result.status,
            "message": result.message[:500],
            "requests": result.requests,
            "done": result.status == "done",
        }
        cursor = await self._conn.execute(
            f"""UPDATE {self.schema}.budgets SET state = %(state)s, message = %(message)s,
                slices = slices + 1, chain_requests = chain_requests + %(requests)s,
                last_done_at = CASE WHEN %(done)s THEN now() ELSE last_done_at END,
                weight = CASE WHEN %(done)s THEN chain_requests + %(requests)s ELSE weight END,
                last_chain_seconds = CASE WHEN %(done)s
                    THEN extract(epoch FROM now() - chain_started_at) ELSE last_chain_seconds END
                WHERE id = %(id)s AND slice_token = %(token)s""",
            params,
        )
        return cursor.rowcount == 1

    async def failed(self, id_: str, token: str, message: str) -> None:
        """A slice of ``id_`` raised (its job failed): say so, never a token."""
        await self._conn.execute(
            f"UPDATE {self.schema}.budgets SET state = 'failed', message = %s "
            "WHERE id = %s AND slice_token = %s",
            (message[:500], id_, token),
        )

    async def save_plan(self, plan: PlanRow) -> None:
        """Note the plan just made."""
        await self._conn.execute(
            f"""INSERT INTO {self.schema}.plan VALUES (1, %s, %s, %s, %s)
                ON CONFLICT (id) DO UPDATE SET planned_at = excluded.planned_at,
                budgets = excluded.budgets, makespan_seconds = excluded.makespan_seconds,
                estimated_finish = excluded.estimated_finish""",
            (plan.planned_at, plan.budgets, plan.makespan_seconds, plan.estimated_finish),
        )

    async def plan(self) -> PlanRow | None:
        """The last plan, if any."""
        cursor = await self._conn.execute(
            "SELECT planned_at, budgets, makespan_seconds, estimated_finish "
            f"FROM {self.schema}.plan"
        )
        row = await cursor.fetchone()
        return None if row is None else PlanRow(*row)


_SELECT = (
    "SELECT id, consumer_ref, employee_ref, companies, resources, label, weight, registered_at"
)


def _budget(row: Sequence[Any]) -> Budget:
    id_, consumer, employee, companies, resources, label, weight = row[:7]
    return Budget(
        str(id_),
        str(consumer),
        str(employee),
        _companies(str(companies)),
        tuple(r for r in str(resources).split(",") if r),
        str(label),
        int(weight),
    )


def _companies_text(companies: Companies) -> str:
    return companies if isinstance(companies, str) else ",".join(map(str, companies))


def _companies(text: str) -> Companies:
    if text in ("own", "all"):
        return text  # type: ignore[return-value]
    return tuple(int(c) for c in text.split(","))
