"""Public names say where to import them from, as httpx, anyio and trio do it."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

__all__ = ["claim"]


def claim(namespace: Mapping[str, Any], names: Iterable[str], module: str) -> None:
    """Set ``__module__`` of the classes and functions ``names`` of ``namespace`` to
    ``module``, the public package that exports them: reprs, tracebacks and docs then
    show ``tripletex_async.TripletexClient``, not ``tripletex_async.client._client...``.

    Not for msgspec Structs and dataclasses: msgspec reads their (string) annotations in
    the namespace of ``__module__``, where names like ``T`` or ``Any`` would be missing.
    """
    for name in names:
        value = namespace[name]
        if inspect.isfunction(value) or (isinstance(value, type) and _plain(value)):
            value.__module__ = module


def _plain(cls: type) -> bool:
    return not dataclasses.is_dataclass(cls) and not issubclass(cls, msgspec.Struct)
