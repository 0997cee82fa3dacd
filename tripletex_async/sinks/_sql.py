"""SQL shared by the SQLite, PostgreSQL and DuckDB sinks: DDL, upserts, deletions and state.

Statements differ between them only in parameter style, column types and the schema
qualifier, which a `Dialect` carries; how each typed column is stored is `_sql_columns`'.
Every identifier passes `ident` (checked, quoted); every value is a parameter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ._base import (
    SCHEMA_VERSION,
    Batch,
    ChildTable,
    Column,
    ColumnKind,
    SinkError,
    StateKey,
    Table,
    WindowState,
)
from ._common import (
    INTERNAL_COLUMNS,
    INTERNAL_DESCRIPTIONS,
    MAX_NAME,
    Checked,
    check_name,
    checked_rows,
    pending_migrations,
    row_scan,
)
from ._names import table_name
from ._sql_columns import DUCKDB_DECIMAL_TYPE, converter, derive, physical

__all__ = [
    "CHILD_TABLE",
    "DUCKDB",
    "MIGRATIONS",
    "SQLITE",
    "V3_COLUMNS",
    "Dialect",
    "MetaKey",
    "Statement",
    "add_columns",
    "after_upsert",
    "base_ddl",
    "deferred_indexes",
    "ident",
    "index_statements",
    "insert_columns",
    "meta_query",
    "meta_upsert",
    "migration_statements",
    "pending_query",
    "postgres_dialect",
    "read_query",
    "state_from_row",
    "state_query",
    "table_ddl",
    "table_statements",
    "upsert_conflict",
    "upsert_rows",
    "upsert_tail",
    "upsert_values",
]

META = "_tripletex_meta"
STATE = "_tripletex_state"

#: The state table's columns: the `StateKey` fields (its primary key), then the
#: `WindowState` fields, in the order `state_from_row` reads them.
_KEY_COLUMNS: Final[tuple[tuple[str, ColumnKind], ...]] = (
    ("connection", "text"),
    ("company_id", "integer"),
    ("resource", "text"),
    ("window_from", "text"),
    ("window_to", "text"),
    ("fields_hash", "text"),
    ("partition", "text"),
)
_STATE_COLUMNS: Final[tuple[tuple[str, ColumnKind], ...]] = (
    ("scan", "text"),
    ("next_from", "integer"),
    ("complete", "boolean"),
    ("digest", "text"),
    ("watermark", "text"),
    ("records", "integer"),
    ("updated_at", "text"),
    ("verified_at", "text"),
)

#: One statement and the parameter tuples to run it with (``executemany``).
Statement = tuple[str, list[tuple[object, ...]]]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells parameters, types and table names."""

    #: ``"sqlite"``, ``"postgres"`` or ``"duckdb"``: how typed columns are stored
    #: (`_sql_columns`).
    engine: str
    param: str
    types: Mapping[ColumnKind, str]
    data_type: str
    #: True when ``id`` is outside a list of ids passed as one parameter.
    not_in_ids: str
    #: True when ``{column}`` is in a list of ids passed as one parameter (as above).
    in_ids: str
    #: Whether that parameter is a JSON array (SQLite has no arrays) rather than a list.
    ids_as_json: bool = False
    #: Selects ``data`` as JSON text.
    data_out: str = '"data"'
    #: Schema qualifier put before table names (``"name".``), empty for none.
    prefix: str = ""
    #: ``SET "_version" = ... [WHERE ...]``: the record's integer ``version`` from ``data``
    #: (the version 1 to 2 migration); rows without one keep NULL.
    version_backfill: str = ""
    #: SQLite cannot change a table's primary key in place: such changes rebuild it.
    rebuild_to_change_key: bool = False
    #: Whether tables and columns take ``COMMENT ON`` (their descriptions).
    comments: bool = False
    #: Whether tables get secondary indexes (`table_ddl`, `index_statements`).
    indexes: bool = True

    def table(self, name: str) -> str:
        """A table's qualified, quoted name."""
        return self.prefix + ident(name)

    def params(self, count: int) -> str:
        """``count`` comma-separated parameter placeholders."""
        return ", ".join([self.param] * count)


SQLITE: Final = Dialect(
    engine="sqlite",
    param="?",
    # Declared types BI tools read; SQLite stores dates and timestamps as ISO text and
    # booleans as 0/1 (a decimal is two columns, see `_sql_columns`).
    types={
        "integer": "INTEGER",
        "real": "REAL",
        "decimal": "REAL",
        "text": "TEXT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
    },
    data_type="TEXT",
    not_in_ids="id NOT IN (SELECT value FROM json_each(?))",
    in_ids="{column} IN (SELECT value FROM json_each(?))",
    ids_as_json=True,
    rebuild_to_change_key=True,
    # CASE evaluates lazily: json_type never sees text that is not JSON.
    version_backfill="""SET "_version" = CASE WHEN json_valid(data) THEN """
    """CASE json_type(data, '$.version') WHEN 'integer' THEN """
    """json_extract(data, '$.version') END END""",
)


DUCKDB: Final = Dialect(
    engine="duckdb",
    param="?",
    types={
        "integer": "BIGINT",
        "real": "DOUBLE",
        "decimal": DUCKDB_DECIMAL_TYPE,
        "text": "VARCHAR",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMPTZ",
    },
    # DuckDB's JSON type checks the text and keeps it as given: `read` gives the bytes back.
    data_type="JSON",
    data_out='CAST("data" AS VARCHAR)',
    not_in_ids="id <> ALL(?)",
    in_ids="{column} = ANY(?)",
    # DuckDB cannot drop or add a primary key in place either.
    rebuild_to_change_key=True,
    # No secondary index: DuckDB's min-max zone maps already serve filters on company and
    # date, and an index slows a bulk load and cannot be built after an UPDATE in the same
    # transaction (adding a reference column to a table that holds rows).
    indexes=False,
    version_backfill="""SET "_version" = CASE WHEN json_type(data, '$.version') """
    """IN ('BIGINT', 'UBIGINT') THEN TRY_CAST(json_extract_string(data, '$.version') """
    """AS BIGINT) END""",
)


def postgres_dialect(schema: str) -> Dialect:
    """PostgreSQL with every table in ``schema``."""
    return Dialect(
        engine="postgres",
        param="%s",
        types={
            "integer": "bigint",
            "real": "double precision",
            "decimal": "numeric",
            "text": "text",
            "boolean": "boolean",
            "date": "date",
            "timestamp": "timestamptz",
        },
        data_type="jsonb",
        data_out='"data"::text',
        prefix=ident(schema) + ".",
        comments=True,
        not_in_ids="id <> ALL(%s)",
        in_ids="{column} = ANY(%s)",
        version_backfill="""SET "_version" = (data->>'version')::bigint """
        """WHERE jsonb_typeof(data->'version') = 'number' """
        """AND data->>'version' ~ '^-?[0-9]{1,18}$'""",
    )


def ident(name: str) -> str:
    """``name`` checked and double-quoted (API field names are camelCase)."""
    return f'"{check_name(name, "identifier")}"'


def _column_list(names: Sequence[str]) -> str:
    return ", ".join(ident(name) for name in names)


def base_ddl(d: Dialect) -> list[str]:
    """Create the meta and state tables."""
    key = ", ".join(ident(name) for name, _ in _KEY_COLUMNS)
    columns = ", ".join(
        f"{ident(name)} {d.types[kind]}" + (" NOT NULL" if (name, kind) in _KEY_COLUMNS else "")
        for name, kind in (*_KEY_COLUMNS, *_STATE_COLUMNS)
    )
    return [
        f"CREATE TABLE IF NOT EXISTS {d.table(META)} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {d.table(STATE)} ({columns}, PRIMARY KEY ({key}))",
    ]


#: The columns that make a table one of ours (a resource table, not meta or state).
_RESOURCE_TABLE = frozenset({"company_id", "id", "data", "_scan"})


def _add_version_column(d: Dialect, existing: Mapping[str, Collection[str]]) -> list[str]:
    """Version 1 to 2: every resource table gets ``_version``, filled from its records."""
    out: list[str] = []
    for name, columns in sorted(existing.items()):
        if not _RESOURCE_TABLE.issubset(columns) or "_version" in columns:
            continue
        integer = d.types["integer"]
        out.append(f'ALTER TABLE {d.table(name)} ADD COLUMN "_version" {integer}')
        out.append(f"UPDATE {d.table(name)} {d.version_backfill}")
    return out


#: ``MIGRATIONS[n - 1]`` upgrades schema version ``n`` to ``n + 1``: given the columns of
#: every table of the database (schema), the statements to run. Changing the schema means
#: bumping `SCHEMA_VERSION` and appending one step here.
def _add_partitions(d: Dialect, existing: Mapping[str, Collection[str]]) -> list[str]:
    """Version 2 to 3: resource tables get ``_part``; the state key gets ``partition``
    (``""`` for every stored state) and the state ``verified_at`` (unknown: empty)."""
    out = [
        f'ALTER TABLE {d.table(name)} ADD COLUMN "_part" TEXT'
        for name, columns in sorted(existing.items())
        if _RESOURCE_TABLE.issubset(columns) and "_part" not in columns
    ]
    state, old = d.table(STATE), existing.get(STATE, ())
    if "partition" in old:
        return out
    if d.rebuild_to_change_key:
        kept = _column_list([n for n, _ in (*_KEY_COLUMNS, *_STATE_COLUMNS) if n in old])
        new = d.table(STATE + "_v3")
        out += [
            base_ddl(d)[1].replace(state, new),
            f"INSERT INTO {new} ({kept}, \"partition\") SELECT {kept}, '' FROM {state}",
            f"DROP TABLE {state}",
            f"ALTER TABLE {new} RENAME TO {ident(STATE)}",
        ]
        return out
    key = _column_list([name for name, _ in _KEY_COLUMNS])
    return [
        *out,
        f"ALTER TABLE {state} ADD COLUMN \"partition\" TEXT NOT NULL DEFAULT ''",
        f'ALTER TABLE {state} ADD COLUMN "verified_at" TEXT',
        f"ALTER TABLE {state} DROP CONSTRAINT {ident(STATE + '_pkey')}",
        f"ALTER TABLE {state} ADD PRIMARY KEY ({key})",
    ]


#: Meta keys ``v3_columns:<table>``: a table renamed by the version 3 to 4 migration whose
#: version-3 typed columns wait for the table's next `open` (`table_statements`).
V3_COLUMNS = "v3_columns:"


def _snake_case(d: Dialect, existing: Mapping[str, Collection[str]]) -> list[str]:
    """Version 3 to 4: resource tables take their snake_case names (`table_name`:
    ``supplierInvoice`` -> ``supplier_invoice``, ``order`` -> ``orders``). Rows, their
    internal columns and the window states stay as they are: nothing is fetched again.

    A table's typed columns change when it is next opened (`table_statements`), when its
    columns are known: the version-3 ones (camelCase, floats for amounts, text for dates,
    or one a user added) are kept, renamed ``<name>__v3`` and no longer written, so views
    that used them keep working and nothing an analyst stored is lost; the new ones are
    filled from each row's JSON. Until then (a resource this run does not sync) the table
    keeps its version-3 columns as they were, values included."""
    out: list[str] = []
    renamed: dict[str, str] = {}
    for name, columns in sorted(existing.items()):
        if not _RESOURCE_TABLE.issubset(columns):
            continue
        new = table_name(name)
        others = {other.lower() for other in existing if other != name}
        if new in renamed.values() or new.lower() in others:
            raise SinkError(f"cannot rename table {name} to {new}: {new} exists")
        renamed[name] = new
        out.append(f"DROP INDEX IF EXISTS {d.prefix}{ident(name + '_company_date')}")
        if new != name:
            out.append(f"ALTER TABLE {d.table(name)} RENAME TO {ident(new)}")
        out += table_ddl(d, new, ())[1:]
        # The name is a checked identifier: safe inside the literal.
        out.append(f"INSERT INTO {d.table(META)} (key, value) VALUES ('{V3_COLUMNS}{new}', '3')")
    return out


#: Meta keys ``child_table:<parent>:<child>``: the child tables made, so that one whose
#: list a later Struct leaves out is dropped rather than left stale.
CHILD_TABLE = "child_table:"


def pending_query(d: Dialect) -> str:
    """Select the meta keys the open of tables needs: tables whose version-3 columns wait
    (`V3_COLUMNS`) and the child tables made (`CHILD_TABLE`)."""
    return (
        f"SELECT key FROM {d.table(META)} "
        f"WHERE key LIKE '{V3_COLUMNS}%' OR key LIKE '{CHILD_TABLE}%'"
    )


def _v3_columns(d: Dialect, name: str, columns: Collection[str]) -> tuple[list[str], set[str]]:
    """Keep a table's version-3 typed columns as ``<name>__v3`` and forget that they
    wait: the statements, and the table's columns afterwards."""
    old = sorted(c for c in columns if c not in INTERNAL_COLUMNS and not c.endswith("__v3"))
    out = [
        f"ALTER TABLE {d.table(name)} RENAME COLUMN {ident(c)} TO {ident(c + '__v3')}" for c in old
    ]
    out.append(f"DELETE FROM {d.table(META)} WHERE key = '{V3_COLUMNS}{name}'")
    return out, {*(c for c in columns if c not in old), *(c + "__v3" for c in old)}


MIGRATIONS: Final[tuple[Callable[[Dialect, Mapping[str, Collection[str]]], list[str]], ...]] = (
    _add_version_column,
    _add_partitions,
    _snake_case,
)


def migration_statements(
    d: Dialect, stored: int | None, existing: Mapping[str, Collection[str]]
) -> list[str]:
    """What `Sink.open` runs first, once the meta and state tables exist (`base_ddl`):
    the migrations from schema version ``stored`` (``None``: a new database, nothing to
    migrate). ``existing`` maps every table of the database (schema) to its columns. A
    newer version is refused. The sink then reads the columns again for
    `table_statements`."""
    where = f"the database (schema {d.prefix[:-1]})" if d.prefix else "the database"
    steps = pending_migrations(SCHEMA_VERSION if stored is None else stored, MIGRATIONS, where)
    return [sql for step in steps for sql in step(d, existing)]


def table_statements(
    d: Dialect,
    tables: Sequence[Table],
    existing: Mapping[str, Collection[str]],
    pending: Collection[str] = (),
) -> list[tuple[str, tuple[object, ...]]]:
    """Create the tables of ``tables`` that do not exist, add the typed columns missing
    from those that do (filled from each row's JSON) and their missing `index_statements`,
    and store the schema version. A table created here gets its reference indexes later
    (`deferred_indexes`). ``pending`` holds the `V3_COLUMNS` keys of the meta table
    (`pending_query`): such a table's version-3 columns are renamed first."""
    plan: list[tuple[str, tuple[object, ...]]] = []
    for table in tables:
        columns = existing.get(table.name)
        if columns is not None and V3_COLUMNS + table.name in pending:
            renames, columns = _v3_columns(d, table.name, columns)
            plan += [(sql, ()) for sql in renames]
        plan += [(sql, ()) for sql in _dropped_children(d, table, pending)]
        plan += [(sql, ()) for sql in _child_tables(d, table, existing)]
        plan += [(sql, ()) for sql in table_ddl(d, table.name, table.columns)]
        if columns:
            plan += [(sql, ()) for sql in add_columns(d, table, columns)]
            plan += [(sql, ()) for sql in index_statements(d, table)]
        if d.comments:
            plan += [(sql, ()) for sql in _comments(d, table, columns)]
    plan.append((meta_upsert(d, "schema_version"), (str(SCHEMA_VERSION),)))
    return plan


#: Keys of the meta table: the schema version, and the last lease epoch handed out.
MetaKey = Literal["schema_version", "lease_epoch"]


def meta_query(d: Dialect, key: MetaKey) -> str:
    """Select a value of the meta table (no row before it is first stored)."""
    return f"SELECT value FROM {d.table(META)} WHERE key = '{key}'"


def meta_upsert(d: Dialect, key: MetaKey) -> str:
    """Store a value of the meta table (one parameter, as text)."""
    return (
        f"INSERT INTO {d.table(META)} (key, value) VALUES ('{key}', {d.param}) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )


def table_ddl(d: Dialect, name: str, columns: Sequence[Column]) -> list[str]:
    """Create a resource's table, with every column it has today, and its date index
    (when the dialect has `Dialect.indexes`)."""
    typed = "".join(f", {ident(n)} {sql_type}" for n, sql_type in _physical(d, columns))
    integer = d.types["integer"]
    create = (
        f"CREATE TABLE IF NOT EXISTS {d.table(name)} ("
        f"company_id {integer} NOT NULL, id {integer} NOT NULL, data {d.data_type} NOT NULL, "
        f'"_date" TEXT, "_scan" TEXT, "_version" {integer}, "_part" TEXT{typed}, '
        "PRIMARY KEY (company_id, id))"
    )
    index = (
        f"CREATE INDEX IF NOT EXISTS {ident(name + '_company_date')} "
        f'ON {d.table(name)} (company_id, "_date")'
    )
    return [create, index] if d.indexes else [create]


def _comments(d: Dialect, table: Table, existing: Collection[str] | None) -> list[str]:
    """``COMMENT ON`` the table and its columns when it is created (``existing`` is
    ``None``), or on the columns added to it."""
    if existing is not None:
        added = [c for c in table.columns if c.name not in existing]
        return _commented(d, table.name, "", {c.name: c.description for c in added})
    texts = {**INTERNAL_DESCRIPTIONS, **{c.name: c.description for c in table.columns}}
    return _commented(d, table.name, table.description, texts)


def _commented(d: Dialect, name: str, description: str, columns: Mapping[str, str]) -> list[str]:
    """``COMMENT ON`` a table and columns, those with a description."""
    target = d.table(name)
    out = [f"COMMENT ON TABLE {target} IS {_literal(description)}"] if description else []
    out += [
        f"COMMENT ON COLUMN {target}.{ident(column)} IS {_literal(text)}"
        for column, text in columns.items()
        if text
    ]
    return out


def _literal(text: str) -> str:
    """A SQL string literal (``COMMENT`` takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def index_statements(d: Dialect, table: Table) -> list[str]:
    """An index on ``(company_id, column)`` for every reference column (``*_id``), for
    joins and lookups by customer, account, voucher, ... within a company.

    A table created empty gets these once a sync has filled it (`deferred_indexes`):
    building an index over a backfill's rows at once is several times faster than
    keeping ten of them up to date row by row while it loads."""
    return [
        f"CREATE INDEX IF NOT EXISTS {ident(_index_name(name, c.name))} "
        f"ON {d.table(name)} (company_id, {ident(c.name)})"
        for name, columns in [
            (table.name, table.columns),
            *((child.name, child.columns) for child in table.children),
        ]
        for c in columns
        if d.indexes and c.kind == "integer" and c.name.endswith("_id")
    ]


def deferred_indexes(tables: Sequence[Table], existing: Mapping[str, object]) -> list[Table]:
    """The tables `table_statements` creates, whose indexes wait for their rows."""
    return [table for table in tables if table.name not in existing]


def _index_name(table: str, column: str) -> str:
    """``<table>_<column>``, shortened with a hash past PostgreSQL's limit."""
    name = f"{table}_{column}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    return f"{name[: MAX_NAME - 9]}_{digest}"


def _physical(d: Dialect, columns: Sequence[Column]) -> list[tuple[str, str]]:
    return [p for c in columns for p in physical(d.engine, c, d.types)]


def add_columns(d: Dialect, table: Table, existing: Collection[str]) -> list[str]:
    """Add the columns of ``table`` missing from ``existing`` and fill them from each
    row's JSON, as a sync would have (nothing is ever dropped)."""
    added: list[tuple[str, str, str]] = [
        (name, sql_type, expression)
        for column in table.columns
        for (name, sql_type), expression in zip(
            physical(d.engine, column, d.types), derive(d.engine, column), strict=True
        )
        if name not in existing
    ]
    if not added:
        return []
    target = d.table(table.name)
    fill = ", ".join(f"{ident(name)} = {expression}" for name, _, expression in added)
    return [
        *(
            f"ALTER TABLE {target} ADD COLUMN {ident(name)} {sql_type}"
            for name, sql_type, _ in added
        ),
        f"UPDATE {target} SET {fill}",
    ]


def insert_columns(d: Dialect, table: Table) -> list[str]:
    """The columns an upsert writes, in the order of `upsert_rows`' tuples."""
    return [*INTERNAL_COLUMNS, *(name for name, _ in _physical(d, table.columns))]


def upsert_rows(
    d: Dialect, batch: Batch, checked: Sequence[Checked] | None = None
) -> list[tuple[object, ...]]:
    """The batch's rows as parameter tuples for `insert_columns` (one per id, last wins);
    only those of ``checked`` (a slice of `checked_rows`) when given."""
    scan, part = row_scan(batch), batch.partition
    company = batch.company_id
    convert = converter(d.engine, tuple(batch.table.columns))
    rows = checked_rows(batch) if checked is None else checked
    try:
        if convert is None:
            return [
                (company, id_, data.decode(), date, scan, version, part, *values)
                for id_, data, date, version, values in rows
            ]
        return [
            (company, id_, data.decode(), date, scan, version, part, *convert(values))
            for id_, data, date, version, values in rows
        ]
    except UnicodeDecodeError as exc:
        raise SinkError(f"{batch.table.name}: a record's JSON is not UTF-8") from exc


def upsert_tail(d: Dialect, table: Table) -> str:
    """``INSERT INTO t (columns)``, to be followed by a source and `upsert_conflict`."""
    return f"INSERT INTO {d.table(table.name)} ({_column_list(insert_columns(d, table))})"


def upsert_conflict(d: Dialect, table: Table, *, only_newer: bool = False) -> str:
    """The upsert's conflict clause: the new row wins, except a missing ``_scan`` keeps the
    stored one (see `row_scan`); with ``only_newer``, only when its version is not older
    (`Batch.only_newer`, the rule of `_common.replaces`)."""
    target = ident(table.name)
    updates = [f"{ident(n)} = excluded.{ident(n)}" for n in insert_columns(d, table)[2:]]
    updates[2] = f'"_scan" = COALESCE(excluded."_scan", {target}."_scan")'
    updates[4] = f'"_part" = COALESCE(excluded."_part", {target}."_part")'
    clause = " ON CONFLICT (company_id, id) DO UPDATE SET " + ", ".join(updates)
    if only_newer:
        stored = f'{target}."_version"'
        clause += f' WHERE {stored} IS NULL OR excluded."_version" >= {stored}'
    return clause


def upsert_values(d: Dialect, table: Table, *, only_newer: bool = False, rows: int = 1) -> str:
    """Upsert ``rows`` rows from parameters (their values one after the other)."""
    values = ", ".join([f"({d.params(len(insert_columns(d, table)))})"] * rows)
    conflict = upsert_conflict(d, table, only_newer=only_newer)
    return f"{upsert_tail(d, table)} VALUES {values}{conflict}"


def after_upsert(d: Dialect, batch: Batch) -> list[Statement]:
    """Steps 2 to 6 of `Batch`: deleted ids, unseen and dead rows, superseded and new state;
    and the child tables of the rows written or deleted (`child_statements`)."""
    target = d.table(batch.table.name)
    p = d.param
    steps: list[Statement] = child_statements(d, batch) if batch.rows else []
    if batch.deleted_ids:
        gone: list[tuple[object, ...]] = [(batch.company_id, int(i)) for i in batch.deleted_ids]
        where = f"company_id = {p} AND id = {p}"
        steps += [(child, gone) for child in _children_of(d, batch.table, where)]
        steps.append((f"DELETE FROM {target} WHERE {where}", gone))
    if batch.state is not None:
        window, params = _window(d, batch.company_id, batch.state.key)
        doomed: list[tuple[str, tuple[object, ...]]] = []
        if batch.delete_unseen:
            unseen = f'("_scan" IS NULL OR "_scan" <> {p})'
            doomed.append((f"{window} AND {unseen}", (*params, batch.state.scan)))
        if batch.live_ids is not None:
            ids = sorted(int(i) for i in batch.live_ids)
            value = json.dumps(ids) if d.ids_as_json else ids
            doomed.append((f"{window} AND {d.not_in_ids}", (*params, value)))
        for where, values in doomed:
            # The records' child rows first, found through the records about to go.
            steps += [(sql, [values]) for sql in _children_of(d, batch.table, where)]
            steps.append((f"DELETE FROM {target} WHERE {where}", [values]))
    state = d.table(STATE)
    if batch.superseded:
        where = " AND ".join(f"{ident(name)} = {p}" for name, _ in _KEY_COLUMNS)
        steps.append((f"DELETE FROM {state} WHERE {where}", [_key(k) for k in batch.superseded]))
    if batch.state is not None:
        steps.append((_state_upsert(d), [_state_values(batch.state)]))
    return steps


# -- child tables -----------------------------------------------------------------------


def child_ddl(d: Dialect, child: ChildTable) -> str:
    """Create a child table (`ChildTable`), keyed by company, record and position."""
    integer, key = d.types["integer"], ident(child.parent_key)
    typed = "".join(f", {ident(n)} {sql_type}" for n, sql_type in _physical(d, child.columns))
    return (
        f"CREATE TABLE IF NOT EXISTS {d.table(child.name)} (company_id {integer} NOT NULL, "
        f"{key} {integer} NOT NULL, position {integer} NOT NULL, id {integer}{typed}, "
        f"PRIMARY KEY (company_id, {key}, position))"
    )


def _child_fill(d: Dialect, table: Table, child: ChildTable) -> str:
    """``INSERT`` the child rows of the stored records (a condition on ``p``, the record,
    may follow): each object of the list in the record's JSON, through `derive`."""
    names = [
        "company_id",
        child.parent_key,
        "position",
        "id",
        *(n for n, _ in _physical(d, child.columns)),
    ]
    parent, field = d.table(table.name), child.list_field
    if d.engine == "postgres":
        items = f"p.data -> '{field}'"
        listed = f"CASE WHEN jsonb_typeof({items}) = 'array' THEN {items} ELSE '[]' END"
        elements = f"jsonb_array_elements({listed}) WITH ORDINALITY AS e(value, n)"
        position, is_object = "e.n - 1", "jsonb_typeof(e.value) = 'object'"
    else:  # SQLite and DuckDB: json_each, with a type in lower or upper case
        elements = f"json_each(p.data, '$.{field}') AS e"
        position = "CAST(e.key AS BIGINT)"
        # Of an array only: json_each walks an object's members as well.
        listed = f"lower(json_type(p.data, '$.{field}')) = 'array'"
        is_object = f"{listed} AND lower(e.type) = 'object'"
    values = [
        "p.company_id",
        "p.id",
        position,
        *derive(d.engine, Column("id", "integer"), "e.value"),
        *(sql for c in child.columns for sql in derive(d.engine, c, "e.value")),
    ]
    return (
        f"INSERT INTO {d.table(child.name)} ({_column_list(names)}) "
        f"SELECT {', '.join(values)} FROM {parent} AS p, {elements} WHERE {is_object}"
    )


def child_statements(d: Dialect, batch: Batch) -> list[Statement]:
    """Replace the child rows of the batch's records with those of the records as now
    stored (with `Batch.only_newer`, a record an older version did not replace keeps its
    own), in the transaction that wrote them."""
    if not batch.table.children:
        return []
    ids = sorted({i for i in (row[0] for row in batch.rows) if isinstance(i, int)})
    value: object = json.dumps(ids) if d.ids_as_json else ids
    params: list[tuple[object, ...]] = [(batch.company_id, value)]
    out: list[Statement] = []
    for child in batch.table.children:
        mine = d.in_ids.format(column=ident(child.parent_key))
        where = f"p.company_id = {d.param} AND {d.in_ids.format(column='p.id')}"
        out.append(
            (f"DELETE FROM {d.table(child.name)} WHERE company_id = {d.param} AND {mine}", params)
        )
        out.append((f"{_child_fill(d, batch.table, child)} AND {where}", params))
    return out


def _dropped_children(d: Dialect, table: Table, pending: Collection[str]) -> list[str]:
    """Drop the child tables made for ``table`` that it no longer has (its Struct leaves
    the list out): nothing would keep their rows in step with the records any more, and
    stale rows an analyst joins are worse than none. A Struct nesting the list again
    makes the table again, filled from the stored records."""
    prefix = f"{CHILD_TABLE}{table.name}:"
    kept = {child.name for child in table.children}
    out = []
    for key in sorted(pending):
        child = key.removeprefix(prefix)
        if key.startswith(prefix) and child not in kept:
            out.append(f"DROP TABLE IF EXISTS {d.table(check_name(child))}")
            out.append(f"DELETE FROM {d.table(META)} WHERE key = '{key}'")
    return out


def _children_of(d: Dialect, table: Table, where: str) -> list[str]:
    """Delete the child rows of the company's records that ``where`` (a condition on the
    record table, its parameters those of the statement) selects: run before those records
    are deleted, it touches only their rows, not every row of the company."""
    parent = d.table(table.name)
    return [
        f"DELETE FROM {d.table(child.name)} WHERE (company_id, {ident(child.parent_key)}) "
        f"IN (SELECT company_id, id FROM {parent} WHERE {where})"
        for child in table.children
    ]


def _child_tables(d: Dialect, table: Table, existing: Mapping[str, Collection[str]]) -> list[str]:
    """Create the child tables of ``table``; when the records are already stored (the
    table existed: a migrated database, a Struct newly nesting a list), fill them, and
    refill one that gains columns, from each record's JSON."""
    out: list[str] = []
    stored = table.name in existing
    for child in table.children:
        have = existing.get(child.name)
        out.append(child_ddl(d, child))
        if have is None:  # names are checked identifiers: safe inside the literal
            key = f"{CHILD_TABLE}{table.name}:{child.name}"
            out.append(f"DELETE FROM {d.table(META)} WHERE key = '{key}'")
            out.append(f"INSERT INTO {d.table(META)} (key, value) VALUES ('{key}', '')")
        missing = [
            (n, t) for n, t in _physical(d, child.columns) if have is not None and n not in have
        ]
        target = d.table(child.name)
        out += [f"ALTER TABLE {target} ADD COLUMN {ident(n)} {t}" for n, t in missing]
        if missing:
            out.append(f"DELETE FROM {target}")
        if stored and (have is None or missing):
            out.append(_child_fill(d, table, child))
        if d.comments and have is None:
            texts = {c.name: c.description for c in child.columns}
            out += _commented(d, child.name, child.description, texts)
    return out


def _window(d: Dialect, company: int, key: StateKey) -> tuple[str, tuple[object, ...]]:
    """The condition selecting a company's rows in the window of ``key`` (and its
    partition, with the rows of none), and its params."""
    sql, params = f"company_id = {d.param}", tuple[object, ...]((company,))
    if key.window_from != "":
        sql += f' AND "_date" >= {d.param} AND "_date" < {d.param}'
        params += (key.window_from, key.window_to)
    if key.partition:
        sql += f' AND ("_part" = {d.param} OR "_part" IS NULL)'
        params += (key.partition,)
    return sql, params


def _key(key: StateKey) -> tuple[object, ...]:
    return (
        key.connection,
        key.company_id,
        key.resource,
        key.window_from,
        key.window_to,
        key.fields_hash,
        key.partition,
    )


def _state_values(state: WindowState) -> tuple[object, ...]:
    return (
        *_key(state.key),
        state.scan,
        state.next_from,
        state.complete,
        state.digest,
        state.watermark,
        state.records,
        state.updated_at,
        state.verified_at,
    )


def _state_upsert(d: Dialect) -> str:
    names = [name for name, _ in (*_KEY_COLUMNS, *_STATE_COLUMNS)]
    key = _column_list([name for name, _ in _KEY_COLUMNS])
    updates = ", ".join(f"{ident(n)} = excluded.{ident(n)}" for n, _ in _STATE_COLUMNS)
    return (
        f"INSERT INTO {d.table(STATE)} ({_column_list(names)}) VALUES ({d.params(len(names))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def state_query(d: Dialect) -> str:
    """Select the states of one (connection, company, resource): three parameters."""
    names = _column_list([name for name, _ in (*_KEY_COLUMNS, *_STATE_COLUMNS)])
    p = d.param
    return (
        f"SELECT {names} FROM {d.table(STATE)} "
        f"WHERE connection = {p} AND company_id = {p} AND resource = {p}"
    )


def state_from_row(row: Sequence[object]) -> WindowState:
    """A row of `state_query` as a `WindowState`."""
    (connection, company, resource, window_from, window_to, fields_hash, partition) = row[:7]
    scan, next_from, complete, digest, watermark, count, updated_at, verified_at = row[7:]
    key = StateKey(
        str(connection),
        _int(company),
        str(resource),
        str(window_from),
        str(window_to),
        str(fields_hash),
        str(partition),
    )
    return WindowState(
        key,
        str(scan),
        next_from=_int(next_from),
        complete=bool(complete),
        digest=None if digest is None else str(digest),
        watermark=None if watermark is None else str(watermark),
        records=_int(count),
        updated_at=str(updated_at),
        verified_at=str(verified_at or ""),
    )


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer from the database, got {value!r}")
    return value


def read_query(d: Dialect, table: str) -> str:
    """Select ``company_id, id, data`` (as JSON text) of every row of a table."""
    return f"SELECT company_id, id, {d.data_out} FROM {d.table(table)}"
