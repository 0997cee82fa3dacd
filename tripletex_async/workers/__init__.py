"""Many workers, many machines: budgets as units of work (see ``README.md``, "Running on
many machines").

`run_budget_slice` is the whole contract with a job system; `tripletex_async.workers.
procrastinate` runs it on procrastinate (the ``workers`` extra)."""

from ._budget import Budget as Budget
from ._budget import budget_id as budget_id
from ._budget import budget_scope as budget_scope
from ._budget import server_key as server_key
from ._secrets import MissingSecretError as MissingSecretError
from ._secrets import Secrets as Secrets
from ._secrets import SecretsProvider as SecretsProvider
from ._slice import ClientFactory as ClientFactory
from ._slice import SliceResult as SliceResult
from ._slice import SliceStatus as SliceStatus
from ._slice import run_budget_slice as run_budget_slice

__all__ = [
    "Budget",
    "ClientFactory",
    "MissingSecretError",
    "Secrets",
    "SecretsProvider",
    "SliceResult",
    "SliceStatus",
    "budget_id",
    "budget_scope",
    "run_budget_slice",
    "server_key",
]
