"""Field types the generated Structs share with users' own Structs."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["DateText"]

#: A date as Tripletex sends it: ``"2024-01-31"``, or ``""`` for none. Kept as text, so an
#: empty or odd value never fails a page's decoding, but typed for the sinks: its column
#: is a date (``""`` and anything that is not an ISO date store NULL). A Struct field of
#: type `datetime.date` gets a date column too, but fails to decode ``""``.
DateText = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date"})]
