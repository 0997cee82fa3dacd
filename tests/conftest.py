"""Shared fixtures: the asyncio backend and Tripletex's own
OpenAPI spec from the shared folder (for the contract tests of the simulator and models)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio with a real clock (loopback tests need real time)."""
    return "asyncio"


#: The ``shared`` folder is a sibling of the repository root.
SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "tripletex-openapi"
    / "tripletex-openapi-original.json"
)


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The spec; a skip where the shared folder is absent, a failure under CI."""
    if not SPEC_PATH.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the Tripletex spec at {SPEC_PATH}")
        pytest.skip(f"the Tripletex spec is not at {SPEC_PATH} (the shared folder is absent)")
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
