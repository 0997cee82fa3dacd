"""Session renewal around midnight in Oslo, with an injected (virtual) clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import anyio
import pytest

from tripletex_async.testing import FakeTripletex

from .conftest import OSLO, MakeClient, client_id

pytestmark = pytest.mark.anyio


@pytest.fixture
def start() -> datetime:
    """These tests begin late in the evening in Oslo."""
    return datetime(2026, 3, 10, 23, 50, tzinfo=OSLO)


async def test_token_created_at_2350_is_not_nearly_dead(make_client: MakeClient) -> None:
    """Asked for at 23:50 with one day of validity, the token still lives a full day."""
    async with make_client(session_days=1) as client:
        await client.who_am_i()
        token = client.connection.session.current
        assert token is not None
        assert token.expires_at == datetime(2026, 3, 12, 0, 0, tzinfo=OSLO)


async def test_renews_before_midnight_oslo_not_after_24_hours(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A token expiring at midnight Oslo is renewed before midnight; no request sees 401."""
    async with make_client(session_days=1) as client:
        company = client.company(client_id(fake))
        await company.get_list("/customer", dict[str, Any])
        # Walk in 5-minute steps through the next midnight at which the token expires.
        for _ in range(int(timedelta(hours=25) / timedelta(minutes=5))):
            await anyio.sleep(300)
            await company.get_list("/customer", dict[str, Any], params={"count": 1})
        assert client.statistics().replayed_401 == 0
    assert fake.statistics().by_status.get(401, 0) == 0
    assert fake.statistics().sessions_created == 2
