"""``--fields RESOURCE=a,b,c(d)``: a field selection without writing Python; the tables
get exactly those typed columns and child tables, and Tripletex is asked for exactly
those fields."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tripletex_async.client._errors import ConfigurationError
from tripletex_async.engine._narrow import narrow
from tripletex_async.engine._resources import RESOURCES

from .conftest import DATES, Run, Served

ORDER = "id,orderDate,customer,orderLines(description,count)"


def columns(db: Path, table: str) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}


@pytest.mark.usefixtures("tokens_env")
def test_fields_sync_only_the_selection_with_its_columns(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """Orders with four fields: the query asks for those (and nothing else), the table
    has their typed columns only, the lines' table theirs, and values match the JSON."""
    db = tmp_path / "fields.db"
    args = ["--all-companies", "--resources", "order", "--fields", f"order={ORDER}"]
    result = run("sync", "--base-url", served.api_url, "--sink", f"sqlite:///{db}", *DATES, *args)
    assert result.code == 0, result.err
    asked = {
        parse_qs(r.query).get("fields", [""])[0]
        for r in served.requests
        if r.path.endswith("/order")
    }
    assert asked == {ORDER}
    typed = columns(db, "orders") - {"company_id", "id", "data", "_date", "_scan", "_version"}
    assert typed - {"_part"} == {"order_date", "customer_id"}
    assert columns(db, "order_lines") >= {"order_id", "position", "description", "count"}
    assert "unit_price_excluding_vat_currency" not in columns(db, "order_lines")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data, order_date, customer_id FROM orders").fetchall()
    assert rows
    for data, day, customer in rows:
        record = json.loads(data)
        assert set(record) <= {"id", "orderDate", "customer", "orderLines"}
        assert (day, customer) == (record["orderDate"], record["customer"]["id"])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fields", "order=id,bogus"], "Order has no field bogus"),
        (["--fields", "order=customer(name)"], "Order.customer is a reference"),
        (["--fields", "order=id,orderLines(count"], "'(' is not closed"),
        (["--fields", "order"], "expected RESOURCE=FIELDS"),
        (["--fields", "ledger/postingByDate=id"], "ledger/postingByDate is never synced"),
        (["--resources", "customer", "--fields", "order=id"], "order is not among the resources"),
    ],
)
def test_a_bad_selection_is_one_line_and_exit_2(
    run: Run, served: Served, tmp_path: Path, flags: list[str], message: str
) -> None:
    """Every mistake in ``--fields`` names itself before any request."""
    result = run("sync", "--base-url", served.api_url, "--sink", f"sqlite:///{tmp_path}/x.db",
                 *DATES, "--all-companies", *flags)  # fmt: skip
    assert result.code == 2
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert served.requests == []


def test_a_star_keeps_every_field_of_its_level() -> None:
    """``orderLines(*)`` keeps the line model whole; ``*`` alone, the resource's."""
    model = RESOURCES["order"].model
    assert model is not None
    assert narrow(model, "*") is model
    lines = narrow(model, "id,orderLines(*)")
    assert {f.name for f in __import__("msgspec").structs.fields(lines)} == {"id", "orderLines"}


def test_a_selection_inside_a_scalar_is_refused() -> None:
    """``orderDate(x)`` is not an object."""
    model = RESOURCES["order"].model
    assert model is not None
    with pytest.raises(ConfigurationError, match="orderDate is not an object"):
        narrow(model, "orderDate(x)")
