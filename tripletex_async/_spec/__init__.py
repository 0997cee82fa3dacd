"""Facts distilled from Tripletex's OpenAPI spec, as data: ``models.json``.

Read at run time by the simulator (which fields each object has, their types, which are
read-only) and by the generator of `tripletex_async.models`; written only by
``python -m tools.distil_spec``. Nothing here reads the spec itself.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["models_json"]


def models_json() -> bytes:
    """The content of ``models.json``."""
    return resources.files(__name__).joinpath("models.json").read_bytes()
