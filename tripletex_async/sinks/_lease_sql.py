"""The SQL of leases, shared by the SQLite and PostgreSQL sinks (see `._lease`).

Two tables: ``_tripletex_lease_holder`` (one row per live acquisition: its epoch, who, the
last heartbeat and its time to live) and ``_tripletex_lease`` (which epoch holds each
company). The epoch counter lives in ``_tripletex_meta`` and only grows, so an epoch is
never handed out twice. A holder whose lease is taken over loses its holder row: every
fenced write checks that row, in its own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

from ._lease import Holder, HolderRecord
from ._sql import Dialect, ident

__all__ = [
    "HOLDER",
    "LEASE",
    "check_fence",
    "conflicts",
    "delete_holder",
    "holder_insert",
    "holder_record",
    "holder_values",
    "lease_ddl",
    "renew",
    "scope_upsert",
    "scopes_param",
    "taker",
    "taker_holder",
]

HOLDER = "_tripletex_lease_holder"
LEASE = "_tripletex_lease"
_HOLDER_COLUMNS = ("epoch", "host", "pid", "process", "started_at", "heartbeat", "ttl", "backend")


def lease_ddl(d: Dialect) -> list[str]:
    """Create the holder and lease tables."""
    integer, real = d.types["integer"], d.types["real"]
    return [
        f"CREATE TABLE IF NOT EXISTS {d.table(HOLDER)} (epoch {integer} PRIMARY KEY, "
        f"host TEXT NOT NULL, pid {integer} NOT NULL, process TEXT NOT NULL, "
        f"started_at TEXT NOT NULL, heartbeat {real} NOT NULL, ttl {real} NOT NULL, "
        f"backend {integer})",
        f"CREATE TABLE IF NOT EXISTS {d.table(LEASE)} "
        f"(scope {integer} PRIMARY KEY, epoch {integer} NOT NULL)",
    ]


def scopes_param(d: Dialect, scopes: Collection[int]) -> object:
    """The wanted scopes as the one parameter of `conflicts`."""
    ids = sorted(scopes)
    return json.dumps(ids) if d.ids_as_json else ids


def conflicts(d: Dialect) -> str:
    """The holders of any of the wanted scopes (one parameter), with how many they hold."""
    columns = ", ".join(f"h.{ident(c)}" for c in _HOLDER_COLUMNS)
    inside = (
        f"l.scope IN (SELECT value FROM json_each({d.param}))"
        if d.ids_as_json
        else f"l.scope = ANY({d.param})"
    )
    return (
        f"SELECT {columns}, count(*) FROM {d.table(LEASE)} l "
        f"JOIN {d.table(HOLDER)} h ON h.epoch = l.epoch WHERE {inside} GROUP BY {columns}"
    )


def holder_record(row: Sequence[object]) -> tuple[HolderRecord, int | None]:
    """A row of `conflicts` as a record, and the holder's database session (PostgreSQL)."""
    epoch, host, pid, process, started_at, heartbeat, ttl, backend, overlap = row
    holder = _holder((host, pid, started_at, process))
    record = HolderRecord(
        int(str(epoch)), holder, float(str(heartbeat)), float(str(ttl)), int(str(overlap))
    )
    return record, None if backend is None else int(str(backend))


def holder_insert(d: Dialect) -> str:
    """Insert a holder row (every `_HOLDER_COLUMNS` value)."""
    names = ", ".join(ident(c) for c in _HOLDER_COLUMNS)
    return f"INSERT INTO {d.table(HOLDER)} ({names}) VALUES ({d.params(len(_HOLDER_COLUMNS))})"


def holder_values(
    epoch: int, holder: Holder, now: float, ttl: float, backend: int | None
) -> tuple[object, ...]:
    """The parameters of `holder_insert`."""
    return (epoch, holder.host, holder.pid, holder.process, holder.started_at, now, ttl, backend)


def scope_upsert(d: Dialect) -> str:
    """Give one scope to an epoch (scope, epoch)."""
    return (
        f"INSERT INTO {d.table(LEASE)} (scope, epoch) VALUES ({d.param}, {d.param}) "
        "ON CONFLICT (scope) DO UPDATE SET epoch = excluded.epoch"
    )


def delete_holder(d: Dialect) -> list[str]:
    """Remove an epoch's holder row and its scopes (one parameter each: the epoch).

    The holder first: a taker locks the holder table, then the lease rows, and a release
    taking them in the other order deadlocked with it (PostgreSQL, many workers)."""
    return [
        f"DELETE FROM {d.table(HOLDER)} WHERE epoch = {d.param}",
        f"DELETE FROM {d.table(LEASE)} WHERE epoch = {d.param}",
    ]


def check_fence(d: Dialect, *, lock: bool) -> str:
    """A row when the epoch still holds its lease; ``lock`` keeps a takeover waiting until
    the checking transaction ends (PostgreSQL, whose transactions run side by side)."""
    return f"SELECT 1 FROM {d.table(HOLDER)} WHERE epoch = {d.param}" + (
        " FOR SHARE" if lock else ""
    )


def taker(d: Dialect) -> str:
    """Who holds one scope now (one parameter): for the message of a lost lease."""
    return (
        f"SELECT h.host, h.pid, h.started_at, h.process FROM {d.table(LEASE)} l "
        f"JOIN {d.table(HOLDER)} h ON h.epoch = l.epoch WHERE l.scope = {d.param}"
    )


def taker_holder(row: Sequence[object] | None) -> Holder | None:
    """A row of `taker` as a `Holder`."""
    return None if row is None else _holder(row)


def _holder(row: Sequence[object]) -> Holder:
    host, pid, started_at, process = row
    return Holder(str(host), int(str(pid)), str(started_at), str(process))


def renew(d: Dialect) -> str:
    """Set a holder's heartbeat (now, epoch); no row updated means it was taken over."""
    return f"UPDATE {d.table(HOLDER)} SET heartbeat = {d.param} WHERE epoch = {d.param}"
