"""Rotating the HMAC secret: the receiver accepts the new and, for a grace period, the
previous one; use of the previous one is counted and logged once per subscription;
neither is ever shown."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from tripletex_async import ConfigurationError, TripletexClient
from tripletex_async.cli._webhooks_auth import auth_from
from tripletex_async.testing import FakeTripletex
from tripletex_async.webhooks import Secret, WebhookAuth
from tripletex_async.webhooks._verify import signature

from .conftest import MakeReceiver, deliver, specs, subscribe

NEW = "hmac-new-7c2e91d4"
OLD = "hmac-old-3a6f0b58"
OTHER = "hmac-other-11d9e0c2"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BODY = b'{"subscriptionId": 901, "event": "customer.update", "id": 7, "value": {"id": 7}}'


def rotating(until: datetime | None = None, now: datetime = NOW) -> WebhookAuth:
    """Auth with the new secret, the old one accepted until ``until``, at ``now``."""
    return WebhookAuth(
        hmac_secret=Secret(NEW),
        previous_hmac_secret=Secret(OLD),
        previous_until=until,
        clock=lambda: now,
    )


def signed_by(secret: str, body: bytes = BODY, key: str = "key-1") -> dict[str, bytes]:
    """The headers of a delivery of ``body`` signed with ``secret`` (lower-case names)."""
    mac = signature(Secret(secret), key.encode(), body)
    return {"idempotency-key": key.encode(), "x-request-signature": mac}


def test_new_secret_verifies() -> None:
    """A signature by the new secret verifies, and is not counted as the old one."""
    auth = rotating()
    assert auth.verify(signed_by(NEW), BODY)
    assert auth.old_secret_deliveries == 0


def test_previous_secret_verifies_during_the_grace_period() -> None:
    """A signature by the previous secret verifies before ``previous_until``."""
    auth = rotating(until=NOW + timedelta(hours=1))
    assert auth.verify(signed_by(OLD), BODY)
    assert auth.old_secret_deliveries == 1


def test_another_secret_is_refused() -> None:
    """A signature by neither secret is refused."""
    assert not rotating().verify(signed_by(OTHER), BODY)


def test_previous_secret_is_refused_after_until() -> None:
    """Once ``previous_until`` has come, the previous secret no longer verifies."""
    auth = rotating(until=NOW)
    assert not auth.verify(signed_by(OLD), BODY)
    assert auth.verify(signed_by(NEW), BODY)


def test_a_tampered_body_is_refused_by_both() -> None:
    """The previous secret proves the body as the new one does."""
    assert not rotating().verify(signed_by(OLD), BODY.replace(b"7", b"8"))


def test_old_secret_is_logged_once_per_subscription() -> None:
    """Each subscription still on the old secret is logged once at INFO; every delivery
    is counted; no secret is in the log."""
    auth = rotating()
    other = BODY.replace(b"901", b"902")
    with structlog.testing.capture_logs() as events:
        for body in (BODY, BODY, other, BODY):
            assert auth.verify(signed_by(OLD, body), body)
    logged = [(e["event"], e["log_level"], e["subscription_id"]) for e in events]
    assert logged == [("webhook_old_secret", "info", 901), ("webhook_old_secret", "info", 902)]
    assert auth.old_secret_deliveries == 4
    assert OLD not in repr(events)
    assert NEW not in repr(events)


def test_previous_secret_is_never_shown() -> None:
    """repr shows neither secret; `secrets` gives both to a log redactor."""
    auth = rotating(until=NOW)
    assert OLD not in repr(auth)
    assert NEW not in repr(auth)
    assert set(auth.secrets()) == {NEW, OLD}


def test_previous_secret_needs_the_new_one() -> None:
    """A previous secret alone is a configuration error, as is a naive ``until``."""
    with pytest.raises(ConfigurationError, match="new one"):
        WebhookAuth(
            header_name="x-key",
            header_value=Secret("hdr-1234567"),
            previous_hmac_secret=Secret(OLD),
        )
    with pytest.raises(ConfigurationError, match="timezone"):
        WebhookAuth(
            hmac_secret=Secret(NEW),
            previous_hmac_secret=Secret(OLD),
            previous_until=datetime(2025, 3, 1),
        )


def test_the_command_line_reads_the_previous_secret() -> None:
    """`auth_from` takes TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS and --previous-secret-until."""
    args = argparse.Namespace(auth_header=None, previous_secret_until=NOW)
    environ = {
        "TRIPLETEX_WEBHOOK_HMAC_SECRET": NEW,
        "TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS": OLD,
    }
    auth = auth_from(args, environ)
    assert (auth.previous_hmac_secret, auth.previous_until) == (Secret(OLD), NOW)


@pytest.mark.anyio
async def test_receiver_takes_deliveries_signed_before_the_rotation(
    fake: FakeTripletex,
    client: TripletexClient,
    company: int,
    make_receiver: MakeReceiver,
    queue_path: Path,
) -> None:
    """Subscriptions still holding the old secret keep being delivered to a receiver that
    rotated to the new one (the simulator signs with the old)."""
    old = WebhookAuth(hmac_secret=Secret(OLD))
    await subscribe(client, company, queue_path, specs("customer.update", auth=old))
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Roterte AS"})
    auth = WebhookAuth(hmac_secret=Secret(NEW), previous_hmac_secret=Secret(OLD))
    receiver = make_receiver(auth=auth)
    async with receiver:
        assert await deliver(fake, receiver) == 1
        await receiver.join()
    assert auth.old_secret_deliveries == 1
