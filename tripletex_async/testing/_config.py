"""Configuration values of the simulator: rate limits, faults, list behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["FakeConfig", "Faults", "FullResultSize", "RateLimit"]


class FullResultSize(Enum):
    """What the simulator puts in a list envelope's ``fullResultSize``.

    Tripletex marks the field deprecated and inexact, and changed its behaviour in 2026
    (tripletex-api2#127); clients must page until a short page instead.
    """

    EXACT = "exact"
    #: Off by a deterministic amount: sometimes more, sometimes fewer than the truth.
    INEXACT = "inexact"
    ZERO = "zero"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A fixed window of ``limit`` calls per ``period`` seconds.

    The window is kept per (consumer token, employee token), as Tripletex documents.
    Once exhausted, every call is 429 until the window ends; by default such a 429 carries
    no ``X-Rate-Limit-Reset`` header (tripletex-api2#103).
    """

    limit: int
    period: float
    reset_header_on_429: bool = False

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")


@dataclass(frozen=True, slots=True)
class Faults:
    """Seeded faults, each a probability per request (0 to 1), plus response latency.

    Faults never hit ``/token/session`` calls unless ``on_token_calls`` is set, so a
    test of retries is not also a test of session creation.
    """

    seed: int = 0
    #: Seconds added before every response.
    latency: float = 0.0
    #: Up to this many seconds more, uniformly drawn.
    jitter: float = 0.0
    #: Seconds added per row a list response returns, times the share of the object's
    #: top-level fields the ``fields`` filter asks for (``*`` or every field: all of it).
    #: Tripletex's time grows with the page: 10,000 rows take longer than 1,000.
    latency_per_row: float = 0.0
    error_500: float = 0.0
    error_503: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    #: The session used by the request dies (401 from then on).
    session_death: float = 0.0
    on_token_calls: bool = False

    @property
    def any(self) -> bool:
        """Whether any probabilistic fault is switched on."""
        return any(
            p > 0
            for p in (
                self.error_500,
                self.error_503,
                self.drop,
                self.truncate,
                self.session_death,
            )
        )


@dataclass(frozen=True, slots=True)
class FakeConfig:
    """Behaviour of one simulated Tripletex."""

    #: ``"test"`` issues ``test-`` tokens, as api-test.tripletex.tech does.
    environment: str = "test"
    #: Host part of the ``url`` of references, without scheme, as Tripletex writes it.
    host: str = "api-test.tripletex.tech"
    rate_limit: RateLimit | None = None
    faults: Faults = Faults()
    full_result_size: FullResultSize = FullResultSize.INEXACT
    #: Largest accepted ``count``.
    max_count: int = 10_000
    #: Largest result set a list query may match, whatever ``count`` is (422/23000).
    result_cap: int = 10_000
    #: Whether ``POST /token/session/:create`` exists (it came with 2.72-2.74).
    post_session_create: bool = True
    #: Sign webhook deliveries and send them (see ``FakeTripletex.deliveries``).
    webhooks: bool = True
    #: Apply the defaults of list filters that hide rows, as Tripletex does: inactive
    #: customers and suppliers, contacts among employees and closed projects are left out
    #: unless asked for. False serves every row unless a filter is given explicitly.
    default_filters: bool = True
    #: Modules a company has not enabled, by company id: API paths whose first segment
    #: is listed (``"project"``, ``"timesheet"``) answer 403/9000 "You do not have
    #: permission to access this feature.", as Tripletex answers for a module outside the
    #: company's package or a feature the token may not use.
    modules_off: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: Employee tokens of the accounting office, each a budget of its own: the clients
    #: (sorted by id) are split among them in contiguous shares as even as can be, and
    #: each token reaches and lists only its share. At most the number of clients.
    accountants: int = 1

    def __post_init__(self) -> None:
        if self.environment not in ("test", "prod"):
            raise ValueError("environment must be 'test' or 'prod'")
        if self.accountants < 1:
            raise ValueError("accountants must be >= 1")
