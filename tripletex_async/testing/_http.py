"""Framework-free request and response values of the simulator.

The simulator's logic (`FakeTripletex.handle`) takes a `FakeRequest` and returns a
`FakeResponse`; two thin adapters carry them over the wire: an httpx transport for
in-process tests and a loopback HTTP/1.1 server. Keeping the core free of any HTTP
framework is what lets both adapters simulate the same faults (a dropped connection, a
truncated body) faithfully.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import parse_qsl, unquote

import msgspec

__all__ = ["FakeRequest", "FakeResponse", "Fault", "json_response"]


class Fault(Enum):
    """How an adapter should damage the response it was given."""

    #: Close the connection without sending a response.
    DROP = "drop"
    #: Send the headers (with the full ``Content-Length``) and half the body, then close.
    TRUNCATE = "truncate"


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """One HTTP request as the simulator sees it.

    ``raw_path`` is the path exactly as sent (percent-encoding kept, no query string);
    ``query`` is the raw query string; header names are lower case.
    """

    method: str
    raw_path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        """The decoded path: ``%3E`` and ``%3A`` become ``>`` and ``:``."""
        return unquote(self.raw_path)

    def params(self) -> dict[str, str]:
        """Query parameters; the last value wins for a repeated name."""
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass(slots=True)
class FakeResponse:
    """One HTTP response; ``fault`` tells the adapter to damage it on the way out."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    fault: Fault | None = None
    #: Rows of a list response, each weighted by the share of its fields that were asked
    #: for (1.0: a whole row): what ``Faults.latency_per_row`` is charged on.
    rows: float = 0.0

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), if present."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


def json_response(status: int, payload: object) -> FakeResponse:
    """A JSON response with ``payload`` serialized by msgspec."""
    return FakeResponse(
        status, msgspec.json.encode(payload), [("content-type", "application/json")]
    )
