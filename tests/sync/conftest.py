"""Fixtures for sync tests: the in-process simulator on a virtual-time loop."""

from __future__ import annotations

import pytest

from tripletex_async.testing import FakeTripletex

from ..client.conftest import (  # noqa: F401 - fixtures re-used by name
    anyio_backend,
    clock,
    fake,
    fake_config,
    make_client,
    portfolio_small,
    start,
)


@pytest.fixture
def companies(fake: FakeTripletex) -> list[int]:  # noqa: F811 - the fixture
    """Every client company of the small portfolio (one of them is empty)."""
    return [int(c["id"]) for c in fake.portfolio.clients]
