"""The ``fields`` filter: parsing ``*,customer(id,name),orderLines(*)`` and projecting.

Rules follow Tripletex's API docs ("Fields"): ``*`` is every field of the object except
``changes``; a bare reference field is ``{"id", "url"}``; ``field(sub)`` expands the
referenced object; an unknown name is a 400 "Illegal field in fields filter".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import ApiFailure
from ._schema import ModelSchema

__all__ = ["IllegalField", "Selection", "field_share", "parse_fields", "project", "select"]

#: Looks up a referenced object: (target model, id) -> the full stored object, if any.
Resolver = Callable[[str, int], "dict[str, Any] | None"]


class IllegalField(ValueError):
    """A ``fields`` filter names a field that the model does not have."""

    def __init__(self, name: str, model: str) -> None:
        super().__init__(
            f"Illegal field in fields filter: {name}. {name} does not match a field in the "
            f"model: {model}DTO"
        )


@dataclass(slots=True)
class Selection:
    """A parsed ``fields`` filter for one object level."""

    star: bool = False
    #: Named fields; the value is the sub-selection of an expanded reference, else None.
    names: dict[str, Selection | None] = field(default_factory=dict)

    @property
    def is_plain_star(self) -> bool:
        """``*`` and nothing else: the fast path with pre-serialized objects."""
        return self.star and not self.names


def parse_fields(text: str) -> Selection:
    """Parse a ``fields`` expression; an empty one means ``*``.

    Raises ValueError on unbalanced parentheses.
    """
    text = text.replace(" ", "")
    if not text:
        return Selection(star=True)
    selection, end = _parse_level(text, 0)
    if end != len(text):
        raise ValueError(f"unbalanced parentheses in fields filter at {end}")
    return selection


def _parse_level(text: str, pos: int) -> tuple[Selection, int]:
    selection = Selection()
    while pos < len(text) and text[pos] != ")":
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        name = text[start:pos]
        sub: Selection | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_level(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise ValueError("unbalanced parentheses in fields filter")
            pos += 1
        if name == "*":
            selection.star = True
        elif name:
            selection.names[name] = sub
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return selection, pos


def validate(selection: Selection, model: ModelSchema, models: Mapping[str, ModelSchema]) -> None:
    """Raise IllegalField for a name the model (or a referenced model) lacks."""
    for name, sub in selection.names.items():
        info = model.field(name)
        if info is None:
            raise IllegalField(name, model.name)
        if sub is not None and info.target is not None and info.target in models:
            validate(sub, models[info.target], models)


def select(text: str, model: ModelSchema, models: Mapping[str, ModelSchema]) -> Selection:
    """``text`` parsed and checked against ``model``, or Tripletex's 400/11000 for it."""
    try:
        selection = parse_fields(text)
        validate(selection, model, models)
    except IllegalField as exc:
        raise ApiFailure(400, 11000, str(exc)) from None
    except ValueError as exc:
        raise ApiFailure(400, 11000, f"Illegal fields filter: {exc}") from None
    return selection


def field_share(selection: Selection, model: ModelSchema) -> float:
    """The share of ``model``'s top-level fields that ``selection`` returns, 0 to 1.

    ``*`` is all of them (``changes`` is not one: ``*`` leaves it out); an expanded
    reference counts as one field, whatever its sub-selection.
    """
    if selection.star:
        return 1.0
    total = sum(1 for name in model.fields if name != "changes")
    return min(1.0, len(selection.names) / total) if total else 1.0


def project(
    record: Mapping[str, Any],
    selection: Selection,
    model: ModelSchema,
    models: Mapping[str, ModelSchema],
    resolve: Resolver,
) -> dict[str, Any]:
    """The part of ``record`` that ``selection`` asks for, references expanded."""
    out: dict[str, Any] = {}
    if selection.star:
        for name, value in record.items():
            if name != "changes":
                out[name] = value
    for name, sub in selection.names.items():
        value = record.get(name)
        info = model.field(name)
        if sub is None or info is None or info.target is None or value is None:
            out[name] = value
            continue
        target = models.get(info.target)
        if isinstance(value, list):
            out[name] = [_expand(v, sub, target, models, resolve) for v in value]
        else:
            out[name] = _expand(value, sub, target, models, resolve)
    return out


def _expand(
    ref: Mapping[str, Any],
    sub: Selection,
    target: ModelSchema | None,
    models: Mapping[str, ModelSchema],
    resolve: Resolver,
) -> dict[str, Any]:
    full = resolve(target.name, int(ref["id"])) if target is not None else None
    if full is None or target is None:
        # Not an object the simulator stores: all it knows is the reference itself.
        return {k: v for k, v in ref.items() if sub.star or k in sub.names}
    return project(full, sub, target, models, resolve)
