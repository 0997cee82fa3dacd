"""Where a worker finds a budget's tokens: `SecretsProvider`, by reference.

Job arguments, lock names and the job tables hold a budget id, never a token; the job
resolves the budget's references when it runs. Built in (`Secrets`):

- ``env:NAME``: the environment variable ``NAME`` of the worker process;
- ``file:PATH#KEY``: the string under ``KEY`` in the JSON object stored at ``PATH``
  (read when resolved, so a rotated token is picked up by the next job; a file others
  may read is refused).

Anything else (a vault) implements `SecretsProvider`'s one method.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread

from ..client._errors import ConfigurationError

__all__ = ["MissingSecretError", "Secrets", "SecretsProvider"]


class MissingSecretError(ConfigurationError):
    """A token reference could not be resolved (the message names the reference, never
    a value)."""


@runtime_checkable
class SecretsProvider(Protocol):
    """Resolves a token reference to the token."""

    async def resolve(self, ref: str) -> str:
        """The token ``ref`` names; `MissingSecretError` when there is none."""
        ...


class Secrets:
    """``env:NAME`` and ``file:PATH#KEY`` references (see the module's text)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    async def resolve(self, ref: str) -> str:
        """The token ``ref`` names."""
        scheme, _, rest = ref.partition(":")
        if scheme == "env" and rest:
            value = self._environ.get(rest, "")
            if not value:
                raise MissingSecretError(f"token reference {ref}: the variable is not set")
            return value
        if scheme == "file" and "#" in rest:
            path, _, key = rest.rpartition("#")
            return await anyio.to_thread.run_sync(_from_file, Path(path), key, ref)
        raise MissingSecretError(f"token reference {ref!r}: expected env:NAME or file:PATH#KEY")


def _from_file(path: Path, key: str, ref: str) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MissingSecretError(
                f"token reference {ref}: the file may be read by others "
                f"(mode {stat.filemode(mode)}); chmod 600 it"
            )
        found = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MissingSecretError(f"token reference {ref}: {exc.strerror}") from None
    except ValueError:
        raise MissingSecretError(f"token reference {ref}: the file is not JSON") from None
    value = found.get(key) if isinstance(found, dict) else None
    if not isinstance(value, str) or not value:
        raise MissingSecretError(f"token reference {ref}: no such key in the file")
    return value
