"""The workload every contender of ``portfolio.py`` runs, defined once.

One resource (``customer``) and one ``fields=`` selection, taken from the engine's own
`Resource`, so that every contender asks the same query (the simulator caches its pages
under it). The baselines write one fixed table layout, the engine's at schema version 3
(``company_id, id, data, _date, _scan, _version, _part`` and one typed column per scalar
field or reference under its API name: ``name``, ``currency_id``, amounts as REAL), so
their speed is a fixed reference while the engine's layout evolves. The table helpers
take any `Resource`: the field scenario (``_field.py``) writes every resource the same
way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from tripletex_async import RESOURCES, Ref, Resource
from tripletex_async.sinks import Row, Table

__all__ = [
    "FieldWorkload",
    "SmallCustomer",
    "Spec",
    "Workload",
    "dict_values",
    "insert_sql",
    "resource",
    "row_maker",
    "sqlite_ddl",
    "struct_values",
]


class SmallCustomer(msgspec.Struct, kw_only=True, gc=False):
    """The narrow view: 8 of the customer's 46 fields."""

    id: int
    version: int | None = None
    name: str | None = None
    organizationNumber: str | None = None  # noqa: N815 - Tripletex's name
    customerNumber: int | None = None  # noqa: N815
    email: str | None = None
    isInactive: bool | None = None  # noqa: N815
    currency: Ref | None = None


@dataclass(frozen=True, slots=True)
class Workload:
    """How much data the simulator serves, and how it is asked for."""

    companies: int
    records_per_company: int
    page_size: int = 1000
    latency_ms: float = 50.0
    #: ``LIMIT/SECONDS`` per token, or none.
    rate_limit: str | None = None
    page_cache_mb: int = 1024

    @property
    def records(self) -> int:
        """Records in the whole portfolio."""
        return self.companies * self.records_per_company

    def simulator_flags(self) -> list[str]:
        """Flags of ``_simulator.py`` serving this workload."""
        flags = [
            "--companies",
            str(self.companies),
            "--records-per-company",
            str(self.records_per_company),
            "--latency-ms",
            f"{self.latency_ms:g}",
            "--page-cache-mb",
            str(self.page_cache_mb),
        ]
        return flags + (["--rate-limit", self.rate_limit] if self.rate_limit else [])


@dataclass(frozen=True, slots=True)
class FieldWorkload:
    """The field scenario's portfolio (``_field.py``): sizes spread per company, some
    empty, some heavy, every resource; and the simulator's behaviour serving it."""

    companies: int = 100
    empty_companies: int = 10
    heavy_companies: int = 4
    scale: float = 1.0
    seed: int = 1
    latency_ms: float = 50.0
    latency_per_row_us: float = 0.0
    rate_limit: str = "100/6"
    #: The naive loop's ``count`` (the engine keeps its own default).
    page_size: int = 1000
    page_cache_mb: int = 1024
    #: The resources synced: ``default`` (the 17) or ``all`` (every list endpoint).
    resources: str = "default"

    @property
    def synced(self) -> tuple[str, ...]:
        """The names of the resources synced."""
        from tripletex_async import DEFAULT_RESOURCES

        return tuple(RESOURCES) if self.resources == "all" else DEFAULT_RESOURCES

    @property
    def limit(self) -> tuple[int, float]:
        """(calls, seconds) of the rate limit."""
        calls, _, period = self.rate_limit.partition("/")
        return int(calls), float(period)

    @property
    def fresh_window(self) -> float:
        """Seconds to wait before a run so that it starts in a rate window of its own
        (the token's last one has ended)."""
        period = self.limit[1]
        return period + min(period, 0.5)

    def portfolio_flags(self) -> list[str]:
        """The simulator's flags that decide the data."""
        return [
            "--companies", str(self.companies),
            "--empty-companies", str(self.empty_companies),
            "--heavy-companies", str(self.heavy_companies),
            "--scale", f"{self.scale:g}",
            "--seed", str(self.seed),
        ]  # fmt: skip

    def simulator_flags(self) -> list[str]:
        """Flags of ``_simulator.py --field`` serving this workload."""
        return [
            "--field",
            *self.portfolio_flags(),
            "--latency-ms", f"{self.latency_ms:g}",
            "--latency-per-row-us", f"{self.latency_per_row_us:g}",
            "--rate-limit", self.rate_limit,
            "--page-cache-mb", str(self.page_cache_mb),
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Spec:
    """Everything a contender subprocess needs: where, as whom, what and into where."""

    contender: str
    api: str
    consumer_token: str
    employee_token: str
    companies: list[int]
    page_size: int
    narrow: bool
    #: A SQLite file, a duckdb file (dlt) or a PostgreSQL URL.
    target: str
    #: PostgreSQL only: the (fresh) schema the sink writes into.
    schema: str = ""
    #: Requests the hand-written pipeline keeps in flight.
    concurrency: int = 64
    #: The field scenario: every resource of every client company (``_field.py``); the
    #: engine with its defaults, ``companies`` and ``page_size`` left to each contender.
    field: bool = False
    #: The field scenario's resources (`FieldWorkload.synced`).
    resources: tuple[str, ...] = ()

    def to_json(self) -> str:
        """For the command line of the subprocess."""
        return msgspec.json.encode(dataclasses.asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """The inverse of `to_json`."""
        fields = msgspec.json.decode(text)
        fields["resources"] = tuple(fields.get("resources", ()))
        return cls(**fields)


def resource(narrow: bool) -> Resource:
    """The engine's customer resource, or its 8-field view."""
    full = RESOURCES["customer"]
    return full.with_model(SmallCustomer) if narrow else full


# The baselines write a fixed reference: the engine's table layout as it was at schema
# version 3 (before snake_case names and exact types), so that "engine vs raw" measures
# the engine against the same hand-written pipeline from one release to the next.

#: Columns every version-3 table had, before its typed ones.
_V3_INTERNAL = ("company_id", "id", "data", "_date", "_scan", "_version", "_part")
#: Version 3's SQLite type of each column kind (amounts were floats, dates text).
_V3_TYPES = {
    "integer": "INTEGER",
    "real": "REAL",
    "decimal": "REAL",
    "text": "TEXT",
    "boolean": "INTEGER",
    "date": "TEXT",
    "timestamp": "TEXT",
}


def _v3_columns(table: Table) -> list[tuple[str, str]]:
    """``(name, SQLite type)`` of each typed column as version 3 named it: the API field's
    own name, ``<field>_id`` for a reference."""
    return [
        ("_".join(c.path) if len(c.path) > 1 else c.path[0], _V3_TYPES[c.kind])
        for c in table.columns
    ]


def sqlite_ddl(res: Resource) -> list[str]:
    """The version-3 DDL of the resource's table (key, date index and typed columns)."""
    table = res.table()
    name = table.folder
    typed = "".join(f', "{n}" {t}' for n, t in _v3_columns(table))
    return [
        f'CREATE TABLE IF NOT EXISTS "{name}" (company_id INTEGER NOT NULL, '
        'id INTEGER NOT NULL, data TEXT NOT NULL, "_date" TEXT, "_scan" TEXT, '
        f'"_version" INTEGER, "_part" TEXT{typed}, PRIMARY KEY (company_id, id))',
        f'CREATE INDEX IF NOT EXISTS "{name}_company_date" ON "{name}" (company_id, "_date")',
    ]


def insert_sql(res: Resource) -> str:
    """``INSERT OR REPLACE`` of one row into the version-3 columns."""
    table = res.table()
    names = [*_V3_INTERNAL, *(n for n, _ in _v3_columns(table))]
    quoted = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" * len(names))
    return f'INSERT OR REPLACE INTO "{table.folder}" ({quoted}) VALUES ({marks})'


def row_maker(res: Resource) -> Callable[[int, int, str, object, tuple[object, ...]], Row]:
    """``(company, id, data, version, typed values)`` to a row for `insert_sql`; the
    internal columns the baselines do not know (``_date``, ``_scan``, ``_part``) stay
    NULL."""
    known = {"company_id": 0, "id": 1, "data": 2, "_version": 3}
    picks = [known.get(name) for name in _V3_INTERNAL]

    def make(company: int, id_: int, data: str, version: object, typed: tuple[object, ...]) -> Row:
        given = (company, id_, data, version)
        return (*[None if i is None else given[i] for i in picks], *typed)

    return make


def _typed(table: Table) -> list[tuple[str, bool]]:
    """(field name, is a reference) per typed column, in column order."""
    return [(c.path[0], len(c.path) > 1) for c in table.columns]


def dict_values(res: Resource) -> Callable[[dict[str, Any]], tuple[object, ...]]:
    """Typed column values of a record decoded by ``json`` (a dict)."""
    assert res.model is not None
    typed = _typed(res.table())

    def values(record: dict[str, Any]) -> tuple[object, ...]:
        out: list[object] = []
        for name, ref in typed:
            value = record.get(name)
            out.append((value or {}).get("id") if ref else value)
        return tuple(out)

    return values


def struct_values(res: Resource) -> Callable[[Any], tuple[object, ...]]:
    """Typed column values of a record decoded into the resource's Struct."""
    assert res.model is not None
    typed = _typed(res.table())
    unset = msgspec.UNSET

    def values(obj: Any) -> tuple[object, ...]:
        out: list[object] = []
        for name, ref in typed:
            value = getattr(obj, name)
            if ref:
                value = getattr(value, "id", None)
            elif isinstance(value, Decimal):  # version 3 stored amounts as floats
                value = float(value)
            out.append(None if value is unset else value)
        return tuple(out)

    return values
