"""Records as fetched -> sink rows: the one place a record is decoded and checked.

Used by a sync's units for pages and by the webhook applier for single records, so a
row means the same whichever way it arrived.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from typing import Any

import msgspec

from ..client._connection import Connection
from ..sinks._base import Row
from ._resources import Resource

__all__ = ["RowBuilder", "natural_id"]


class RowBuilder:
    """Turns a page's undecoded records into sink rows, validating them on the way:
    ``(id, the record as fetched, its window date, typed column values...)``.

    A record's id is its ``id``; a record keyed otherwise (`Resource.key`: a report row
    by ``account.id``, a module by ``name``), and every row of a snapshot, is stored
    under `natural_id` of its key (and the snapshot's date)."""

    def __init__(self, resource: Resource, connection: Connection) -> None:
        self._shape = resource.shape()
        model = resource.model
        names = {f.encode_name: f.name for f in msgspec.structs.fields(model)} if model else {}
        self._model = connection.decoder(model) if model else None
        self._id = names.get(resource.key)
        self._date = names.get(resource.date_field) if resource.date_field else None
        self._natural = resource.key != "id" or resource.snapshot is not None
        self._direct = (
            self._id is not None
            and not self._natural
            and (resource.date_field is None or bool(self._date))
        )
        key = _key_struct(resource.key, resource.date_field)
        self._key = connection.decoder(key)

    def __call__(
        self, values: list[msgspec.Raw], seen: set[int], stamp: tuple[str, str] | None = None
    ) -> list[Row]:
        """Rows of ``values`` not in ``seen`` (which they join); ``stamp`` is a report's
        (date, period): every row's window date, and part of its id."""
        rows: list[Row] = []
        for raw in values:
            record_id, day, typed = self._one(raw, stamp)
            if record_id in seen:  # offset paging may repeat a record; keep the first
                continue
            seen.add(record_id)
            rows.append((record_id, bytes(raw), day, *typed))
        return rows

    def _one(
        self, raw: msgspec.Raw, stamp: tuple[str, str] | None
    ) -> tuple[int, str | None, tuple[object, ...]]:
        obj = self._model.decode(raw) if self._model is not None else None
        if self._direct:
            record_id = getattr(obj, self._id)  # type: ignore[arg-type]
            day = getattr(obj, self._date) if self._date else None
        else:
            found = self._key.decode(raw)
            record_id, day = _follow(found.key), _follow(getattr(found, "date", None))
            if self._natural:
                if record_id is None or isinstance(record_id, bool):
                    raise msgspec.ValidationError("a record without its key")
                record_id = natural_id(record_id, stamp[1] if stamp else None)
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise msgspec.ValidationError("a record without an integer `id`")
        if stamp is not None:
            day = stamp[0]
        if isinstance(day, date):  # a Struct may declare its date field a datetime.date
            day = day.isoformat()
        return record_id, day if isinstance(day, str) else None, self._shape.values(obj)


def natural_id(key: object, stamp: str | None = None) -> int:
    """The stored id of a record keyed otherwise than by an integer ``id``, or of a
    report's row: its integer key as is (no stamp), else a stable 63-bit hash of the key
    and the report's period (``2025-01-01..2026-01-01``)."""
    if isinstance(key, int) and stamp is None:
        return key
    text = f"{type(key).__name__}:{key}|{stamp or ''}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


def _follow(value: object) -> object:
    """The scalar at the end of a decoded dotted path (`_key_struct`)."""
    while isinstance(value, msgspec.Struct):
        value = getattr(value, "v", None)
    return value


@functools.lru_cache(maxsize=64)
def _key_struct(key: str, date_field: str | None) -> type[msgspec.Struct]:
    """``{key, date}`` read along their dotted paths (``account.id``; no ``date`` for an
    undated resource), one type per pair: the connection caches a decoder per type, so a
    new type per unit would grow that cache with every company."""
    fields = [("key", _path_type(key), msgspec.field(default=None, name=key.split(".")[0]))]
    if date_field:
        name = date_field.split(".")[0]
        fields.append(("date", _path_type(date_field), msgspec.field(default=None, name=name)))
    return msgspec.defstruct("Key", fields)


def _path_type(path: str) -> Any:
    """The type reading the scalar at ``path`` (``a.b.c``): nested Structs holding it in
    ``v``, ending in a scalar."""
    steps = path.split(".")[1:]
    if not steps:
        return int | str | None
    inner = _path_type(".".join(steps))
    struct = msgspec.defstruct("Step", [("v", inner, msgspec.field(default=None, name=steps[0]))])
    return struct | None
