"""The package root is the public namespace: __all__ is sorted, complete and honest."""

from __future__ import annotations

import types
from typing import Annotated, get_origin

import pytest

import tripletex_async
import tripletex_async.testing


def _isort_key(name: str) -> tuple[int, str]:
    # CONSTANTS, then Classes, then functions: the order ruff's RUF022 keeps.
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return (kind, name)


@pytest.mark.parametrize("module", [tripletex_async, tripletex_async.testing])
def test_all_is_sorted_and_every_name_exists(module: types.ModuleType) -> None:
    """Every name in __all__ is importable, and __all__ is sorted (ruff's isort style)."""
    names = module.__all__
    assert names == sorted(names, key=_isort_key)
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", [tripletex_async, tripletex_async.testing])
def test_every_public_attribute_is_exported(module: types.ModuleType) -> None:
    """No public (non-underscore) class or function is left out of __all__."""
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} <= set(module.__all__)


def test_exported_objects_belong_to_the_package() -> None:
    """Re-exports come from our own private modules."""
    for name in tripletex_async.__all__:
        value = getattr(tripletex_async, name)
        if get_origin(value) is Annotated:  # a type alias (DateText): typing's object
            continue
        owner = getattr(value, "__module__", "tripletex_async")
        assert owner.startswith("tripletex_async"), (name, owner)


def test_every_error_of_the_package_is_exported() -> None:
    """Every `TripletexError` subclass is importable from the root or the public subpackage
    that raises it, so callers can catch it, and has its place in the drawn error tree."""
    import tripletex_async.cli
    import tripletex_async.sinks
    import tripletex_async.webhooks
    import tripletex_async.workers

    public = [
        tripletex_async,
        tripletex_async.sinks,
        tripletex_async.webhooks,
        tripletex_async.workers,
    ]
    seen: set[type] = set()
    todo: list[type] = [tripletex_async.TripletexError]
    while todo:
        cls = todo.pop()
        seen.add(cls)
        todo.extend(sub for sub in cls.__subclasses__() if sub not in seen)
    ours = {c for c in seen if c.__module__.startswith("tripletex_async")}
    missing = {
        c.__name__ for c in ours if all(getattr(m, c.__name__, None) is not c for m in public)
    }
    assert not missing
    from tripletex_async.client import _errors

    assert {c.__name__ for c in ours if c.__name__ not in (_errors.__doc__ or "")} == set()
