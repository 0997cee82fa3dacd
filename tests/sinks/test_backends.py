"""Sinks on anyio's backends: every built-in sink runs on both (the other sink tests are
parametrised over them), except PostgreSQL, which says so."""

from __future__ import annotations

import pytest

from tripletex_async import ConfigurationError
from tripletex_async.sinks import PostgresSink

from ..conftest import POSTGRES_URL
from .conftest import CUSTOMER

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_postgres_sink_on_trio_says_it_needs_asyncio() -> None:
    """Not a driver's traceback, nor a connection attempt: one configuration error."""
    sink = PostgresSink(POSTGRES_URL, schema="never_created")
    try:
        with pytest.raises(ConfigurationError, match="PostgreSQL sink runs on asyncio only"):
            await sink.open([CUSTOMER])
    finally:
        await sink.aclose()
