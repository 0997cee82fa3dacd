"""`sync --reconcile` and `webhooks serve` on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .conftest import Run, Served
from .test_sync_cmd import sync_args

pytestmark = pytest.mark.usefixtures("tokens_env")


def test_reconcile_is_an_incremental_run(run: Run, served: Served, tmp_path: Path) -> None:
    """--reconcile after a sync asks checksums only and says so in the report."""
    db, report = tmp_path / "rec.db", tmp_path / "rec.json"
    assert run(*sync_args(served, db, "--all-companies")).code == 0
    result = run(
        *sync_args(served, db, "--all-companies", "--reconcile", "--report-json", str(report))
    )
    assert result.code == 0, result.err
    data = json.loads(report.read_text())
    assert data["request"]["reconcile"] is True
    assert data["total"]["unchanged"] == data["total"]["windows"] > 0


def test_reconcile_and_full_exclude_each_other(run: Run, served: Served, tmp_path: Path) -> None:
    """--reconcile never rescans everything: with --full it is a usage error."""
    result = run(*sync_args(served, tmp_path / "x.db", "--full", "--reconcile"))
    assert result.code == 2
    assert "not allowed with" in result.err


def test_webhooks_serve_without_secrets_refuses(
    run: Run, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver with neither an HMAC secret nor an auth header is refused (exit 2)."""
    monkeypatch.delenv("TRIPLETEX_WEBHOOK_HMAC_SECRET", raising=False)
    monkeypatch.delenv("TRIPLETEX_WEBHOOK_AUTH_VALUE", raising=False)
    result = run("webhooks", "serve", "--base-url", served.api_url)
    assert result.code == 2
    assert "TRIPLETEX_WEBHOOK_HMAC_SECRET" in result.err


def test_webhooks_auth_header_needs_its_value(
    run: Run, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--auth-header without TRIPLETEX_WEBHOOK_AUTH_VALUE is a configuration error."""
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_HMAC_SECRET", "s3cret-hmac")
    monkeypatch.delenv("TRIPLETEX_WEBHOOK_AUTH_VALUE", raising=False)
    result = run("webhooks", "serve", "--base-url", served.api_url, "--auth-header", "X-Key")
    assert result.code == 2
    assert "TRIPLETEX_WEBHOOK_AUTH_VALUE" in result.err


def test_webhooks_serve_without_uvicorn_says_how_to_install(
    run: Run, served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the webhooks extra the command names it, exits 2 and leaks no secret."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_HMAC_SECRET", "s3cret-hmac")
    result = run(
        "webhooks", "serve", "--base-url", served.api_url,
        "--queue", str(tmp_path / "q.db"), "--sink", f"sqlite:///{tmp_path / 'w.db'}",
    )  # fmt: skip
    assert result.code == 2
    assert "tripletex-async[webhooks]" in result.err
    assert "receiving" not in result.err  # nothing announced that is not served
    assert not (tmp_path / "q.db").exists()
    assert "s3cret-hmac" not in result.err + result.out
