"""What a sink must hold after an exact sync, stated from the simulator's own records
(not from what it serves), shared by the sync, integration and CLI tests."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec

from tripletex_async.client._clock import OSLO
from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES, Partition, Resource
from tripletex_async.engine._rows import natural_id
from tripletex_async.engine._windows import UNDATED
from tripletex_async.models import OrderLine
from tripletex_async.testing import FakeRequest, FakeTripletex

FROM, TO = date(2024, 1, 1), date(2027, 1, 1)


def expected(sim: FakeTripletex, company_id: int, resource: str) -> dict[int, Any]:
    """What the default Structs fetch: every field but ``changes``; orders with their
    lines expanded (each line without ``changes``); records within FROM..TO."""
    info = RESOURCES[resource]
    assert info.model is not None
    names, line_names = _names(info.model), _names(OrderLine)
    lines = {r["id"]: r for r in sim.records(company_id, "order/orderline")}
    out: dict[int, Any] = {}
    for record in sim.records(company_id, resource):
        if info.date_field is not None:
            day = record.get(info.date_field) or ""
            if not FROM.isoformat() <= day < TO.isoformat():
                continue
        record = {k: record.get(k) for k in names}
        if resource == "order":
            record["orderLines"] = [
                {k: lines[ref["id"]].get(k) for k in line_names}
                for ref in record.get("orderLines") or []
            ]
        out[record["id"]] = record
    return out


class Served:
    """What the simulator answers to one whole query per unit: the expectation of an
    exact sync, asked without the engine's windows, paging, splitting or fan-out."""

    def __init__(self, fake: FakeTripletex) -> None:
        self.fake = fake
        self.token = ""

    async def login(self) -> None:
        tokens = self.fake.credentials
        body = {
            "consumerToken": tokens.consumer_token,
            "employeeToken": tokens.employee_token,
            "expirationDate": (date.today() + timedelta(days=2)).isoformat(),
        }
        created = await self.fake.handle(
            FakeRequest("POST", "/v2/token/session/:create", body=msgspec.json.encode(body))
        )
        self.token = msgspec.json.decode(created.body)["value"]["token"]

    async def values(self, company: int, path: str, params: dict[str, Any]) -> list[Any]:
        """Every record of one query, in pages of 10,000; a 5xx (a seeded fault) is
        asked again."""
        auth = {
            "authorization": "Basic "
            + base64.b64encode(f"{company}:{self.token}".encode()).decode()
        }
        out: list[Any] = []
        while True:
            query = urlencode({**params, "from": len(out), "count": 10_000})
            for _ in range(20):
                answer = await self.fake.handle(FakeRequest("GET", "/v2" + path, query, auth))
                if answer.status < 500:
                    break
            assert answer.status == 200, (path, answer.status, answer.body[:300])
            page: list[Any] = msgspec.json.decode(answer.body)["values"]
            out += page
            if len(page) < 10_000:
                return out

    async def expected(self, company: int, resource: Resource) -> dict[int, Any]:
        """The default set's records as `expected` states them from the simulator's own
        records; every other resource's as served to one query per unit (per parent of
        a child list, per year or day of a report)."""
        if resource.name in DEFAULT_RESOURCES and resource.model is RESOURCES[resource.name].model:
            return expected(self.fake, company, resource.name)
        out: dict[int, Any] = {}
        today = datetime.now(OSLO).date()
        windows = resource.windows(FROM, TO, today)
        if resource.dated and resource.snapshot is None:
            windows = [w for w in windows if w.start is not None]
            assert windows[0].start == FROM
            assert windows[-1].end == TO
        parts = resource.partitions
        if resource.parent is not None:
            parent = resource.parent
            ids = [r["id"] for r in self.fake.records(company, parent.resource)]
            parts = tuple(Partition(f"{parent.param}={i}", {parent.param: str(i)}) for i in ids)
        for part in parts:
            for window in windows or [UNDATED]:
                path, query = resource.locate(resource.query(part, window, 1))
                for record in await self.values(company, path, query):
                    out[_key(resource, record, "..".join(window.key))] = record
        return out


def _key(resource: Resource, record: dict[str, Any], stamp: str) -> int:
    value: Any = record
    for step in resource.key.split("."):
        value = value[step]
    if resource.key == "id" and resource.snapshot is None:
        return int(value)
    return natural_id(value, stamp if resource.snapshot else None)


def _names(model: type[msgspec.Struct]) -> list[str]:
    """The fields a Struct asks for (the simulator answers null for unset ones)."""
    return [f.encode_name for f in msgspec.structs.fields(model)]


def stored(records: dict[tuple[int, int], bytes], company_id: int) -> dict[int, Any]:
    """A sink's records of one company, decoded."""
    return {i: msgspec.json.decode(data) for (c, i), data in records.items() if c == company_id}
