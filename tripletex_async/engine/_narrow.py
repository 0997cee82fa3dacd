"""A model narrowed to the fields someone names, in Tripletex's own ``fields`` syntax
(``id,invoiceDate,amount,orderLines(description,count)``): what ``--fields`` syncs, with
the typed columns and child tables of exactly those fields, and no Python to write."""

from __future__ import annotations

import typing
from typing import Any

import msgspec

from ..client._errors import ConfigurationError

__all__ = ["narrow", "parse_selection"]

#: A parsed selection: (field, its own selection or ``None``), in the order written.
Selection = list[tuple[str, "Selection | None"]]

#: The fields of a reference, which the engine stores as ``<name>_id``.
_REF_FIELDS = frozenset({"id", "url"})


def parse_selection(text: str) -> Selection:
    """``a,b,c(d,e)`` as a tree; `ConfigurationError` for an empty name or unbalanced
    parentheses."""
    selection, end = _parse(text, 0)
    if end != len(text):
        raise ConfigurationError(f"fields {text!r}: unexpected ')' at {end + 1}")
    return selection


def _parse(text: str, start: int) -> tuple[Selection, int]:
    out: Selection = []
    position = start
    while True:
        name_end = position
        while name_end < len(text) and text[name_end] not in ",()":
            name_end += 1
        name = text[position:name_end].strip()
        if not name:
            raise ConfigurationError(f"fields {text!r}: a field name is missing at {position + 1}")
        position = name_end
        sub: Selection | None = None
        if position < len(text) and text[position] == "(":
            sub, position = _parse(text, position + 1)
            if position >= len(text) or text[position] != ")":
                raise ConfigurationError(f"fields {text!r}: '(' is not closed")
            position += 1
        out.append((name, sub))
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        return out, position


def narrow(model: type[msgspec.Struct], text: str) -> type[msgspec.Struct]:
    """``model`` with only the fields ``text`` selects (nested objects and lists of them
    narrowed the same way: ``orderLines(description,count)``); ``*`` keeps every field
    of its level. A name ``model`` lacks, or a selection inside a reference (stored as
    its id), is a `ConfigurationError` naming it."""
    return _narrow(model, parse_selection(text), model.__name__)


def _narrow(model: type[msgspec.Struct], selection: Selection, where: str) -> type[msgspec.Struct]:
    if any(name == "*" for name, _ in selection):
        return model
    fields = {f.encode_name: f for f in msgspec.structs.fields(model)}
    hints = typing.get_type_hints(model, include_extras=True)
    chosen: list[tuple[str, Any, Any]] = []
    unknown = [name for name, _ in selection if name not in fields]
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigurationError(f"{where} has no field {', '.join(unknown)}; it has: {known}")
    for name, sub in dict(selection).items():
        field = fields[name]
        annotation = hints[field.name]
        if sub is not None:
            annotation = _narrowed_type(annotation, sub, f"{where}.{name}")
        default = msgspec.field(default=field.default, name=field.encode_name)
        chosen.append((field.name, annotation, default))
    config = model.__struct_config__
    return msgspec.defstruct(
        model.__name__,
        chosen,
        kw_only=True,
        omit_defaults=config.omit_defaults,
        forbid_unknown_fields=config.forbid_unknown_fields,
        module=model.__module__,
    )


def _narrowed_type(annotation: Any, selection: Selection, where: str) -> Any:
    """``annotation`` (``S | None``, ``list[S] | None``...) with its Struct ``S``
    narrowed to ``selection``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        names = {f.encode_name for f in msgspec.structs.fields(annotation)}
        if names <= _REF_FIELDS:
            raise ConfigurationError(
                f"{where} is a reference: the engine stores its id "
                f"({where.rsplit('.', 1)[-1]}_id); ask for it without a selection"
            )
        return _narrow(annotation, selection, where)
    if origin is list and args:
        return list[_narrowed_type(args[0], selection, where)]  # type: ignore[misc]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        structs = [a for a in args if _holds_struct(a)]
        if not structs:
            raise ConfigurationError(f"{where} is not an object: it has no fields to select")
        narrowed = tuple(
            _narrowed_type(a, selection, where) if _holds_struct(a) else a for a in args
        )
        return typing.Union[narrowed]  # noqa: UP007 - built from a tuple of types
    raise ConfigurationError(f"{where} is not an object: it has no fields to select")


def _holds_struct(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return True
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) is list and bool(args) and _holds_struct(args[0])
