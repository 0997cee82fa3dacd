"""The ``tripletex-async`` command: a dispatcher. The commands live in `tripletex_async.cli`.

``fake-server`` is handed, flags and all, to the simulator's own command line. Every
other command is parsed here, runs with logging set up for it, and ends in an exit code:
0 everything synced, 1 some companies failed, 2 a usage or configuration error, found
before anything is stored (a flag, a token, the base URL, companies the token does not
reach, the sink, the report path), or another run's lease on the sink, 130 interrupted
(a rerun continues where it stopped).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._run import Command

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["fake-server"]:
        from ..testing._cli import main as fake_main

        return _exiting(fake_main, args[1:])
    from ..client._clock import OSLO
    from ._args import parse_args
    from ._logging import LogSetup, level_from
    from ._run import Context, execute

    try:
        parsed = parse_args(args, datetime.now(OSLO).date())
    except SystemExit as exc:  # argparse: 0 after --help, 2 for a bad flag
        return exc.code if isinstance(exc.code, int) else 2
    logs = LogSetup.choose(level_from(parsed.verbose, parsed.log_level), parsed.log_format)
    ctx = Context(sys.stdout, sys.stderr, dict(os.environ), logs, debug=parsed.debug)
    if parsed.command == "webhooks":  # a receiver stops; there is nothing to rerun
        from ._webhooks_cmd import STOP_HINT

        ctx = dataclasses.replace(ctx, stop_hint=STOP_HINT)
    if parsed.command == "workers" and parsed.workers_command == "webhooks":
        ctx = dataclasses.replace(ctx, stop_hint=TRIGGER_STOP_HINT)
    with logs.installed():
        return execute(_command(parsed.command), parsed, ctx)


#: What a stop of ``workers webhooks`` means: a job per delivery it answered is queued.
TRIGGER_STOP_HINT = "the receiver stopped; every delivery it acknowledged queued its budget's job"


def _command(name: str) -> Command:
    # Imported on demand: `demo` pulls in the simulator, the others need not.
    if name == "sync":
        from ._sync_cmd import run as sync

        return sync
    if name == "companies":
        from ._companies_cmd import run as companies

        return companies
    if name == "plan":
        from ._plan_cmd import run as plan

        return plan
    if name == "webhooks":
        from ._webhooks_cmd import run as webhooks

        return webhooks
    if name == "workers":
        from ._workers_cmd import run as workers

        return workers
    if name == "describe":
        from ._describe_cmd import run as describe

        return describe
    if name == "resources":
        from ._resources_cmd import run as resources

        return resources
    from ._demo_cmd import run as demo

    return demo


def _exiting(run: Callable[[list[str]], int], args: list[str]) -> int:
    try:
        return run(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
