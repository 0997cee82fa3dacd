"""The ``tripletex-async`` command line: arguments, commands, progress, logging.

Nothing here is public API; `tripletex_async._cli.main` is the entry point. This is the
only part of the package that configures logging or starts an event loop.
"""
