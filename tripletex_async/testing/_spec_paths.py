"""Every path of Tripletex's spec and its methods: ``_spec/paths.json``.

What lets the simulator answer any path honestly (see `_app`): a route that no spec path
matches is Tripletex's 404/6000; a method the matched path lacks is its 400/4000 "HTTP
405 Method Not Allowed"; a number-typed path parameter holding something else is its
422/21000 "Expected number" (``GET /company/whoAmI``, FACTS §5.3); anything else the
simulator does not serve is the simulator's own 501 "not simulated".

Written by ``python -m tools.gen_paths``; read here through ``importlib.resources``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

import msgspec

from .. import _spec
from ._schema import FieldKind, FieldSchema, ModelSchema

__all__ = ["SpecRoute", "lookup_models", "match_route"]


class _PathsFile(msgspec.Struct, frozen=True):
    paths: dict[str, list[str]]
    numeric_params: dict[str, list[str]]
    models: dict[str, dict[str, tuple[FieldKind, str, str | None, bool]]]


@dataclass(frozen=True, slots=True)
class SpecRoute:
    """The spec path a route names, with the values of its path parameters."""

    #: The spec path without its leading slash: ``company/{id}``.
    template: str
    methods: frozenset[str]
    params: Mapping[str, str]
    #: Names of the path parameters the spec types as integers.
    numeric: frozenset[str]

    def not_a_number(self) -> str | None:
        """The first value of a number parameter that is not one, if any."""
        return next(
            (v for k, v in self.params.items() if k in self.numeric and not v.isdigit()), None
        )


@functools.cache
def _load() -> _PathsFile:
    raw = resources.files(_spec).joinpath("paths.json").read_bytes()
    return msgspec.json.decode(raw, type=_PathsFile)


@functools.cache
def _by_length() -> Mapping[int, tuple[tuple[tuple[str, ...], str], ...]]:
    grouped: dict[int, list[tuple[tuple[str, ...], str]]] = {}
    for path in _load().paths:
        segments = tuple(path.lstrip("/").split("/"))
        grouped.setdefault(len(segments), []).append((segments, path))
    return MappingProxyType({n: tuple(v) for n, v in grouped.items()})


@functools.lru_cache(maxsize=4096)
def match_route(route: str) -> SpecRoute | None:
    """The spec path that ``route`` (a path after ``/v2/``) names, or None.

    A literal segment beats a parameter, the earlier the better, as the server's router
    prefers them: ``ledger/posting/openPost`` is that list, not posting ``openPost``.
    """
    parts = route.split("/")
    best: tuple[tuple[bool, ...], str] | None = None
    for segments, path in _by_length().get(len(parts), ()):
        literal = tuple(not s.startswith("{") for s in segments)
        fits = all(s == p for s, p, lit in zip(segments, parts, literal, strict=True) if lit)
        if fits and (best is None or literal > best[0]):
            best = (literal, path)
    if best is None:
        return None
    data, path = _load(), best[1]
    names = path.lstrip("/").split("/")
    params = {s[1:-1]: p for s, p in zip(names, parts, strict=True) if s.startswith("{")}
    return SpecRoute(
        path.lstrip("/"),
        frozenset(data.paths[path]),
        MappingProxyType(params),
        frozenset(data.numeric_params.get(path, ())),
    )


@functools.cache
def lookup_models() -> Mapping[str, ModelSchema]:
    """Schemas of the single-object lookups that ``models.json`` does not hold."""
    out: dict[str, ModelSchema] = {}
    for name, entries in _load().models.items():
        fields = {
            f: FieldSchema(f, kind, type_, target, read_only)
            for f, (kind, type_, target, read_only) in entries.items()
        }
        out[name] = ModelSchema(name, MappingProxyType(fields))
    return MappingProxyType(out)
