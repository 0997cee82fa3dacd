"""Records as fetched -> sink rows: the one place a record is decoded and checked.

Used by a sync's units for pages and by the webhook applier for single records, so a
row means the same whichever way it arrived.
"""

from __future__ import annotations

import functools
from datetime import date

import msgspec

from ..client._connection import Connection
from ..sinks._base import Row
from ._resources import Resource

__all__ = ["RowBuilder"]


class RowBuilder:
    """Turns a page's undecoded records into sink rows, validating them on the way:
    ``(id, the record as fetched, its window date, typed column values...)``."""

    def __init__(self, resource: Resource, connection: Connection) -> None:
        self._shape = resource.shape()
        model = resource.model
        names = {f.encode_name: f.name for f in msgspec.structs.fields(model)} if model else {}
        self._model = connection.decoder(model) if model else None
        self._id = names.get("id")
        self._date = names.get(resource.date_field) if resource.date_field else None
        self._direct = self._id is not None and (resource.date_field is None or bool(self._date))
        key = _key_struct(resource.date_field)
        self._key = connection.decoder(key)

    def __call__(self, values: list[msgspec.Raw], seen: set[int]) -> list[Row]:
        rows: list[Row] = []
        for raw in values:
            record_id, day, typed = self._one(raw)
            if record_id in seen:  # offset paging may repeat a record; keep the first
                continue
            seen.add(record_id)
            rows.append((record_id, bytes(raw), day, *typed))
        return rows

    def _one(self, raw: msgspec.Raw) -> tuple[int, str | None, tuple[object, ...]]:
        obj = self._model.decode(raw) if self._model is not None else None
        if self._direct:
            record_id = getattr(obj, self._id)  # type: ignore[arg-type]
            day = getattr(obj, self._date) if self._date else None
        else:
            key = self._key.decode(raw)
            record_id, day = key.id, key.date
        if not isinstance(record_id, int):
            raise msgspec.ValidationError("a record without an integer `id`")
        if isinstance(day, date):  # a Struct may declare its date field a datetime.date
            day = day.isoformat()
        return record_id, day if isinstance(day, str) else None, self._shape.values(obj)


@functools.lru_cache(maxsize=64)
def _key_struct(date_field: str | None) -> type[msgspec.Struct]:
    """``{id, <date field>}``, one type per date field: the connection caches a decoder
    per type, so a new type per unit would grow that cache with every company."""
    return msgspec.defstruct(
        "Key",
        [("id", int), ("date", str | None, msgspec.field(default=None, name=date_field))],
    )
