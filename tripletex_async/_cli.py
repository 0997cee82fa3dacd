"""The ``tripletex-async`` command. For now it runs the simulator (``fake-server``); the
sync commands come with the sync engine."""

from __future__ import annotations

import sys

__all__ = ["main"]

USAGE = """usage: tripletex-async fake-server [options]

commands:
  fake-server   run the simulated Tripletex on loopback (see fake-server --help)
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] == "fake-server":
        from .testing._cli import main as fake_main

        return fake_main(args[1:])
    print(f"tripletex-async: unknown command {args[0]!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
