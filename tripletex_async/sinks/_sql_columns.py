"""Typed columns in SQL: the physical columns each `Column` becomes, the values bound for
them, and the SQL that derives them from a row's stored JSON.

The three must agree: a column filled from ``data`` (added to a table that already holds
rows, or refilled by a migration) holds what a sync would have written.

Exactness. PostgreSQL stores a ``decimal`` as ``numeric``, exactly. SQLite has no exact
decimal type, so a ``decimal`` column ``amount`` is two: ``amount`` (REAL, for filters
and charts) and ``amount_minor`` (INTEGER, the value in hundredths: øre for NOK), exact,
so ``SUM(amount_minor)`` over a balanced voucher is exactly 0. ``amount_minor`` is NULL
when the value has more than two decimals (unit prices may have up to ten) or is 10^15
or more in magnitude; ``data`` always holds the value as Tripletex sent it.

DuckDB stores a ``decimal`` as ``DECIMAL(38,10)`` (Tripletex unit prices have up to ten
decimals), exactly: a value that needs more than ten decimals, or 28 digits before the
point, is NULL, never rounded. DuckDB's JSON functions read numbers as doubles (only a
cast to DECIMAL sees the text, and it rounds), so the exact decimal of a stored record is
computed in Python by `json_decimal`, the same rule as a sync's, which a DuckDB sink
registers on its connection as the SQL function `DUCKDB_DECIMAL`.

Dates are ``date`` in PostgreSQL and DuckDB and ISO text (declared ``DATE``) in SQLite;
anything but a real ``YYYY-MM-DD`` date (Tripletex sends ``""`` for none) is NULL.
Timestamps are ``timestamptz`` / ISO text; a timestamp without an offset is Tripletex's
local time, Europe/Oslo.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from ._base import Column, ColumnKind
from ._common import check_name

__all__ = [
    "DUCKDB_DECIMAL",
    "DUCKDB_DECIMAL_TYPE",
    "MINOR_SUFFIX",
    "converter",
    "derive",
    "exact_decimal",
    "json_decimal",
    "physical",
]

#: The suffix of a decimal's exact column in SQLite.
MINOR_SUFFIX: Final = "_minor"

#: How many decimals, and digits in all, a DuckDB decimal column holds.
_SCALE: Final = 10
_PRECISION: Final = 38
#: The SQL type of a decimal column in DuckDB.
DUCKDB_DECIMAL_TYPE: Final = f"DECIMAL({_PRECISION},{_SCALE})"
#: The name of the SQL function (`json_decimal`, registered by the DuckDB sink) giving the
#: exact decimal at a path of a record's JSON.
DUCKDB_DECIMAL: Final = "tripletex_decimal"
_UNIT: Final = Decimal(1).scaleb(-_SCALE)
_WIDE: Final = Context(prec=_PRECISION + 2)

_OSLO: Final = ZoneInfo("Europe/Oslo")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MINOR_LIMIT: Final = 10**17
_HUNDRED: Final = Decimal(100)

#: SQLite's ``->`` (JSON text of a value, 3.38): the exact text of a number.
_SQLITE_ARROW: Final = sqlite3.sqlite_version_info >= (3, 38, 0)


def physical(engine: str, column: Column, types: Mapping[ColumnKind, str]) -> list[tuple[str, str]]:
    """``[(name, SQL type)]`` of the columns that store ``column``."""
    if engine == "sqlite" and column.kind == "decimal":
        return [(column.name, "REAL"), (column.name + MINOR_SUFFIX, "INTEGER")]
    return [(column.name, types[column.kind])]


# -- values bound for a row ------------------------------------------------------------


def _minor(value: Any) -> int | None:
    """A decimal in hundredths, when that is a whole number below the limit."""
    if value is None:
        return None
    try:
        scaled = Decimal(value) * _HUNDRED
        if scaled != scaled.to_integral_value() or abs(scaled) >= _MINOR_LIMIT:
            return None
    except (InvalidOperation, TypeError, ValueError):
        return None
    return int(scaled)


def exact_decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal DuckDB's ``DECIMAL(38,10)`` holds exactly; ``None`` when it
    needs more than ten decimals or 28 integer digits (never rounded), or is no number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        # A float is the number its shortest repr spells, as PostgreSQL reads a double.
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite() or number.adjusted() >= _PRECISION - _SCALE:
            return None
        # Exact in the wide context: equal only when no nonzero digit is past the tenth
        # decimal (12.50 and 1.000000000000 are kept).
        if number.quantize(_UNIT, context=_WIDE) != number:
            return None
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number


_decode_exact = msgspec.json.Decoder(float_hook=Decimal).decode


def json_decimal(data: str, path: str) -> Decimal | None:
    """The exact decimal (`exact_decimal`) at ``path`` (dotted) of a record's JSON; ``None``
    unless it is a JSON number. What DuckDB's `DUCKDB_DECIMAL` computes."""
    try:
        value: Any = _decode_exact(data)
    except msgspec.MsgspecError:
        return None
    for step in path.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    if not isinstance(value, int | Decimal) or isinstance(value, bool):
        return None
    return exact_decimal(value)


def _real(value: Any) -> float | None:
    return None if value is None else float(value)


def _date_text(value: Any) -> str | None:
    """An ISO date, as text; NULL for anything that is not a real date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    day = _date(value)
    return None if day is None else value


def _date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=_OSLO)


def _timestamp_text(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return value or None if isinstance(value, str) else None


#: Per engine and kind: the functions giving each physical column's value (none listed:
#: the value is bound as it is).
_CONVERT: Final[dict[str, dict[str, tuple[Callable[[Any], Any], ...]]]] = {
    "sqlite": {"decimal": (_real, _minor), "date": (_date_text,), "timestamp": (_timestamp_text,)},
    "postgres": {"date": (_date,), "timestamp": (_timestamp,)},
    # Arrow arrays take no Decimal in a double column, and round none into a decimal one.
    "duckdb": {
        "real": (_real,),
        "decimal": (exact_decimal,),
        "date": (_date,),
        "timestamp": (_timestamp,),
    },
}


@functools.lru_cache(maxsize=256)
def converter(
    engine: str, columns: tuple[Column, ...]
) -> Callable[[Sequence[object]], tuple[object, ...]] | None:
    """A function from a row's typed values (one per column) to the values bound for its
    physical columns; ``None`` when they are the same. Compiled once per table shape (a
    sink asks for every batch)."""
    table = _CONVERT[engine]
    if not any(c.kind in table for c in columns):
        return None
    namespace: dict[str, Any] = {}
    parts: list[str] = []
    for i, column in enumerate(columns):
        functions = table.get(column.kind, ())
        if not functions:
            parts.append(f"v[{i}]")
            continue
        for j, function in enumerate(functions):
            name = f"f{i}_{j}"
            namespace[name] = function
            parts.append(f"{name}(v[{i}])")
    exec(f"def convert(v):\n    return ({', '.join(parts)},)\n", namespace)
    convert: Callable[[Sequence[object]], tuple[object, ...]] = namespace["convert"]
    return convert


# -- the same values, derived in SQL from a row's ``data`` -----------------------------


def derive(engine: str, column: Column, source: str = "data") -> list[str]:
    """SQL expressions, one per physical column (as `physical`), computing the value of
    ``column`` from the JSON ``source`` (the row's ``data``; an element of a nested list
    for a child table), as `converter` would bind it."""
    path = [check_name(step, "JSON field name") for step in column.path]
    if engine == "sqlite":
        return _sqlite(column.kind, "$." + ".".join(path), source)
    if engine == "duckdb":
        return [_duckdb(column.kind, ".".join(path), source)]
    return [_postgres(column.kind, "{" + ",".join(path) + "}", source)]


def _sqlite(kind: str, path: str, source: str) -> list[str]:
    x, t = f"json_extract({source}, '{path}')", f"json_type({source}, '{path}')"
    number = f"{t} IN ('integer', 'real')"
    if kind == "integer":
        return [f"CASE WHEN {t} = 'integer' THEN {x} END"]
    if kind == "real":
        return [f"CASE WHEN {number} THEN CAST({x} AS REAL) END"]
    if kind == "decimal":
        minor = _sqlite_minor(path, number, source)
        return [f"CASE WHEN {number} THEN CAST({x} AS REAL) END", minor]
    if kind == "text":
        return [f"CASE WHEN {t} = 'text' THEN {x} END"]
    if kind == "boolean":
        return [f"CASE {t} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"]
    if kind == "date":
        return [f"CASE WHEN {t} = 'text' AND date({x}) IS {x} THEN {x} END"]
    return [f"CASE WHEN {t} = 'text' AND {x} <> '' THEN {x} END"]


def _sqlite_minor(path: str, number: str, source: str) -> str:
    """The hundredths of a JSON number, from its exact text (``->``, SQLite 3.38); older
    SQLite only has the number as a float, exact to about 15 digits."""
    if not _SQLITE_ARROW:  # pragma: no cover - the SQLite of CI has ->
        x = f"json_extract({source}, '{path}')"
        return (
            f"CASE WHEN {number} AND abs({x}) < 1e13 AND abs(round({x} * 100) - {x} * 100) "
            f"< 1e-6 THEN CAST(round({x} * 100) AS INTEGER) END"
        )
    raw = f"({source} -> '{path}')"
    # Without trailing zeros after the point: 12.340 -> 12.34, 12.0 -> 12.
    trimmed = f"(CASE WHEN instr({raw}, '.') > 0 THEN rtrim(rtrim({raw}, '0'), '.') ELSE {raw} END)"
    point = f"instr({trimmed}, '.')"
    decimals = f"(CASE WHEN {point} = 0 THEN 0 ELSE length({trimmed}) - {point} END)"
    digits = f"replace({trimmed}, '.', '')"
    return (
        f"CASE WHEN {number} AND {raw} NOT GLOB '*[eE]*' AND {decimals} <= 2 "
        f"AND length(ltrim(replace({digits}, '-', ''), '0')) <= 17 - (2 - {decimals}) "
        f"THEN CAST({digits} AS INTEGER) * (CASE {decimals} WHEN 0 THEN 100 WHEN 1 THEN 10 "
        "ELSE 1 END) END"
    )


#: A date PostgreSQL can hold, but for the day's range in its month (year 0001 on, as
#: Python's): checked apart, so that a cast never fails a whole statement.
_YMD: Final = (
    "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
)
_PG_DATE: Final = f"^{_YMD}$"
_PG_OFFSET: Final = "(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_PG_STAMP: Final = (
    f"^{_YMD}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{{1,9}})?)?"
    "(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)


def _postgres(kind: str, path: str, source: str) -> str:
    j, s = f"({source} #> '{path}')", f"({source} #>> '{path}')"
    typed = f"jsonb_typeof({j})"
    if kind == "integer":
        return f"CASE WHEN {typed} = 'number' AND {s} ~ '^-?[0-9]{{1,18}}$' THEN {s}::bigint END"
    if kind in ("real", "decimal"):
        cast = "double precision" if kind == "real" else "numeric"
        return f"CASE WHEN {typed} = 'number' THEN {s}::{cast} END"
    if kind == "text":
        return f"CASE WHEN {typed} = 'string' THEN {s} END"
    if kind == "boolean":
        return f"CASE WHEN {typed} = 'boolean' THEN {s}::boolean END"
    # The regex rules out what cannot be a date, the month's last day the rest; nested
    # CASEs, as only they fix the order PostgreSQL evaluates them in.
    first = f"(substr({s}, 1, 7) || '-01')::date"
    in_month = f"substr({s}, 9, 2)::int <= extract(day from {first} + interval '1 month - 1 day')"
    if kind == "date":
        return (
            f"CASE WHEN {typed} = 'string' AND {s} ~ '{_PG_DATE}' "
            f"THEN CASE WHEN {in_month} THEN {s}::date END END"
        )
    stamp = (
        f"CASE WHEN {s} ~ '{_PG_OFFSET}' THEN {s}::timestamptz "
        f"ELSE {s}::timestamp AT TIME ZONE 'Europe/Oslo' END"
    )
    return (
        f"CASE WHEN {typed} = 'string' AND {s} ~ '{_PG_STAMP}' "
        f"THEN CASE WHEN {in_month} THEN {stamp} END END"
    )


_DUCK_INTEGER: Final = "('BIGINT', 'UBIGINT')"
_DUCK_NUMBER: Final = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _duckdb(kind: str, path: str, source: str) -> str:
    if kind == "decimal":
        return f"{DUCKDB_DECIMAL}({source}, '{path}')"
    s, t = f"json_extract_string({source}, '$.{path}')", f"json_type({source}, '$.{path}')"
    if kind == "integer":
        return f"CASE WHEN {t} IN {_DUCK_INTEGER} THEN TRY_CAST({s} AS BIGINT) END"
    if kind == "real":
        return f"CASE WHEN {t} IN {_DUCK_NUMBER} THEN CAST({s} AS DOUBLE) END"
    if kind == "text":
        return f"CASE WHEN {t} = 'VARCHAR' THEN {s} END"
    if kind == "boolean":
        return f"CASE WHEN {t} = 'BOOLEAN' THEN {s} = 'true' END"
    if kind == "date":
        day = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
        return (
            f"CASE WHEN {t} = 'VARCHAR' AND regexp_full_match({s}, '{day}') "
            f"THEN TRY_CAST({s} AS DATE) END"
        )
    stamp = f"{t} = 'VARCHAR' AND regexp_matches({s}, '{_PG_STAMP}')"
    return (
        f"CASE WHEN {stamp} THEN CASE WHEN regexp_matches({s}, '{_PG_OFFSET}') "
        f"THEN TRY_CAST({s} AS TIMESTAMPTZ) "
        f"ELSE TRY_CAST({s} AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo' END END"
    )
