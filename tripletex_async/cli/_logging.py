"""Logging for the command line: the one place structlog and stdlib logging are set up.

Every event passes a `Scrubber` before it is rendered. The library already redacts its
own events, but httpx logs every URL through stdlib logging at INFO, and the DELETE that
ends a session carries the session token in its path. So the CLI scrubs everything once
more, with the tokens it was given and with each connection's redactor, which learns
session tokens as they are created. Setup is undone when the command ends, so running
``main`` twice in one process (tests) leaves nothing behind.
"""

from __future__ import annotations

import logging
import sys
import weakref
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor

from ..client._log import Redactor

__all__ = ["LEVELS", "LogFormat", "LogSetup", "Scrubber", "level_from"]

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
LogFormat = Literal["auto", "console", "json"]
#: Loggers of libraries below us: quiet unless debugging (httpx), or always (the rest,
#: whose DEBUG output is protocol noise).
_HTTPX = "httpx"
_QUIET = ("httpcore", "hpack", "aiohttp", "asyncio")
#: Loggers whose warnings repeat, in a driver's words, a failure the run already reports
#: as one typed line (psycopg warns "query cancellation interrupted" when a run that lost
#: its lease stops its queries): shown from ``-vv`` only.
_DRIVERS = ("psycopg",)


def level_from(verbose: int, name: str | None) -> int:
    """``--log-level`` if given, else WARNING, INFO for ``-v``, DEBUG for ``-vv``."""
    if name is not None:
        return LEVELS[name]
    return (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG


class Scrubber:
    """A structlog processor that runs every value of an event through redactors."""

    def __init__(self) -> None:
        self._own = Redactor()
        self._followed: list[Redactor] = []
        # Weakly, by owner: a worker's budgets' tokens are scrubbed while their clients
        # live, and a night's thousands of budgets do not pile up (every event would go
        # through all their tokens).
        self._owned: weakref.WeakKeyDictionary[object, Redactor] = weakref.WeakKeyDictionary()

    def add(self, secret: str) -> None:
        """A secret to remove from now on (a token)."""
        self._own.add(secret)

    def follow(self, redactor: Redactor) -> None:
        """Also apply ``redactor`` (a connection's: it learns session tokens)."""
        self._followed.append(redactor)

    def add_while(self, owner: object, *secrets: str) -> None:
        """Secrets to remove for as long as ``owner`` lives (a budget's client)."""
        self._owned[owner] = Redactor(secrets)

    def _redactors(self) -> list[Redactor]:
        return [self._own, *self._followed, *self._owned.values()]

    def text(self, value: str) -> str:
        """``value`` with every known secret and secret-shaped text replaced."""
        for redactor in self._redactors():
            value = redactor.text(value)
        return value

    def value(self, value: Any) -> Any:
        """Redact strings inside ``value``, recursing through containers."""
        for redactor in self._redactors():
            value = redactor.value(value)
        return value

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        redactors = self._redactors()  # once per event, not per value
        scrubbed = {}
        for key, value in event_dict.items():
            for redactor in redactors:
                value = redactor.value(value)
            scrubbed[key] = value
        return scrubbed


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is at that moment: while rich's live table is up
    it is a proxy that prints above the table instead of through it."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


class _StderrHandler(logging.Handler):
    """A stdlib handler writing to the current ``sys.stderr`` (see `_StderrLogger`)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


@dataclass(slots=True)
class LogSetup:
    """How this run logs: level, format, and the scrubber every event passes."""

    level: int = logging.WARNING
    json: bool = True
    scrubber: Scrubber = field(default_factory=Scrubber)

    @classmethod
    def choose(cls, level: int, fmt: LogFormat) -> LogSetup:
        """Pretty on a terminal, JSON lines otherwise (``fmt`` may force either)."""
        json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
        return cls(level, json)

    def _chain(self) -> list[Processor]:
        # Exceptions are formatted before scrubbing so a traceback cannot carry a secret.
        return [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            self.scrubber,
        ]

    def _renderer(self) -> Processor:
        if self.json:
            return structlog.processors.JSONRenderer()
        return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    def emit(self, event: str, **values: Any) -> None:
        """One line in the log format whatever the level (progress lines use this)."""
        event_dict: Any = {"event": event, **values}
        for processor in [*self._chain(), self._renderer()]:
            event_dict = processor(None, "info", event_dict)
        print(event_dict, file=sys.stderr, flush=True)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Configure structlog and stdlib logging for the ``with`` block, then restore."""
        saved = structlog.get_config() if structlog.is_configured() else None
        structlog.configure(
            processors=[*self._chain(), self._renderer()],
            wrapper_class=structlog.make_filtering_bound_logger(self.level),
            logger_factory=_stderr_logger,
            # Not cached: restoring the old configuration must take effect everywhere.
            cache_logger_on_first_use=False,
        )
        try:
            with self._stdlib():
                yield
        finally:
            if saved is None:
                structlog.reset_defaults()
            else:
                structlog.configure(**saved)

    @contextmanager
    def _stdlib(self) -> Iterator[None]:
        handler = _StderrHandler(self.level)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[structlog.stdlib.add_logger_name, *self._chain()],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    self._renderer(),
                ],
            )
        )
        root = logging.getLogger()
        levels = _levels(root, self.level)
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)
            for name, level in levels.items():
                logging.getLogger(name or None).setLevel(level)


def _levels(root: logging.Logger, level: int) -> MutableMapping[str, int]:
    """Set the levels this run wants; return the old ones to restore."""
    wanted = {"": level, _HTTPX: logging.INFO if level <= logging.DEBUG else logging.WARNING}
    wanted.update(dict.fromkeys(_QUIET, max(level, logging.WARNING)))
    wanted.update(
        dict.fromkeys(_DRIVERS, logging.DEBUG if level <= logging.DEBUG else logging.ERROR)
    )
    old: dict[str, int] = {}
    for name, value in wanted.items():
        logger = root if not name else logging.getLogger(name)
        old[name] = logger.level
        logger.setLevel(value)
    return old
