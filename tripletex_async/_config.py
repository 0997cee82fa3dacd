"""Client configuration: environments, credentials and limits, checked before any request.

Test and production are kept apart loudly: Tripletex's test tokens start with ``test-``,
and a test token sent to production (or the reverse) is refused here, at construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ._errors import ConfigurationError

__all__ = ["ENVIRONMENTS", "Credentials", "Limits", "RetryPolicy", "resolve_endpoint"]

#: Tripletex's own API roots.
ENVIRONMENTS: dict[str, str] = {
    "test": "https://api-test.tripletex.tech/v2",
    "prod": "https://tripletex.no/v2",
}
_HOST_ENV = {urlsplit(url).hostname: env for env, url in ENVIRONMENTS.items()}


@dataclass(frozen=True, slots=True)
class Credentials:
    """A consumer token and an employee token; ``repr`` never shows them."""

    consumer_token: str = field(repr=False)
    employee_token: str = field(repr=False)

    @property
    def is_test(self) -> bool:
        """Whether these are test-environment tokens (``test-`` prefix)."""
        return self.consumer_token.startswith("test-")


@dataclass(frozen=True, slots=True)
class Limits:
    """Concurrency bounds and timeouts.

    ``per_company`` bounds how many requests one company may have waiting for or holding
    a slot: that is what keeps a company with 100,000 rows from starving one with 10.
    """

    max_in_flight: int = 64
    per_company: int = 8
    timeout: float = 60.0
    connect_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped in attempts and in total time."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    total: float = 300.0
    #: How many 429s one request may meet (each after the budget's pause).
    rate_limited_attempts: int = 20

    def backoff(self, attempt: int, draw: float) -> float:
        """Delay before retry ``attempt`` (1-based), with ``draw`` uniform in [0, 1)."""
        return draw * min(self.cap, self.base * 2.0 ** (attempt - 1))


def resolve_endpoint(
    *,
    consumer_token: str | None,
    employee_token: str | None,
    env: str | None,
    base_url: str | None,
    environ: Mapping[str, str],
) -> tuple[str, Credentials]:
    """Pick the API root and tokens from arguments, then ``TRIPLETEX_*`` variables.

    Raises ConfigurationError for a missing token, an unknown environment, both an
    environment and a base URL, or tokens of the other environment.
    """
    consumer = consumer_token or environ.get("TRIPLETEX_CONSUMER_TOKEN")
    employee = employee_token or environ.get("TRIPLETEX_EMPLOYEE_TOKEN")
    if not consumer:
        raise ConfigurationError(
            "no consumer token: pass consumer_token= or set TRIPLETEX_CONSUMER_TOKEN"
        )
    if not employee:
        raise ConfigurationError(
            "no employee token: pass employee_token= or set TRIPLETEX_EMPLOYEE_TOKEN"
        )
    root = _root(env, base_url, environ)
    creds = Credentials(consumer, employee)
    _check_environment(root, creds)
    return root, creds


def _root(env: str | None, base_url: str | None, environ: Mapping[str, str]) -> str:
    if env is not None and base_url is not None:
        raise ConfigurationError("give either env= or base_url=, not both")
    if env is None and base_url is None:
        base_url = environ.get("TRIPLETEX_BASE_URL") or None
        env = None if base_url else environ.get("TRIPLETEX_ENV", "test")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"base URL must be an absolute http(s) URL: {base_url!r}")
        return base_url.rstrip("/")
    if env not in ENVIRONMENTS:
        known = ", ".join(sorted(ENVIRONMENTS))
        raise ConfigurationError(f"unknown Tripletex environment {env!r}; use one of: {known}")
    return ENVIRONMENTS[env]


def _check_environment(root: str, creds: Credentials) -> None:
    env = _HOST_ENV.get(urlsplit(root).hostname)
    if env == "prod" and creds.is_test:
        raise ConfigurationError(
            "refusing to send a test token (prefix 'test-') to Tripletex production; use env='test'"
        )
    if env == "test" and not creds.is_test:
        raise ConfigurationError(
            "refusing to send a production token to the Tripletex test environment; "
            "use env='prod' (test tokens start with 'test-')"
        )
