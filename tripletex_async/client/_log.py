"""Logging that stays quiet until the application asks, with secrets removed first.

The library never configures logging. An application that configured structlog gets
structlog events (through its own processors); any other gets standard ``logging``
records from the ``tripletex_async`` logger, which print nothing unless it configured
``logging`` (structlog's unconfigured default would print every debug event to stdout).
Every event passes through a `Redactor` first, which knows the connection's tokens and
also scrubs anything shaped like a Basic ``Authorization`` value or a token query
parameter, so no configuration of the host application can make a secret appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import structlog

__all__ = ["LOGGER_NAME", "REDACTED", "Log", "Redactor"]

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
    re.compile(r"(?i)((?:consumer|employee|session)?token=)[^&\s\"']+"),
)


#: Shorter "secrets" are not tokens (Tripletex's are long base64 strings) but typing
#: slips, and replacing every ``e`` of a message would make it unreadable.
MIN_SECRET = 8


class Redactor:
    """Replaces known secrets and secret-shaped text in log values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Remember one more secret (a new session token, say)."""
        if len(secret) >= MIN_SECRET and secret not in self._secrets:
            self._secrets.add(secret)
            # One pass over the text, longest first, so a replacement is never rescanned.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def text(self, value: str) -> str:
        """``value`` with every secret replaced."""
        if self._pattern is not None:
            value = self._pattern.sub(REDACTED, value)
        value = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", value)
        return _PATTERNS[1].sub(lambda m: f"{m.group(1)}{REDACTED}", value)

    def value(self, value: Any) -> Any:
        """Redact strings inside ``value``, recursing through containers."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        return value


#: The standard library logger events go to when structlog is not configured.
LOGGER_NAME = "tripletex_async"


class Log:
    """A logger whose every event is redacted first (see the module's text)."""

    def __init__(self, redactor: Redactor, **context: Any) -> None:
        self._redactor = redactor
        self._structlog = structlog.get_logger(LOGGER_NAME)
        self._stdlib = logging.getLogger(LOGGER_NAME)
        self._context = context

    def debug(self, event: str, **kw: Any) -> None:
        """Log at debug level."""
        self._emit(logging.DEBUG, event, kw)

    def info(self, event: str, **kw: Any) -> None:
        """Log at info level."""
        self._emit(logging.INFO, event, kw)

    def error(self, event: str, **kw: Any) -> None:
        """Log at error level."""
        self._emit(logging.ERROR, event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        """Log at warning level."""
        self._emit(logging.WARNING, event, kw)

    def _emit(self, level: int, event: str, kw: dict[str, Any]) -> None:
        if structlog.is_configured():
            self._structlog.log(level, event, **self._clean(kw))
        elif self._stdlib.isEnabledFor(level):
            fields = self._clean(kw)
            text = " ".join([event, *(f"{k}={v!r}" for k, v in fields.items())])
            # The fields also ride along as attributes, for structured handlers.
            self._stdlib.log(level, text, extra={"event": event, "tripletex": fields})

    def _clean(self, kw: dict[str, Any]) -> dict[str, Any]:
        merged = {**self._context, **kw}
        return {k: self._redactor.value(v) for k, v in merged.items()}
