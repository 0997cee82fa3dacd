"""Shared fixtures: the asyncio backend (aiolimiter is asyncio-only)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio with a real clock (loopback tests need real time)."""
    return "asyncio"
