"""The ``tripletex-async`` command line: arguments, commands, progress, logging.

Nothing here is public API; `tripletex_async.cli._main.main` is the entry point
(``python -m tripletex_async.cli`` runs it too). This is the
only part of the package that configures logging or starts an event loop.
"""
