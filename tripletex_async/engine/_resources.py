"""The resources the sync engine knows: path, default Struct, date window, incremental mode.

Names are API paths (``ledger/posting``). A user picks fields by giving a resource another
Struct (`Resource.with_model`), or takes everything as fetched with `Resource.raw`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import msgspec

from ..client._errors import ConfigurationError
from ..models import LIST_MODELS, MODELS
from ..sinks._base import ChildTable, Column, Table
from ..sinks._common import CHILD_COLUMNS
from ..sinks._names import child_table_name, parent_key
from ._describe import described, described_child
from ._fields import RowShape, fields_for, row_shape
from ._registry import GROUPS, Endpoint, by_name, endpoints, slug
from ._windows import UNDATED, Window, plan_windows

__all__ = [
    "DEFAULT_RESOURCES",
    "RESOURCES",
    "WHOLE",
    "Parent",
    "Partition",
    "Resource",
    "resolve_resources",
    "resource_name",
    "select",
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
class Parent:
    """Where a child list's required parent id comes from: the parent resource's ids,
    one query per parent (each its own `Partition`, so its own state and deletions)."""

    #: The param naming the parent (``productId``); a path param when the path has
    #: ``{productId}``.
    param: str
    #: The parent resource's name (``product``).
    resource: str


@dataclass(frozen=True, slots=True)
class Resource:
    """One list endpoint the engine syncs, and the Struct its records decode into."""

    name: str
    #: The Struct a record decodes into; ``None`` is raw mode (``fields=*``, no typed
    #: columns, records stored as fetched).
    model: type[msgspec.Struct] | None
    #: Required ``(from, to)`` date params ("to" exclusive unless `to_inclusive`), or a
    #: report's one ``(date,)``.
    date_params: tuple[str, ...] | None = None
    #: The record field those params filter on (the window date of a row).
    date_field: str | None = None
    #: Whether the endpoint takes ``changedSince``.
    changed_since: bool = False
    #: Fixed query params sent with every page.
    params: Mapping[str, str] = field(default_factory=dict)
    #: The queries that together return every record (see `Partition`).
    partitions: tuple[Partition, ...] = (WHOLE,)
    #: The field (dotted into a reference: ``account.id``) identifying a record; a record
    #: whose key is not an integer, or a snapshot's, is stored under a hash of it.
    key: str = "id"
    #: A child list's parent: read once per parent id (see `Parent`).
    parent: Parent | None = None
    #: A report as of a date (``"day"``: one ``date`` param, the run's last day) or for
    #: each period of the run's range (``"period"``: the date pair, a year at a time),
    #: its rows stored with that date in their key: each date's report is kept.
    snapshot: Literal["day", "period"] | None = None
    #: Whether the "to" date param includes its day (most exclude it).
    to_inclusive: bool = False
    #: The API path where it is not ``/name``: it holds the parent param
    #: (``/x/{costId}/y``) or a ``>`` (``/ledger/voucher/>nonPosted``).
    template: str = ""

    def __post_init__(self) -> None:
        if self.snapshot is None and (self.date_params is None) != (self.date_field is None):
            raise ConfigurationError(f"{self.name}: date_params and date_field go together")
        if self.snapshot is not None and self.date_params is None:
            raise ConfigurationError(f"{self.name}: a snapshot needs its date params")

    @property
    def path(self) -> str:
        """``/ledger/posting`` (``/ledger/voucher/>nonPosted``; with ``{param}`` for a
        child whose path names its parent)."""
        return self.template or "/" + self.name

    @property
    def dated(self) -> bool:
        """Whether the endpoint is read in date windows (dated lists and snapshots)."""
        return self.date_params is not None

    def ids_query(self, part: Partition, count: int) -> dict[str, Any]:
        """The params (all but ``from``) of an id-only read of an undated partition:
        how a child list's parent ids are listed (by a sync, ``plan`` and the benchmark)."""
        return {**self.query(part, UNDATED, count), "fields": "id"}

    def windows(
        self, start: date, end: date, today: date, stored: Iterable[Window] = ()
    ) -> list[Window]:
        """The windows a run over ``[start, end)`` reads: that range in windows (the
        ``stored`` ones a previous run settled on, else years) for a dated list or a
        period report (always years for a report, whose period is its meaning); the
        range's last day, today at the latest, for a report as of a day (none when the
        range lies ahead); one undated window otherwise."""
        if self.date_params is None:
            return [UNDATED]
        if self.snapshot == "day":
            day = min(today, end - timedelta(days=1))
            return [] if day < start else [Window(day, day + timedelta(days=1))]
        if self.snapshot == "period":
            return plan_windows(start, end)  # a report is its period's: never re-cut
        return plan_windows(start, end, stored)

    def locate(self, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The path and query of a request: a path param taken out of the query."""
        if not self.template or self.parent is None:
            return self.path, dict(params)
        query = dict(params)
        value = query.pop(self.parent.param)
        return self.template.replace("{" + self.parent.param + "}", str(value)), query

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
        """The ``fields=`` value: derived from the model, plus the key (`key`) and the
        date field, merged into the model's selection where they lie in a reference."""
        if self.model is None:
            return "*"
        extra = [_selected(self.key)]
        if self.date_field is not None:
            extra.append(_selected(self.date_field))
        return fields_for(self.model, extra=extra)

    def query(self, part: Partition, window: Window, page_size: int) -> dict[str, Any]:
        """The params of one window of one partition, all but ``from``: what a sync
        sends, and what ``plan`` probes (in ``id`` order, so pages never overlap)."""
        params: dict[str, Any] = {
            **self.params,
            **part.params,
            "fields": self.fields(),
            "count": page_size,
        }
        if self.key == "id":  # rows without an id keep the list's own order
            params["sorting"] = "id"
        if self.date_params is not None and window.start is not None:
            assert window.end is not None
            last = window.end - timedelta(days=1)
            if len(self.date_params) == 1:  # a snapshot as of one day
                params[self.date_params[0]] = window.start.isoformat()
            else:
                low, high = self.date_params
                params[low] = window.start.isoformat()
                params[high] = (last if self.to_inclusive else window.end).isoformat()
        return params

    def shape(self) -> RowShape:
        """Typed columns and how to fill them (none in raw mode)."""
        if self.model is None:
            return RowShape((), lambda _obj: ())
        return row_shape(self.model)

    def table(self) -> Table:
        """The sink table of this resource, its columns described (`_describe`)."""
        default = LIST_MODELS.get(self.name)
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
        table = described(Table(self.name, shape.columns, children), schema)
        notes = " ".join(self._notes())
        return dataclasses.replace(table, description=f"{table.description} {notes}".strip())

    def _notes(self) -> Iterable[str]:
        """What a table's rows mean beyond one record each (`table`'s description)."""
        if self.parent is not None:
            yield (
                f"Read once per record of {self.parent.resource} ({self.parent.param}); "
                "_part names that record."
            )
        if self.snapshot == "day":
            yield "A report as of a day: one set of rows per day it was read, _date that day."
        elif self.snapshot == "period":
            yield (
                "A report for a period: one set of rows per calendar year of the synced "
                "range, _date its first day and _part its period."
            )
        if self.snapshot is not None and self.key == "id":
            yield "id is a hash of the record's id and the report's period."
        elif self.snapshot is not None:
            yield (
                f"id is a hash of the row's {self.key} and the report's period: these rows "
                "have no id of their own."
            )
        elif self.key != "id":
            yield (
                f"id is the row's {self.key} (a hash of it where not a whole number): these "
                "rows have no id of their own."
            )


def _clear_of(column: Column, key: str) -> Column:
    """A nested object's column, renamed with a trailing ``_`` when a child table's own
    columns (`CHILD_COLUMNS`) take its name; its own reference to the record (the parent
    key) is left out by the caller: the key holds the same id."""
    if column.name in CHILD_COLUMNS:
        return dataclasses.replace(column, name=column.name + "_")
    return column


def _selected(path: str) -> str:
    """A dotted field as a ``fields`` item: ``invoice.invoiceDate`` -> ``invoice(invoiceDate)``."""
    head, _, rest = path.partition(".")
    return f"{head}({_selected(rest)})" if rest else head


#: How resources are read where the registry's facts are not enough: Tripletex hides
#: rows unless asked, or answers only the caller's own unless asked for all.
#: Resources read once per value of a boolean filter that hides rows (see `Partition`).
_PARTITIONED_BY: dict[str, str] = {
    "customer": "isInactive",
    "supplier": "isInactive",
    # includeRecentlyClosed reaches back only three months: ask for both isClosed values.
    "project": "isClosed",
    # withoutPurchase: goods receipts with no purchase order are a query of their own.
    "purchaseOrder/goodsReceipt": "withoutPurchase",
}
#: Params sent with every query of a resource, beyond the registry's required ones.
_SENT: dict[str, dict[str, str]] = {
    # includeContacts defaults to false; true returns employees and contacts alike.
    "employee": {"includeContacts": "true"},
    # showAll defaults to false: only the vouchers waiting for the token's own approval.
    "supplierInvoice/forApproval": {"showAll": "true"},
    # Accounts without movements are left out unless asked (their balance is still one).
    "balanceSheet": {"includeActiveAccountsWithoutMovements": "true"},
}


def _resource(endpoint: Endpoint) -> Resource:
    """The resource of one registry endpoint (`_PARTITIONED_BY`, `_SENT` where they say
    more)."""
    e = endpoint
    dated = e.kind in ("dated", "snapshot")
    parent = None
    if e.parent is not None:
        parent = Parent(e.parent.param, e.parent.path.replace(">", "").strip("/"))
    hidden_by = _PARTITIONED_BY.get(e.name)
    return Resource(
        e.name,
        LIST_MODELS[e.name],
        date_params=tuple(e.date_params) if dated else None,
        date_field=e.date_field or None,
        changed_since=e.changed_since,
        params={**e.params, **_SENT.get(e.name, {})},
        partitions=_both(hidden_by) if hidden_by else (WHOLE,),
        key=e.key or "id",
        parent=parent,
        snapshot=None if e.kind != "snapshot" else "day" if len(e.date_params) == 1 else "period",
        to_inclusive=e.to_inclusive,
        template=e.path if e.path != "/" + e.name else "",
    )


#: Every resource the engine syncs, by API path: each list endpoint of the registry
#: (``_spec/registry.json``, generated from the spec) that is not excluded, the Struct
#: of each generated beside it (``models.LIST_MODELS``).
RESOURCES: dict[str, Resource] = {e.name: _resource(e) for e in endpoints() if e.kind != "excluded"}

#: What ``sync`` fetches when not told otherwise: the core of every company's books (the
#: Structs of `models.MODELS`), cheap for a nightly run; ``all`` is every resource.
DEFAULT_RESOURCES: tuple[str, ...] = tuple(MODELS)


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


def select(items: list[str]) -> tuple[str, ...]:
    """Resource names, groups (``invoicing``, ``reference data`` or ``reference-data``),
    ``default`` (the 17 a run takes unasked) or ``all``, as the resources they stand for,
    each once, in the order given. A name that is both (``project``, ``ledger``) is the
    resource; ``group:project`` is the group.

    A `ConfigurationError` names every item that is unknown or never synced (with the
    reason), all in one message.
    """
    known = by_name()
    groups = {slug(group): group for group in GROUPS}
    out: dict[str, None] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for item in items:
        name = resource_name(item)
        forced = name.lower().startswith("group:")
        name = name[len("group:") :].strip() if forced else name
        group = groups.get(slug(name).lower())
        if name.lower() == "all" and not forced:
            out.update(dict.fromkeys(RESOURCES))
        elif name.lower() == "default" and not forced:
            out.update(dict.fromkeys(DEFAULT_RESOURCES))
        elif name in RESOURCES and not forced:
            out[name] = None
        elif group is not None:
            out.update(dict.fromkeys(n for n in RESOURCES if known[n].group == group))
        elif name in known:  # not in RESOURCES: excluded
            problems.append(f"{name} is never synced: {known[name].reason}")
        else:
            unknown.append(item.strip() or repr(item))
    if unknown:
        problems.insert(0, f"unknown resource(s) {', '.join(unknown)}")
    if problems:
        raise ConfigurationError(
            "; ".join(problems)
            + ". Give resource names, groups, default or all (tripletex-async resources)"
        )
    return tuple(out)
