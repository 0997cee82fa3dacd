"""Child tables: a list of objects nested in a record (an order's lines) is a table of its
own in every SQL sink, kept in step with the records in the same transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tripletex_async.sinks import (
    Batch,
    ChildTable,
    Column,
    Table,
)

from ..conftest import SqlTarget
from .conftest import key, state

pytestmark = pytest.mark.anyio

LINES = ChildTable(
    "order_lines",
    "orderLines",
    "order_id",
    (
        Column("count", "decimal"),
        Column("product_id", "integer", ("product", "id")),
        Column("description", "text"),
    ),
)
ORDERS = Table("order", (Column("number", "text"),), (LINES,))


_NUMBERS = msgspec.json.Encoder(decimal_format="number")


def order(id_: int, lines: list[dict[str, Any]], version: int = 1) -> tuple[object, ...]:
    """An order row whose JSON holds ``lines``."""
    data = {"id": id_, "version": version, "number": f"O{id_}", "orderLines": lines}
    return (id_, _NUMBERS.encode(data), None, f"O{id_}")


def line(id_: int, count: str, product: int | None = None) -> dict[str, Any]:
    return {
        "id": id_,
        "count": Decimal(count),
        "product": None if product is None else {"id": product},
        "description": f"line {id_}",
    }


async def write(target: SqlTarget, *batches: Batch) -> None:
    """Open a sink on the target, write ``batches`` in one transaction, close it."""
    sink = target.make()
    try:
        await sink.open([ORDERS])
        await sink.write(list(batches))
    finally:
        await sink.aclose()


def lines(target: SqlTarget) -> list[tuple[object, ...]]:
    """Every row of order_lines, as an analyst's tool reads it."""
    connection = target.connect()
    try:
        minor = "count_minor" if target.kind == "sqlite" else "count"
        return [
            tuple(row)
            for row in connection.execute(
                f"SELECT order_id, position, id, {minor}, product_id, description "
                "FROM order_lines ORDER BY order_id, position"
            ).fetchall()
        ]
    finally:
        connection.close()


def _count(kind: str, value: str) -> object:
    """How each database gives back a line's count: exact (SQLite: in hundredths)."""
    return int(Decimal(value) * 100) if kind == "sqlite" else Decimal(value)


async def test_a_records_list_becomes_rows_in_order(sql_target: SqlTarget) -> None:
    """Each object of the list is a row: the record's id, its position, its own id and
    typed columns, exact."""
    await write(
        sql_target, Batch(ORDERS, 1, [order(5, [line(51, "1.5", 7), line(52, "2")]), order(6, [])])
    )
    k = sql_target.kind
    assert lines(sql_target) == [
        (5, 0, 51, _count(k, "1.5"), 7, "line 51"),
        (5, 1, 52, _count(k, "2"), None, "line 52"),
    ]


async def test_a_rewritten_record_replaces_its_rows(sql_target: SqlTarget) -> None:
    """A record written again keeps only the objects its new JSON lists; other records'
    rows stay."""
    await write(
        sql_target,
        Batch(ORDERS, 1, [order(5, [line(51, "1"), line(52, "1")]), order(6, [line(61, "3")])]),
    )
    await write(sql_target, Batch(ORDERS, 1, [order(5, [line(53, "4")], version=2)]))
    assert [(r[0], r[2]) for r in lines(sql_target)] == [(5, 53), (6, 61)]


async def test_deleted_records_take_their_rows_along(sql_target: SqlTarget) -> None:
    """Rows go with their record, whether deleted by id or as unseen by a full scan."""
    window = key("order")
    await write(
        sql_target,
        Batch(
            ORDERS,
            1,
            [order(5, [line(51, "1")]), order(6, [line(61, "1")]), order(7, [line(71, "1")])],
            state(window, "s1"),
        ),
    )
    await write(sql_target, Batch(ORDERS, 1, [], deleted_ids=[5]))
    assert [r[0] for r in lines(sql_target)] == [6, 7]
    await write(
        sql_target,
        Batch(ORDERS, 1, [order(7, [line(71, "1")])], state(window, "s2"), delete_unseen=True),
    )
    assert [r[0] for r in lines(sql_target)] == [7]


async def test_an_older_version_leaves_the_rows_of_the_newer(sql_target: SqlTarget) -> None:
    """only_newer (webhooks): a late, older delivery changes neither the record nor its
    rows."""
    await write(
        sql_target, Batch(ORDERS, 1, [order(5, [line(51, "1")], version=3)], only_newer=True)
    )
    await write(
        sql_target, Batch(ORDERS, 1, [order(5, [line(99, "9")], version=2)], only_newer=True)
    )
    assert [r[2] for r in lines(sql_target)] == [51]


async def test_a_child_table_added_to_stored_records_is_filled_from_them(
    sql_target: SqlTarget,
) -> None:
    """Records stored before their Struct nested the list (an older database): the new
    table is filled from each record's stored JSON when opened, nothing fetched again."""
    plain = Table("order", (Column("number", "text"),))
    sink = sql_target.make()
    try:
        await sink.open([plain])
        await sink.write([Batch(plain, 1, [order(5, [line(51, "1.25", 3)])])])
    finally:
        await sink.aclose()
    await write(sql_target)
    assert lines(sql_target) == [(5, 0, 51, _count(sql_target.kind, "1.25"), 3, "line 51")]


async def test_a_list_that_is_not_a_list_gives_no_rows(sql_target: SqlTarget) -> None:
    """A record whose list field holds an object (or null) has no child rows, and the
    write does not fail on it."""
    odd = (5, _NUMBERS.encode({"id": 5, "orderLines": {"id": 1}}), None, "O5")
    empty = (6, _NUMBERS.encode({"id": 6, "orderLines": None}), None, "O6")
    await write(sql_target, Batch(ORDERS, 1, [odd, empty, order(7, [line(71, "1")])]))
    assert [r[0] for r in lines(sql_target)] == [7]


async def test_a_child_table_the_struct_leaves_out_is_dropped_not_left_stale(
    sql_target: SqlTarget,
) -> None:
    """A later Struct without the list would leave order_lines unmaintained (rows of
    rewritten or deleted orders kept): the table goes instead, and comes back, filled from
    the stored records, with a Struct that nests the list again."""
    await write(sql_target, Batch(ORDERS, 1, [order(5, [line(51, "1")])]))
    plain = Table("order", (Column("number", "text"),))
    sink = sql_target.make()
    try:
        await sink.open([plain])
        await sink.write([Batch(plain, 1, [], deleted_ids=[5])])
    finally:
        await sink.aclose()
    connection = sql_target.connect()
    try:
        with pytest.raises(Exception, match="order_lines"):
            connection.execute("SELECT * FROM order_lines").fetchall()
    finally:
        connection.close()
    await write(sql_target, Batch(ORDERS, 1, [order(6, [line(61, "2")])]))
    assert [r[:3] for r in lines(sql_target)] == [(6, 0, 61)]
