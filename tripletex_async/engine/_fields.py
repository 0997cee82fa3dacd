"""What a Struct asks for, and what a sink stores of it.

The ``fields=`` query is derived from the Struct that decodes the answer, so the request
and the decoder cannot drift: a user chooses fields by declaring a Struct. Nested Structs
become ``customer(id,name)``; a Struct holding nothing but ``id`` and ``url`` (`Ref`) is
asked for by its bare name, which Tripletex answers with ``{id, url}``.

The same walk gives the typed columns a SQL sink adds beside the JSON: scalar fields under
their name in snake_case, references as ``<name>_id``, each of the kind its Python type
says: ``Decimal`` exact, ``datetime.date`` (or `DateText`, a string holding a date) a
date, ``datetime.datetime`` a timestamp, enums and ``Literal`` text or integer.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import inspect as mi

from ..sinks._base import Column, ColumnKind
from ..sinks._common import INTERNAL_COLUMNS
from ..sinks._names import column_name, snake

__all__ = ["RowShape", "fields_for", "fields_hash", "row_shape"]

#: A field named like a column every table has (the sinks') stays in ``data`` only.
_TAKEN = frozenset(INTERNAL_COLUMNS)
_REF_FIELDS = frozenset({"id", "url"})
_SCALAR_KINDS: dict[type[mi.Type], ColumnKind] = {
    mi.IntType: "integer",
    mi.FloatType: "real",
    mi.StrType: "text",
    mi.BoolType: "boolean",
    mi.DecimalType: "decimal",
    mi.DateType: "date",
    mi.DateTimeType: "timestamp",
}
#: JSON Schema formats of a string (``msgspec.Meta(extra_json_schema={"format": ...})``)
#: that make its column a date or a timestamp.
_STRING_FORMATS: dict[str, ColumnKind] = {"date": "date", "date-time": "timestamp"}


def _strip(t: mi.Type, *, keep_metadata: bool = False) -> mi.Type:
    """The type without ``None`` (msgspec already leaves ``UNSET`` out of unions) and,
    unless ``keep_metadata``, without its constraints."""
    if isinstance(t, mi.UnionType):
        rest = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(rest) == 1:
            return _strip(rest[0], keep_metadata=keep_metadata)
    if isinstance(t, mi.Metadata) and not keep_metadata:
        return _strip(t.type)
    return t


def _scalar_kind(t: mi.Type) -> tuple[ColumnKind, bool] | None:
    """The column kind of a scalar type, and whether its value is an enum member (stored
    as its value); ``None`` for anything else."""
    t = _strip(t, keep_metadata=True)
    if isinstance(t, mi.Metadata):
        fmt = (t.extra_json_schema or {}).get("format")
        inner = _strip(t.type)
        if isinstance(inner, mi.StrType) and fmt in _STRING_FORMATS:
            return _STRING_FORMATS[fmt], False
        t = inner
    if isinstance(t, mi.EnumType | mi.LiteralType):
        values = [m.value for m in t.cls] if isinstance(t, mi.EnumType) else list(t.values)
        if all(isinstance(v, str) for v in values):
            return "text", isinstance(t, mi.EnumType)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "integer", isinstance(t, mi.EnumType)
        return None
    kind = _SCALAR_KINDS.get(type(t))
    return None if kind is None else (kind, False)


def _struct_of(t: mi.Type) -> mi.StructType | None:
    t = _strip(t)
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        t = _strip(t.item_type)
    return t if isinstance(t, mi.StructType) else None


def _is_ref(struct: mi.StructType) -> bool:
    return {f.encode_name for f in struct.fields} <= _REF_FIELDS


def _selection(struct: mi.StructType) -> list[str]:
    out = []
    for f in struct.fields:
        nested = _struct_of(f.type)
        if nested is None or _is_ref(nested):
            out.append(f.encode_name)
        else:
            out.append(f"{f.encode_name}({','.join(_selection(nested))})")
    return out


def fields_for(model: type[msgspec.Struct], *, extra: Iterable[str] = ()) -> str:
    """The ``fields=`` value that returns exactly what ``model`` decodes.

    ``extra`` fields (``id``, ``invoice(invoiceDate)``) are added where the Struct lacks
    them (the engine needs the key and the date it windows on, whatever the user
    declared); a nested one is merged into the Struct's own selection of its reference
    (``invoice`` asked bare, as ``{id, url}``, becomes ``invoice(id,url,invoiceDate)``).

    Remembered: a sync asks it of every unit and window, and walking the model
    (``msgspec.inspect``) was 44 % of a worker's CPU (benchmarks/scaleout.py's profile).
    """
    return _fields_for(model, tuple(extra))


@functools.lru_cache(maxsize=512)
def _fields_for(model: type[msgspec.Struct], extra: tuple[str, ...]) -> str:
    info = mi.type_info(model)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{model!r} is not a msgspec Struct")
    names = _selection(info)
    heads = {n.split("(", 1)[0]: i for i, n in enumerate(names)}
    added = []
    for item in extra:
        head, _, inner = item.partition("(")
        if head not in heads:
            added.append(item)
        elif inner:
            names[heads[head]] = _merged(names[heads[head]], inner.removesuffix(")"))
    return ",".join([*added, *names])


def _merged(selection: str, inner: str) -> str:
    """``invoice`` or ``invoice(id,amount)`` with ``inner`` (``invoiceDate``) asked too."""
    head, _, rest = selection.partition("(")
    fields = rest.removesuffix(")").split(",") if rest else sorted(_REF_FIELDS)
    if inner not in fields:
        fields.append(inner)
    return f"{head}({','.join(fields)})"


def fields_hash(fields: str) -> str:
    """A short stable name for a field selection, part of every state key."""
    return hashlib.blake2b(fields.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class RowShape:
    """How to turn one decoded record into the typed values of a row."""

    columns: tuple[Column, ...]
    values: Callable[[Any], tuple[object, ...]]
    #: The lists of objects the Struct nests (an order's ``orderLines``): per list, the
    #: field's API name, the name of its objects' Struct and their typed columns. SQL
    #: sinks give each a table of its own (`ChildTable`), filled from the stored JSON.
    children: tuple[tuple[str, str, tuple[Column, ...]], ...] = ()


@functools.lru_cache(maxsize=256)
def row_shape(model: type[msgspec.Struct]) -> RowShape:
    """Typed columns of ``model``: scalars under their name in snake_case, references as
    ``name_id``.

    Lists and free-form objects stay in ``data`` only. Cached per Struct: building it
    costs milliseconds, and a portfolio sync asks once per company and resource.
    """
    info = mi.type_info(model)
    assert isinstance(info, mi.StructType)
    columns: list[Column] = []
    parts: list[str] = []
    children: list[tuple[str, str, tuple[Column, ...]]] = []
    for f in info.fields:
        t = _strip(f.type)
        nested = _struct_of(f.type)
        if isinstance(t, mi.ListType) and nested is not None and not _is_ref(nested):
            children.append((f.encode_name, nested.cls.__name__, row_shape(nested.cls).columns))
            continue
        scalar = _scalar_kind(f.type)
        if scalar is not None and (name := column_name(f.encode_name)) not in _TAKEN:
            kind, member = scalar
            columns.append(Column(name, kind, (f.encode_name,)))
            value = "v.value" if member else "v"
            parts.append(f"(None if (v := o.{_attr(f.name)}) is U or v is None else {value})")
        elif isinstance(t, mi.StructType) and any(x.encode_name == "id" for x in t.fields):
            name = f"{snake(f.encode_name)}_id"
            if name not in _TAKEN:
                columns.append(Column(name, "integer", (f.encode_name, "id")))
                parts.append(f"_id(o.{_attr(f.name)}, 'id', None)")
    return RowShape(tuple(columns), _compile(parts), tuple(children))


def _attr(name: str) -> str:
    if not name.isidentifier():  # pragma: no cover - msgspec field names are identifiers
        raise TypeError(f"field name {name!r} is not an identifier")
    return name


def _compile(parts: list[str]) -> Callable[[Any], tuple[object, ...]]:
    """One function reading every column of a record.

    This runs once per record with 30 to 50 columns, the hottest loop of a sync; a
    straight tuple expression is several times faster than a getter per column.
    """
    namespace: dict[str, Any] = {"U": msgspec.UNSET, "_id": getattr}
    body = ", ".join(parts)
    exec(f"def values(o):\n    return ({body}{',' if parts else ''})\n", namespace)
    values: Callable[[Any], tuple[object, ...]] = namespace["values"]
    return values
