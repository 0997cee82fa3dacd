"""``--resources all`` over loopback: every list endpoint the engine syncs (plain, dated,
child, snapshot) lands exactly, a rerun is checksums (one per window, one per parent of
a child list), and a parent that is gone takes its children with it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tripletex_async import RESOURCES, RetryPolicy, sync
from tripletex_async.sinks import SQLiteSink
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTripletex,
    Faults,
    Portfolio,
    PortfolioConfig,
    generate_portfolio,
)

from ..expectations import FROM, TO, Served, stored
from .conftest import Connect

pytestmark = pytest.mark.anyio
ALL = list(RESOURCES)
FAST_RETRIES = RetryPolicy(attempts=8, base=0.005, cap=0.05)
#: Children whose parents this test deletes: the children go with them.
CHILD, PARENT = "product/productPrice", "product"


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:  # a module's own: the conftest's is too small for children
    """Four small companies, one of them empty."""
    return generate_portfolio(PortfolioConfig(seed=11, companies=4, scale=0.02, empty_companies=1))


@pytest.fixture
def fake(portfolio: Portfolio) -> FakeTripletex:
    """The simulator with some faults: retries must not change what lands."""
    return FakeTripletex(portfolio, FakeConfig(faults=Faults(seed=2, error_503=0.01)))


async def run(connect: Connect, fake: FakeTripletex, sink: SQLiteSink) -> Any:
    async with connect(fake, retry=FAST_RETRIES) as client:
        return await sync(client, sink, companies="all", resources=ALL, date_from=FROM, date_to=TO)


async def assert_exact(fake: FakeTripletex, sink: SQLiteSink) -> None:
    served = Served(fake)
    await served.login()
    for name in ALL:
        records = await sink.read(name)
        for company in fake.portfolio.company_ids():
            want = await served.expected(company, RESOURCES[name])
            assert stored(records, company) == want, name


async def test_every_resource_syncs_exactly_and_reruns_on_checksums(
    connect: Connect, fake: FakeTripletex, tmp_path: Path
) -> None:
    """Every record of every resource lands as served; a rerun fetches no record and
    asks each window (each parent's, for a child list) once, with its checksum."""
    sink = SQLiteSink(tmp_path / "all.db")
    try:
        first = await run(connect, fake, sink)
        assert first.ok, first.to_dict()["total"]["errors"]
        assert first.total().records > 0
        await assert_exact(fake, sink)
        assert {r.resource for r in first if r.records} >= {CHILD, "balanceSheet", "reminder"}

        with sqlite3.connect(tmp_path / "all.db") as db:
            for name in ALL:
                if RESOURCES[name].dated:  # every row has its window's date, in range
                    table = RESOURCES[name].table().name
                    low, high = db.execute(
                        f'SELECT min(_date), max(_date) FROM "{table}"'
                    ).fetchone()
                    nulls = db.execute(f'SELECT count(*) FROM "{table}" WHERE _date IS NULL')
                    assert nulls.fetchone()[0] == 0, name
                    assert low is None or FROM.isoformat() <= low <= high < TO.isoformat(), name

        again = await run(connect, fake, sink)
        total = again.total()
        assert again.ok
        assert total.records == 0
        assert total.unchanged == total.windows == total.not_modified
    finally:
        await sink.aclose()


def left_of(rows: dict[int, Any], product: int) -> list[int]:
    """The stored prices of one product."""
    return [i for i, r in rows.items() if r["product"]["id"] == product]


async def test_a_deleted_parent_takes_its_children_and_a_new_child_arrives(
    connect: Connect, fake: FakeTripletex, tmp_path: Path
) -> None:
    """A product deleted between runs: its prices are deleted too; a price added to
    another product is fetched by the rerun."""
    sink = SQLiteSink(tmp_path / "children.db")
    try:
        assert (await run(connect, fake, sink)).ok
        company, parent_id = next(
            (c, r["product"]["id"])
            for c in fake.portfolio.company_ids()
            for r in fake.records(c, CHILD)
        )
        gone = {r["id"] for r in fake.records(company, CHILD) if r["product"]["id"] == parent_id}
        other = next(r["id"] for r in fake.records(company, PARENT) if r["id"] != parent_id)
        fake.delete(company, PARENT, parent_id)
        added = fake.add(company, CHILD, {"product": {"id": other}, "purchasePrice": 99.5})
        again = await run(connect, fake, sink)
        assert again.ok
        left = stored(await sink.read(CHILD), company)
        assert gone
        assert not gone & set(left)
        assert left[added["id"]]["purchasePrice"] == 99.5
        # Only the changed parent's prices were read again: one window of records.
        prices = [r for r in again if r.resource == CHILD and r.company_id == company]
        assert [r.records for r in prices] == [len(left_of(left, other))]
        await assert_exact(fake, sink)
    finally:
        await sink.aclose()


async def test_a_parent_missing_from_one_read_gets_its_children_back(
    connect: Connect, fake: FakeTripletex, tmp_path: Path
) -> None:
    """The product list leaves one product out for one run (a list is not a snapshot:
    a project reopened between the two isClosed reads is missing from both): that run
    deletes its prices, and the next run, which lists it again, reads them again rather
    than trusting the checksum of before."""
    company, hidden = next(
        (c, r["product"]["id"])
        for c in fake.portfolio.company_ids()
        for r in fake.records(c, CHILD)
    )
    hiding = False

    async def handler(request: FakeRequest) -> FakeResponse:
        response = await fake.handle(request)
        if hiding and request.path.endswith("/product") and response.status == 200:
            envelope = msgspec.json.decode(response.body)
            envelope["values"] = [v for v in envelope["values"] if v.get("id") != hidden]
            response = replace(response, body=msgspec.json.encode(envelope))
        return response

    async def run_once() -> Any:
        async with connect(fake, handler, retry=FAST_RETRIES) as client:
            return await sync(
                client, sink, companies="all", resources=[PARENT, CHILD], date_from=FROM, date_to=TO
            )

    sink = SQLiteSink(tmp_path / "back.db")
    prices = {r["id"] for r in fake.records(company, CHILD) if r["product"]["id"] == hidden}
    try:
        assert (await run_once()).ok
        hiding = True
        assert (await run_once()).ok
        assert not prices & set(stored(await sink.read(CHILD), company))
        hiding = False
        assert (await run_once()).ok
        assert prices <= set(stored(await sink.read(CHILD), company))
    finally:
        await sink.aclose()
