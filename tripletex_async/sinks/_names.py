"""Names an analyst can type: the SQL sinks' table and column names.

Tripletex's names are camelCase (``invoiceDate``, ``supplierInvoice``), which PostgreSQL
folds to lower case unless quoted, so ``select invoiceDate from invoice`` fails. Tables
and typed columns are therefore snake_case (``invoice_date``, ``supplier_invoice``), and
a name that is a reserved word of PostgreSQL, DuckDB or SQLite changes so it never needs
quotes: a table takes an ``s`` (``order`` -> ``orders``), a column a trailing ``_``.
The JSON in ``data`` keeps the API's own names.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["RESERVED", "child_table_name", "column_name", "parent_key", "snake", "table_name"]

#: Words that cannot be a bare table or column name in PostgreSQL (its "reserved" and
#: "reserved, can be function or type" keywords), DuckDB (which follows PostgreSQL's
#: grammar) or SQLite.
RESERVED: Final = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization between binary
    both case cast check collate collation column concurrently constraint create cross
    current_catalog current_date current_role current_schema current_time
    current_timestamp current_user default deferrable desc distinct do else end except
    exists false fetch for foreign freeze from full glob grant group having ilike in
    index initially inner intersect into is isnull join lateral leading left like limit
    localtime localtimestamp natural not notnull null offset on only or order outer
    overlaps placing pivot primary qualify references regexp returning right select
    session_user similar some symmetric system_user table tablesample then to trailing
    true union unique unpivot user using variadic verbose when where window with
    """.split()  # noqa: SIM905 - a list of words reads better as words
)

_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"([a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """``invoiceDueDate`` -> ``invoice_due_date``, ``vatType`` -> ``vat_type``,
    ``KIDNumber`` -> ``kid_number``."""
    return _WORD.sub(r"\1_\2", _ACRONYM.sub(r"\1_\2", name)).lower()


def table_name(resource: str) -> str:
    """A resource's table in the SQL sinks: its API path in snake_case, ``/`` as ``_``
    (``ledger/vatType`` -> ``ledger_vat_type``); ``order`` is ``orders``."""
    name = "_".join(snake(part) for part in resource.strip("/").split("/"))
    return f"{name}s" if name in RESERVED else name


def column_name(field: str) -> str:
    """A field's column: snake_case, a reserved word with a trailing ``_``."""
    name = snake(field)
    return f"{name}_" if name in RESERVED else name


def child_table_name(resource: str, field: str) -> str:
    """The table of a list nested in a resource's records: the resource's name and the
    field's, the word they share once (``order`` + ``orderLines`` -> ``order_lines``,
    ``ledger/voucher`` + ``postings`` -> ``ledger_voucher_postings``)."""
    base = "_".join(snake(part) for part in resource.strip("/").split("/"))
    nested = snake(field)
    last = base.rpartition("_")[2]
    name = base[: len(base) - len(last)] + nested if nested.startswith(last + "_") else ""
    name = name or f"{base}_{nested}"
    return f"{name}s" if name in RESERVED else name


def parent_key(resource: str) -> str:
    """The column of a nested list's table that holds its record's id: the resource's last
    path segment (``order_id``, ``voucher_id``)."""
    return snake(resource.strip("/").rpartition("/")[2]) + "_id"
