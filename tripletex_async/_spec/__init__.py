"""Facts distilled from Tripletex's OpenAPI spec, as data: ``models.json`` and
``descriptions.json``.

``models.json`` is read at run time by the simulator (which fields each object has, their
types, which are read-only) and by the generator of `tripletex_async.models`; written only
by ``python -m tools.distil_spec``. ``descriptions.json`` (the spec's descriptions of
fields and list endpoints, for the data dictionary and PostgreSQL comments) is written by
``python -m tools.distil_descriptions``. ``registry.json`` (every list endpoint of the
spec, classified: plain, dated, child, snapshot or excluded with a reason) is written by
``python -m tools.gen_registry``. ``required.json`` (the fields a POST must carry, per model,
from the older Swagger 2 spec) is written by ``python -m tools.distil_required``.
``filters.json`` (every query filter of every list the simulator serves, classified: the
record field it compares and how, or why it is not applied) is written by ``python -m
tools.distil_filters``. Nothing here reads the spec itself.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

__all__ = [
    "field_description",
    "filters_json",
    "list_summary",
    "models_json",
    "registry_json",
    "required_json",
]


def models_json() -> bytes:
    """The content of ``models.json``."""
    return resources.files(__name__).joinpath("models.json").read_bytes()


def registry_json() -> bytes:
    """The content of ``registry.json``."""
    return resources.files(__name__).joinpath("registry.json").read_bytes()


def required_json() -> bytes:
    """The content of ``required.json``."""
    return resources.files(__name__).joinpath("required.json").read_bytes()


def filters_json() -> bytes:
    """The content of ``filters.json``."""
    return resources.files(__name__).joinpath("filters.json").read_bytes()


@functools.cache
def _descriptions() -> dict[str, dict[str, dict[str, str] | str]]:
    text = resources.files(__name__).joinpath("descriptions.json").read_bytes()
    loaded: dict[str, dict[str, dict[str, str] | str]] = json.loads(text)
    return loaded


def field_description(model: str, field: str) -> str:
    """The spec's description of ``model.field`` (``""`` when it has none)."""
    found = _descriptions()["fields"].get(model, {})
    return found.get(field, "") if isinstance(found, dict) else ""


def list_summary(path: str) -> str:
    """The spec's summary of ``GET /path`` (``""`` when it has none)."""
    found = _descriptions()["lists"].get(path, "")
    return found if isinstance(found, str) else ""
