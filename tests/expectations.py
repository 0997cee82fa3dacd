"""What a sink must hold after an exact sync, stated from the simulator's own records
(not from what it serves), shared by the sync, integration and CLI tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from tripletex_async.engine._resources import RESOURCES
from tripletex_async.models import OrderLine
from tripletex_async.testing import FakeTripletex

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


def _names(model: type[msgspec.Struct]) -> list[str]:
    """The fields a Struct asks for (the simulator answers null for unset ones)."""
    return [f.encode_name for f in msgspec.structs.fields(model)]


def stored(records: dict[tuple[int, int], bytes], company_id: int) -> dict[int, Any]:
    """A sink's records of one company, decoded."""
    return {i: msgspec.json.decode(data) for (c, i), data in records.items() if c == company_id}
