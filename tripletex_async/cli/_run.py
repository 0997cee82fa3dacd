"""Running one command: the event loop, Ctrl-C, and errors turned into exit codes.

The library never starts an event loop; this module does, once per command. SIGINT and
SIGTERM cancel the command's work: cancellation unwinds the sync, whose sink writes are
transactions (a page is stored with its state or not at all), the session is deleted and
the sink closed under shields, and the exit code says what happened. A second Ctrl-C
quits at once; the database is still consistent, only the session is left to expire.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TextIO

import anyio
import anyio.abc

from ..client._errors import (
    AuthenticationError,
    CompanyProblem,
    CompanySelectionError,
    ConfigurationError,
    EndpointError,
    LeaseError,
    TripletexError,
)
from ..engine._groups import sole_exception
from ..sinks import SinkError
from ._logging import LogSetup

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "Context",
    "execute",
]

EXIT_OK = 0
#: Some companies failed; the others were committed.
EXIT_FAILED = 1
#: A bad flag, a missing or refused token, an unreachable or wrong base URL, companies
#: the token does not reach, an unusable sink or report path, another run's lease.
EXIT_USAGE = 2
#: 128 + SIGINT, as shells report it.
EXIT_INTERRUPTED = 130

_RESUME_HINT = "what was stored is committed; rerun the same command to continue where it stopped"
#: The library's advice, in flags.
_CHOICE_ADVICE: dict[CompanyProblem, str] = {
    "choose": "use --all-companies or --company ID",
    "unknown": "`tripletex-async companies` lists the companies it reaches",
    "none_reached": "without --all-companies a sync takes the token's own company",
    "accountant_own": "choose client companies: --all-companies or --company ID,...",
}


@dataclass(frozen=True, slots=True)
class Context:
    """What a command may use besides its arguments: streams, environment, logging."""

    out: TextIO
    err: TextIO
    environ: Mapping[str, str]
    logs: LogSetup
    debug: bool = False
    #: Signals received while the command ran; the first one sets the exit code.
    signals: list[int] = field(default_factory=list)
    #: What a stop by a signal means for this command (a sync's: rerun to continue).
    stop_hint: str = _RESUME_HINT
    #: Set by a command that stops gracefully on its own (a worker winding its jobs
    #: down): the first signal calls these instead of cancelling the command.
    stop_handlers: list[Callable[[], None]] = field(default_factory=list)

    def interrupted_code(self) -> int:
        """The exit code of a run cut short by the signals received so far."""
        return 128 + self.signals[0] if self.signals else EXIT_INTERRUPTED


Command = Callable[[argparse.Namespace, Context], Awaitable[int]]


def execute(command: Command, args: argparse.Namespace, ctx: Context) -> int:
    """Run ``command`` on a fresh asyncio loop; return the exit code, never raise."""
    try:
        return anyio.run(_guarded, command, args, ctx, backend="asyncio")
    except KeyboardInterrupt:  # Ctrl-C before the signal receiver was in place
        return _interrupted(ctx, signal.SIGINT)
    except BaseExceptionGroup as group:  # before Exception: ExceptionGroup is one
        leaf = _reported(group)
        if isinstance(leaf, KeyboardInterrupt):
            return _interrupted(ctx, signal.SIGINT)
        return _failed(leaf, ctx)
    except Exception as exc:
        return _failed(exc, ctx)


async def _guarded(command: Command, args: argparse.Namespace, ctx: Context) -> int:
    received = ctx.signals
    code = EXIT_INTERRUPTED
    try:
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as work:
                await tg.start(_watch_signals, work, received, ctx)
                code = await command(args, ctx)
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Our one helper task never fails, so the command's own error is the only one.
        raise sole_exception(group) from None
    if work.cancelled_caught and received:
        return _interrupted(ctx, received[0])
    return code


async def _watch_signals(
    work: anyio.CancelScope,
    received: list[int],
    ctx: Context,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    with ExitStack() as stack:
        try:
            signals = stack.enter_context(anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM))
        except (ValueError, RuntimeError):  # not the main thread: KeyboardInterrupt it is
            task_status.started()
            return
        task_status.started()
        err = ctx.err
        async for signum in signals:
            if received:
                print("error: interrupted twice; quitting without cleanup", file=err, flush=True)
                sys.stdout.flush()
                os._exit(128 + signum)
            received.append(signum)
            again = "Ctrl-C again" if signum == signal.SIGINT else "a second signal"
            if ctx.stop_handlers:
                print(
                    f"stopping on {signal.Signals(signum).name}: winding down ({again} to "
                    "quit at once)",
                    file=err,
                    flush=True,
                )
                for handler in ctx.stop_handlers:
                    handler()
                continue
            print(
                f"stopping on {signal.Signals(signum).name}: finishing the writes in progress"
                f" ({again} to quit at once)",
                file=err,
                flush=True,
            )
            work.cancel()


def _reported(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error a failed group is reported as. A lost lease stops every task at once,
    each with its own `LeaseError`: that is the one to tell, not "several errors"."""
    leases = group.subgroup(LeaseError)
    if leases is None:
        return sole_exception(group)
    first: BaseException = leases
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


def _interrupted(ctx: Context, signum: int) -> int:
    print(f"interrupted: {ctx.stop_hint}", file=ctx.err, flush=True)
    return 128 + signum


def exit_code(exc: BaseException) -> int:
    """The exit code of a command that raised ``exc``."""
    # A lease held by another run is no failure of this one: nothing was attempted.
    usage = (ConfigurationError, SinkError, AuthenticationError, LeaseError)
    return EXIT_USAGE if isinstance(exc, usage) else EXIT_FAILED


def describe(exc: BaseException) -> str:
    """One line about ``exc`` for ``error: ...``."""
    if isinstance(exc, CompanySelectionError):
        text = f"{exc.problem}; {_CHOICE_ADVICE[exc.kind]}"
    elif isinstance(exc, EndpointError) and exc.kind == "unreachable":
        text = f"{exc.problem}; check --base-url/--env"
    elif isinstance(exc, TripletexError | OSError):
        text = str(exc) or type(exc).__name__
    else:
        text = f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)"
    # One line, whatever a driver put in its message (psycopg adds hints on new lines).
    return " ".join(text.split())


def _failed(exc: BaseException, ctx: Context) -> int:
    scrub = ctx.logs.scrubber.text
    if ctx.debug:
        text = "".join(traceback.format_exception(exc))
        print(scrub(text), file=ctx.err, end="", flush=True)
    message = describe(exc)
    if isinstance(exc, AuthenticationError):
        message += " (check TRIPLETEX_EMPLOYEE_TOKEN and TRIPLETEX_CONSUMER_TOKEN)"
    print(f"error: {scrub(message)}", file=ctx.err, flush=True)
    return exit_code(exc)
