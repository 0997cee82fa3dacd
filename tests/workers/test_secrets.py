"""Token references: ``env:NAME`` and ``file:PATH#KEY``, resolved when a job runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tripletex_async.workers import Secrets
from tripletex_async.workers._secrets import MissingSecretError

pytestmark = pytest.mark.anyio


def _vault(path: Path, tokens: dict[str, str]) -> Path:
    path.write_text(json.dumps(tokens), encoding="utf-8")
    path.chmod(0o600)
    return path


async def test_an_environment_reference_is_the_variable() -> None:
    assert await Secrets({"TT_EMPLOYEE": "employee-token"}).resolve("env:TT_EMPLOYEE") == (
        "employee-token"
    )


async def test_a_rotated_token_in_a_file_is_picked_up_by_the_next_resolve(
    tmp_path: Path,
) -> None:
    vault = _vault(tmp_path / "tokens.json", {"acme": "first-token"})
    secrets = Secrets({})
    assert await secrets.resolve(f"file:{vault}#acme") == "first-token"
    _vault(vault, {"acme": "the-rotated-token"})
    assert await secrets.resolve(f"file:{vault}#acme") == "the-rotated-token"


async def test_a_file_others_may_read_is_refused_without_showing_a_token(
    tmp_path: Path,
) -> None:
    vault = _vault(tmp_path / "tokens.json", {"acme": "a-secret-token"})
    secrets = Secrets({})
    assert await secrets.resolve(f"file:{vault}#acme") == "a-secret-token"
    vault.chmod(0o644)  # refused even when read before
    with pytest.raises(MissingSecretError, match="chmod 600") as caught:
        await secrets.resolve(f"file:{vault}#acme")
    assert "a-secret-token" not in str(caught.value)


@pytest.mark.parametrize("ref", ["env:MISSING", "file:{vault}#nobody", "vault:acme"])
async def test_a_reference_that_resolves_to_nothing_is_a_missing_secret(
    tmp_path: Path, ref: str
) -> None:
    vault = _vault(tmp_path / "tokens.json", {"acme": "a-secret-token"})
    with pytest.raises(MissingSecretError):
        await Secrets({}).resolve(ref.format(vault=vault))
