"""tripletex_async.webhooks is a public namespace: __all__ sorted, complete and honest."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import tripletex_async.webhooks as webhooks


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return (kind, name)


def test_all_is_sorted_and_every_name_exists() -> None:
    """Every name in __all__ exists, in ruff's RUF022 order."""
    assert webhooks.__all__ == sorted(webhooks.__all__, key=_isort_key)
    for name in webhooks.__all__:
        assert hasattr(webhooks, name), name


def test_every_public_attribute_is_exported() -> None:
    """No public class or function of the package is left out of __all__."""
    public = {
        name
        for name, value in vars(webhooks).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} <= set(webhooks.__all__)


def test_the_receiver_never_imports_uvicorn(tmp_path: Path) -> None:
    """Importing the package and building an app does not import uvicorn."""
    code = (
        "import sys, tripletex_async.webhooks as w\n"
        "w.create_app('memory:', None, auth=w.WebhookAuth(hmac_secret=w.Secret('s')),"
        " queue_path='unused.db')\n"
        "assert 'uvicorn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
