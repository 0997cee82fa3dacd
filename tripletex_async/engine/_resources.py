"""The resources the sync engine knows: path, default Struct, date window, incremental mode.

Names are API paths (``ledger/posting``). A user picks fields by giving a resource another
Struct (`Resource.with_model`), or takes everything as fetched with `Resource.raw`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..client._errors import ConfigurationError
from ..models import MODELS
from ..sinks._base import ChildTable, Column, Table
from ..sinks._common import CHILD_COLUMNS
from ..sinks._names import child_table_name, parent_key
from ._describe import described, described_child
from ._fields import RowShape, fields_for, row_shape
from ._windows import Window

__all__ = [
    "DEFAULT_RESOURCES",
    "RESOURCES",
    "WHOLE",
    "Partition",
    "Resource",
    "resolve_resources",
    "resource_name",
]


@dataclass(frozen=True, slots=True)
class Partition:
    """One of the queries that together return every record of a resource.

    Tripletex hides some records unless a filter asks for them: ``GET /customer`` and
    ``GET /supplier`` apply ``isInactive=false`` when the parameter is left out (the spec
    gives it ``default: false``), and ``GET /project`` leaves closed projects out unless
    asked (tripletex-api2#101). Such a resource is read in one query per value, each with
    its own state and its own deletion scope (`Batch.partition`).
    """

    #: ``"isInactive=true"``; ``""`` for a resource read in one query.
    name: str = ""
    params: Mapping[str, str] = field(default_factory=dict)


#: The one partition of a resource that a single query returns whole.
WHOLE = Partition()


def _both(param: str) -> tuple[Partition, ...]:
    """A boolean filter's two values, as two partitions."""
    return tuple(Partition(f"{param}={value}", {param: value}) for value in ("false", "true"))


@dataclass(frozen=True, slots=True)
class Resource:
    """One list endpoint the engine syncs, and the Struct its records decode into."""

    name: str
    #: The Struct a record decodes into; ``None`` is raw mode (``fields=*``, no typed
    #: columns, records stored as fetched).
    model: type[msgspec.Struct] | None
    #: Required ``(from, to)`` date params; "to" is exclusive.
    date_params: tuple[str, str] | None = None
    #: The record field those params filter on (the window date of a row).
    date_field: str | None = None
    #: Whether the endpoint takes ``changedSince``.
    changed_since: bool = False
    #: Fixed query params sent with every page.
    params: Mapping[str, str] = field(default_factory=dict)
    #: The queries that together return every record (see `Partition`).
    partitions: tuple[Partition, ...] = (WHOLE,)

    def __post_init__(self) -> None:
        if (self.date_params is None) != (self.date_field is None):
            raise ConfigurationError(f"{self.name}: date_params and date_field go together")

    @property
    def path(self) -> str:
        """``/ledger/posting``."""
        return "/" + self.name

    @property
    def dated(self) -> bool:
        """Whether the endpoint requires a date range (and is synced in windows)."""
        return self.date_params is not None

    def with_model(self, model: type[msgspec.Struct]) -> Resource:
        """The same endpoint decoded into ``model`` (its fields are what is requested)."""
        return dataclasses.replace(self, model=model)

    def with_fields(self, selection: str) -> Resource:
        """The same endpoint with only the fields ``selection`` names, in Tripletex's
        ``fields`` syntax (``"id,orderDate,orderLines(description,count)"``): its model
        narrowed to them (`ConfigurationError` naming an unknown field)."""
        from ._narrow import narrow

        if self.model is None:
            raise ConfigurationError(f"{self.name}: raw mode syncs every field (fields=*)")
        return self.with_model(narrow(self.model, selection))

    def raw(self) -> Resource:
        """The same endpoint with ``fields=*``, stored exactly as fetched."""
        return dataclasses.replace(self, model=None)

    def fields(self) -> str:
        """The ``fields=`` value: derived from the model, plus ``id`` and the date field."""
        if self.model is None:
            return "*"
        extra = ["id"] if self.date_field is None else ["id", self.date_field]
        return fields_for(self.model, extra=extra)

    def query(self, part: Partition, window: Window, page_size: int) -> dict[str, Any]:
        """The params of one window of one partition, all but ``from``: what a sync
        sends, and what ``plan`` probes (in ``id`` order, so pages never overlap)."""
        params: dict[str, Any] = {
            **self.params,
            **part.params,
            "fields": self.fields(),
            "sorting": "id",
            "count": page_size,
        }
        if self.date_params is not None:
            low, high = self.date_params
            params[low], params[high] = window.key
        return params

    def shape(self) -> RowShape:
        """Typed columns and how to fill them (none in raw mode)."""
        if self.model is None:
            return RowShape((), lambda _obj: ())
        return row_shape(self.model)

    def table(self) -> Table:
        """The sink table of this resource, its columns described (`_describe`)."""
        default = MODELS.get(self.name)
        schema = default.__name__ if default is not None else None
        shape = self.shape()
        key = parent_key(self.name)
        children = tuple(
            described_child(
                ChildTable(
                    child_table_name(self.name, field),
                    field,
                    key,
                    tuple(_clear_of(c, key) for c in columns if c.name != key),
                ),
                model,
                self.name,
            )
            for field, model, columns in shape.children
        )
        return described(Table(self.name, shape.columns, children), schema)


def _clear_of(column: Column, key: str) -> Column:
    """A nested object's column, renamed with a trailing ``_`` when a child table's own
    columns (`CHILD_COLUMNS`) take its name; its own reference to the record (the parent
    key) is left out by the caller: the key holds the same id."""
    if column.name in CHILD_COLUMNS:
        return dataclasses.replace(column, name=column.name + "_")
    return column


def _dated(name: str, field_name: str, prefix: str) -> Resource:
    return Resource(
        name,
        MODELS[name],
        date_params=(f"{prefix}From", f"{prefix}To"),
        date_field=field_name,
    )


#: The resources read otherwise than as one plain, undated list.
_READ_OTHERWISE: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource(
            "customer", MODELS["customer"], changed_since=True, partitions=_both("isInactive")
        ),
        Resource(
            "supplier", MODELS["supplier"], changed_since=True, partitions=_both("isInactive")
        ),
        # includeContacts defaults to false; true returns employees and contacts alike.
        Resource("employee", MODELS["employee"], params={"includeContacts": "true"}),
        # includeRecentlyClosed reaches back only three months: ask for both isClosed values.
        Resource("project", MODELS["project"], partitions=_both("isClosed")),
        _dated("order", "orderDate", "orderDate"),
        _dated("invoice", "invoiceDate", "invoiceDate"),
        _dated("supplierInvoice", "invoiceDate", "invoiceDate"),
        _dated("ledger/voucher", "date", "date"),
        _dated("ledger/posting", "date", "date"),
        _dated("timesheet/entry", "date", "date"),
    )
}

#: Every resource the engine knows, by API path, in the order of `MODELS`: the one list
#: of what is synced is the generator's (tools/gen_models.py), which made a Struct for each.
RESOURCES: dict[str, Resource] = {
    name: _READ_OTHERWISE.get(name) or Resource(name, model) for name, model in MODELS.items()
}

#: What ``sync`` fetches when not told otherwise: every known resource.
DEFAULT_RESOURCES: tuple[str, ...] = tuple(RESOURCES)


def resolve_resources(wanted: Iterable[str | Resource]) -> list[Resource]:
    """Names (as `resource_name` reads them) or `Resource`s to `Resource`s, each once;
    unknown names, or none at all, are one `ConfigurationError` naming them all."""
    out: dict[str, Resource] = {}
    unknown: list[str] = []
    for item in wanted:
        if isinstance(item, Resource):
            out[item.name] = item
        elif (name := resource_name(item)) in RESOURCES:
            out[name] = RESOURCES[name]
        else:
            unknown.append(item)
    if unknown:
        names = ", ".join(u.strip() or repr(u) for u in unknown)
        raise ConfigurationError(f"unknown resource(s) {names}; known: {', '.join(RESOURCES)}")
    if not out:
        raise ConfigurationError("no resources to sync")
    return list(out.values())


def resource_name(text: str) -> str:
    """A resource name as people write it (`` /customer ``, ``ledger/posting/``) as the
    registry has it (``customer``, ``ledger/posting``)."""
    return text.strip().strip("/")
