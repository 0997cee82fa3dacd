"""The same sync into every built-in sink gives the same exact data; the field choice of
a custom Struct and raw mode reach the sink as declared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tripletex_async import RESOURCES
from tripletex_async.sinks import DuckDBSink, JSONLSink, PostgresSink, ReadableSink, SQLiteSink
from tripletex_async.testing import FakeTripletex

from ..expectations import Served, stored
from ..sinks.conftest import postgres_schema  # noqa: F401 - fixtures
from .conftest import sync_into

pytestmark = pytest.mark.anyio
#: A resource of each kind: plain, dated (one by a date inside a reference), a child list
#: and its parent, reports for a period and as of a day, rows keyed by a name.
SOME = [
    "customer", "order", "ledger/posting", "ledger/vatType", "invoice/details", "product",
    "product/productPrice", "balanceSheet", "ledger/openPost", "company/salesmodules",
]  # fmt: skip


@pytest.fixture
def fake(portfolio: Any) -> FakeTripletex:
    """The in-process simulator (no faults: the sinks are under test here)."""
    return FakeTripletex(portfolio)


@pytest.fixture(params=["sqlite", "postgres", "duckdb", "jsonl"])
async def sink(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadableSink]:
    """Each built-in persistent sink, fresh."""
    made: ReadableSink
    if request.param == "sqlite":
        made = SQLiteSink(tmp_path / "t.db")
    elif request.param == "duckdb":
        made = DuckDBSink(tmp_path / "t.duckdb")
    elif request.param == "jsonl":
        made = JSONLSink(tmp_path / "lake")
    else:
        url = request.getfixturevalue("postgres_url")
        made = PostgresSink(url, schema=request.getfixturevalue("postgres_schema"))
    try:
        yield made
    finally:
        await made.aclose()


async def test_every_sink_holds_the_exact_data_and_reruns_on_checksums(
    fake: FakeTripletex, sink: ReadableSink
) -> None:
    """Records are exact in each sink; the rerun changes nothing and asks only 304s."""
    assert (await sync_into(fake, sink, SOME)).ok
    again = await sync_into(fake, sink, SOME)
    assert again.total().records == 0
    assert again.total().not_modified == again.total().windows
    served = Served(fake)
    await served.login()
    for resource in SOME:
        records = await sink.read(resource)
        for company in fake.portfolio.company_ids():
            want = await served.expected(company, RESOURCES[resource])
            assert stored(records, company) == want, resource


class CustomerName(msgspec.Struct, kw_only=True):
    name: str | msgspec.UnsetType | None = msgspec.UNSET
    email: str | msgspec.UnsetType | None = msgspec.UNSET


async def test_a_custom_struct_fetches_only_its_fields(fake: FakeTripletex, tmp_path: Path) -> None:
    """A narrow Struct asks for its fields (plus id) and gets typed columns for them."""
    sink = SQLiteSink(tmp_path / "narrow.db")
    narrow = RESOURCES["customer"].with_model(CustomerName)
    try:
        assert (await sync_into(fake, sink, [narrow])).ok
        records = await sink.read("customer")
    finally:
        await sink.aclose()
    assert records
    for data in records.values():
        assert set(msgspec.json.decode(data)) == {"id", "name", "email"}
    assert [c.name for c in narrow.table().columns] == ["name", "email"]


async def test_raw_mode_keeps_every_field_as_fetched(fake: FakeTripletex, tmp_path: Path) -> None:
    """fields=* records are stored whole: every field the simulator holds, but changes."""
    sink = SQLiteSink(tmp_path / "raw.db")
    try:
        assert (await sync_into(fake, sink, [RESOURCES["invoice"].raw()])).ok
        records = await sink.read("invoice")
    finally:
        await sink.aclose()
    for company in fake.portfolio.company_ids():
        got = stored(records, company)
        want = {r["id"]: r for r in fake.records(company, "invoice")}
        assert got.keys() == want.keys()
        for record_id, record in want.items():
            assert {k: v for k, v in record.items() if k != "changes"}.items() <= got[
                record_id
            ].items()
