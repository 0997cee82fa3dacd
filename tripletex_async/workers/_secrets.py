"""Where a worker finds a budget's tokens: `SecretsProvider`, by reference.

Job arguments, lock names and the job tables hold a budget id, never a token; the job
resolves the budget's references when it runs. Built in (`Secrets`):

- ``env:NAME``: the environment variable ``NAME`` of the worker process;
- ``file:PATH#KEY``: the string under ``KEY`` in the JSON object stored at ``PATH``
  (read again whenever the file changed, so a rotated token is picked up by the next
  job, and parsed once otherwise: one vault file serves thousands of budgets a night; a
  file others may read is refused).

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
        #: Per file: its identity when read (device, inode, size, mtime) and its object.
        self._files: dict[Path, tuple[tuple[int, int, int, int], object]] = {}

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
            return await anyio.to_thread.run_sync(self._from_file, Path(path), key, ref)
        raise MissingSecretError(f"token reference {ref!r}: expected env:NAME or file:PATH#KEY")

    def _from_file(self, path: Path, key: str, ref: str) -> str:
        try:
            info = path.stat()
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise MissingSecretError(
                    f"token reference {ref}: the file may be read by others "
                    f"(mode {stat.filemode(info.st_mode)}); chmod 600 it"
                )
            identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            cached = self._files.get(path)
            if cached is not None and cached[0] == identity:
                found = cached[1]
            else:
                found = json.loads(path.read_text(encoding="utf-8"))
                self._files[path] = (identity, found)
        except OSError as exc:
            raise MissingSecretError(f"token reference {ref}: {exc.strerror}") from None
        except ValueError:
            raise MissingSecretError(f"token reference {ref}: the file is not JSON") from None
        value = found.get(key) if isinstance(found, dict) else None
        if not isinstance(value, str) or not value:
            raise MissingSecretError(f"token reference {ref}: no such key in the file")
        return value
