"""`Budget`: one rate budget (a consumer token and an employee token) as the unit of work
of many workers, named by an id that never reveals its tokens.

Tripletex limits requests per (consumer token, employee token): an accountant's token
puts all its client companies under one budget, and each company's own token is a
budget of its own. One budget is driven by exactly one job at a time, so the in-process,
header-driven limiter stays exact; budgets are what a job queue distributes.

A budget's id is an HMAC-SHA256 of its two tokens under the operator's server key
(``TRIPLETEX_WORKERS_KEY``): stable across registrations (registering the same tokens
again finds the same budget), safe in job arguments, lock names and log lines, and
useless to anyone without the key. The tokens themselves are never stored: a budget
holds *references* to them (``env:NAME``, ``file:PATH#KEY``; see `SecretsProvider`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

from ..client._errors import ConfigurationError

__all__ = ["Budget", "Companies", "budget_id", "budget_scope", "server_key"]

#: ``"own"``: the token owner's company; ``"all"``: every client company an accountant's
#: token reaches; or explicit company ids.
Companies = Literal["own", "all"] | tuple[int, ...]

#: The environment variable holding the server key (at least 16 characters).
KEY_VARIABLE = "TRIPLETEX_WORKERS_KEY"
_MIN_KEY = 16


@dataclass(frozen=True, slots=True)
class Budget:
    """A registered rate budget: what a worker job needs to run it, with no secret."""

    #: `budget_id` of its tokens.
    id: str
    #: Where its consumer and employee tokens are found (see `SecretsProvider`).
    consumer_ref: str
    employee_ref: str
    companies: Companies = "own"
    #: Resource names, or ``()`` for the default set.
    resources: tuple[str, ...] = ()
    #: A short name for people (``acme``, ``accountant-1``); never a token.
    label: str = ""
    #: Requests its last full run took (0: unknown): the planner runs heavy ones first.
    weight: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not self.id or not self.consumer_ref or not self.employee_ref:
            raise ConfigurationError("a budget needs an id and both token references")
        if isinstance(self.companies, tuple) and not self.companies:
            raise ConfigurationError("a budget's companies: 'own', 'all' or some ids")

    @property
    def scope(self) -> int:
        """The lease scope that makes one job at a time drive this budget."""
        return budget_scope(self.id)

    def __str__(self) -> str:
        return f"budget {self.label or self.id[:12]}"


def server_key(environ: dict[str, str] | None = None, value: str | None = None) -> bytes:
    """The key budget ids are made with: ``value``, else ``TRIPLETEX_WORKERS_KEY``."""
    import os

    found = value if value is not None else (environ or os.environ).get(KEY_VARIABLE, "")
    if len(found) < _MIN_KEY:
        raise ConfigurationError(
            f"{KEY_VARIABLE} must be set to a random string of at least {_MIN_KEY} "
            "characters (the same on every worker): budget ids are made with it"
        )
    return found.encode()


def budget_id(consumer_token: str, employee_token: str, key: bytes) -> str:
    """The id of the budget of these tokens under ``key`` (32 hex digits)."""
    if not consumer_token or not employee_token:
        raise ConfigurationError("a budget needs both its consumer and employee token")
    message = consumer_token.encode() + b"\0" + employee_token.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def budget_scope(id_: str) -> int:
    """A lease scope for a budget id: negative, so it never meets a company id."""
    return -(int(id_[:15], 16) + 1)
