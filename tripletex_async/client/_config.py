"""Client configuration: environments, credentials and limits, checked before any request.

Test and production are kept apart loudly: Tripletex's test tokens start with ``test-``,
and a test token sent to production (or the reverse) is refused here, at construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from ._errors import ConfigurationError

__all__ = [
    "ENVIRONMENTS",
    "Credentials",
    "Limits",
    "RetryPolicy",
    "resolve_endpoint",
    "shown_url",
]

#: Tripletex's own API roots.
ENVIRONMENTS: dict[str, str] = {
    "test": "https://api-test.tripletex.tech/v2",
    "prod": "https://tripletex.no/v2",
}
_HOST_ENV = {urlsplit(url).hostname: env for env, url in ENVIRONMENTS.items()}


def shown_url(url: str) -> str:
    """``url`` fit for a message: a password in it (a proxy's, say) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{netloc}").geturl()


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

    def __post_init__(self) -> None:
        # Zero slots would make every request wait forever.
        _at_least(self, 1, "max_in_flight", "per_company")
        _positive(self, "timeout", "connect_timeout")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped in attempts and in total time."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    total: float = 300.0
    #: How many 429s one request may meet (each after the budget's pause).
    rate_limited_attempts: int = 20

    def __post_init__(self) -> None:
        # ``attempts`` counts the first try: with none, nothing would ever be sent.
        _at_least(self, 1, "attempts")
        _at_least(self, 0, "base", "cap", "rate_limited_attempts")
        _positive(self, "total")

    def backoff(self, attempt: int, draw: float) -> float:
        """Delay before retry ``attempt`` (1-based), with ``draw`` uniform in [0, 1)."""
        return draw * min(self.cap, self.base * 2.0 ** (attempt - 1))


def _at_least(config: object, low: float, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        # Written so that NaN fails too.
        if not value >= low:
            raise ConfigurationError(
                f"{type(config).__name__}.{name} must be at least {low}, not {value!r}"
            )


def _positive(config: object, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not value > 0:
            raise ConfigurationError(
                f"{type(config).__name__}.{name} must be a number of seconds > 0, not {value!r}"
            )


def resolve_endpoint(
    *,
    consumer_token: str | None,
    employee_token: str | None,
    env: str | None,
    base_url: str | None,
    environ: Mapping[str, str],
    spelling: Spelling = "python",
) -> tuple[str, Credentials]:
    """Pick the API root and tokens from arguments, then ``TRIPLETEX_*`` variables.

    Raises ConfigurationError for a missing token, an unknown environment, both an
    environment and a base URL, or tokens of the other environment, naming what to
    change as Python arguments or, with ``spelling="cli"``, as command-line flags.
    """
    words = _WORDS[spelling]
    consumer = consumer_token or environ.get("TRIPLETEX_CONSUMER_TOKEN")
    employee = employee_token or environ.get("TRIPLETEX_EMPLOYEE_TOKEN")
    if not consumer:
        raise ConfigurationError(f"no consumer token: {words['consumer']}")
    if not employee:
        raise ConfigurationError(f"no employee token: {words['employee']}")
    root = _root(env, base_url, environ, words)
    creds = Credentials(consumer, employee)
    _check_environment(root, creds, words)
    return root, creds


#: How errors name what to change: Python arguments, or the command line's flags (which
#: take tokens from the environment only, never from a flag).
Spelling = Literal["python", "cli"]
_WORDS: dict[Spelling, dict[str, str]] = {
    "python": {
        "consumer": "pass consumer_token= or set TRIPLETEX_CONSUMER_TOKEN",
        "employee": "pass employee_token= or set TRIPLETEX_EMPLOYEE_TOKEN",
        "both": "give either env= or base_url=, not both",
        "test": "env='test'",
        "prod": "env='prod'",
    },
    "cli": {
        "consumer": "set TRIPLETEX_CONSUMER_TOKEN",
        "employee": "set TRIPLETEX_EMPLOYEE_TOKEN",
        "both": "give either --env or --base-url, not both",
        "test": "--env test",
        "prod": "--env prod",
    },
}


def _root(
    env: str | None, base_url: str | None, environ: Mapping[str, str], words: Mapping[str, str]
) -> str:
    if env is not None and base_url is not None:
        raise ConfigurationError(words["both"])
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


def _check_environment(root: str, creds: Credentials, words: Mapping[str, str]) -> None:
    env = _HOST_ENV.get(urlsplit(root).hostname)
    if env == "prod" and creds.is_test:
        raise ConfigurationError(
            "refusing to send a test token (prefix 'test-') to Tripletex production; "
            f"use {words['test']}"
        )
    if env == "test" and not creds.is_test:
        raise ConfigurationError(
            "refusing to send a production token to the Tripletex test environment; "
            f"use {words['prod']} (test tokens start with 'test-')"
        )
