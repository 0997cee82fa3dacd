"""``python -m tripletex_async.cli``: the ``tripletex-async`` command."""

from ._main import main

raise SystemExit(main())
