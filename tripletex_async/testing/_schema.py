"""Typed access to the spec facts the simulator needs, from `tripletex_async._spec`.

The JSON is generated from Tripletex's OpenAPI file by ``_codegen``; at run time the
package reads only its own copy (through ``importlib.resources``), never the spec.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import msgspec

from .._spec import models_json

__all__ = [
    "FieldKind",
    "FieldSchema",
    "ModelSchema",
    "list_envelopes",
    "load_models",
    "spec_version",
]

FieldKind = Literal["scalar", "ref", "array", "ref_array"]


@dataclass(frozen=True, slots=True)
class FieldSchema:
    """One field of a spec model."""

    name: str
    kind: FieldKind
    #: Spec type with format, e.g. ``integer:int64``; ``object`` for references.
    type: str
    #: Referenced schema name for ``ref``/``ref_array`` fields.
    target: str | None
    read_only: bool
    #: Allowed values of an enum field (of the items, for arrays), else None.
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ModelSchema:
    """One spec model (``Customer``) and its fields."""

    name: str
    fields: Mapping[str, FieldSchema]

    def field(self, name: str) -> FieldSchema | None:
        """The field called ``name``, or None if the model has no such field."""
        return self.fields.get(name)


class _ModelsFile(msgspec.Struct, frozen=True):
    """The layout of ``models.json``; see ``_codegen`` for what each part means."""

    spec_version: str
    models: dict[str, dict[str, tuple[FieldKind, str, str | None, bool]]]
    enums: dict[str, dict[str, list[str]]]
    lists: dict[str, list[str]]


@functools.cache
def _load() -> _ModelsFile:
    return msgspec.json.decode(models_json(), type=_ModelsFile)


def _model(
    name: str, entries: Mapping[str, tuple[FieldKind, str, str | None, bool]]
) -> ModelSchema:
    enums = _load().enums.get(name, {})
    fields = {
        field: FieldSchema(field, kind, type_, target, read_only, _enum(enums.get(field)))
        for field, (kind, type_, target, read_only) in entries.items()
    }
    return ModelSchema(name, MappingProxyType(fields))


def _enum(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


@functools.cache
def load_models() -> Mapping[str, ModelSchema]:
    """Every model the simulator knows, by spec schema name (cached; immutable)."""
    return MappingProxyType({name: _model(name, e) for name, e in _load().models.items()})


@functools.cache
def list_envelopes() -> Mapping[str, tuple[str, ...]]:
    """Field names of each list envelope (``VoucherSearchResponse`` adds one)."""
    return MappingProxyType({name: tuple(f) for name, f in _load().lists.items()})


def spec_version() -> str:
    """The Tripletex version of the spec the data was generated from (``2.74.00``)."""
    return _load().spec_version
