"""`webhooks subscribe`, `status` and `dead` against the simulator on loopback: what they
print, what they change, their exit codes, and that no secret appears anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tripletex_async import TripletexClient
from tripletex_async.webhooks import EventQueue, Registration, Subscriptions

from .conftest import Result, Run, Served

pytestmark = pytest.mark.usefixtures("tokens_env", "secrets_env")

#: A receiver URL whose path carries a token (some receivers route on one).
URL = "http://127.0.0.1:8765/hooks/path-token-41c7"
HMAC = "hmac-new-5e1f9a77"
PREVIOUS = "hmac-old-0d3b6c21"
HEADER_VALUE = "hdr-value-8a2e4f19"
SECRETS = (HMAC, PREVIOUS, HEADER_VALUE, "path-token-41c7")


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver's secrets in the environment, as `serve` reads them."""
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_HMAC_SECRET", HMAC)
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_AUTH_VALUE", HEADER_VALUE)
    monkeypatch.delenv("TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS", raising=False)


def clean(result: Result) -> Result:
    """``result``, asserted to show no secret (nor the tokens of the session)."""
    shown = result.out + result.err
    leaked = [s for s in SECRETS if s in shown]
    assert not leaked, shown
    return result


def subscribe(run: Run, served: Served, queue: Path, *extra: str) -> Result:
    argv = [
        "webhooks", "subscribe", "--base-url", served.api_url, "--url", URL,
        "--all-companies", "--queue", str(queue), "--auth-header", "X-Hook-Key", *extra,
    ]  # fmt: skip
    return clean(run(*argv))


def status(run: Run, served: Served, queue: Path, *extra: str) -> Result:
    argv = [
        "webhooks", "status", "--base-url", served.api_url, "--all-companies",
        "--queue", str(queue), *extra,
    ]  # fmt: skip
    return clean(run(*argv))


def counts(result: Result) -> dict[str, int]:
    """Subscriptions per outcome over every company of a ``--json`` run."""
    out: dict[str, int] = {}
    for company in json.loads(result.out)["companies"]:
        for name in ("created", "updated", "unchanged", "reenabled", "disabled"):
            out[name] = out.get(name, 0) + len(company[name])
    return out


def disable_first(served: Served, how_many: int) -> list[int]:
    """Set the first subscriptions of one company DISABLED_TOO_MANY_ERRORS, through the
    API; their ids."""
    company = served.fake.portfolio.company_ids()[0]

    async def go() -> list[int]:
        async with TripletexClient(
            served.fake.credentials.consumer_token,
            served.fake.credentials.employee_token,
            base_url=served.api_url,
            environ={},
        ) as client:
            api = Subscriptions(client.company(company))
            ids = sorted(s.id for s in await api.list_all())[:how_many]
            await api.update_many({i: {"status": "DISABLED_TOO_MANY_ERRORS"} for i in ids})
            return ids

    return anyio.run(go)


def dead_queue(path: Path, dead: int, pending: int = 0) -> None:
    """A queue file with ``dead`` dead and ``pending`` pending events of company 11."""

    async def go() -> None:
        async with EventQueue(path) as queue:
            await queue.register([Registration(7, 11, "customer.update", "id,name")])
            for n in range(dead + pending):
                value = b'{"id": 1, "name": "secret-ish value"}'
                await queue.put(f"k{n}", 7, "customer.update", 100 + n, value)
            taken = await queue.take(dead)
            await queue.complete([], {e.seq: "RuntimeError: a bug meets a record" for e in taken})

    anyio.run(go)


# -- subscribe -----------------------------------------------------------------------------


def test_subscribe_creates_every_subscription(run: Run, served: Served, tmp_path: Path) -> None:
    """A first subscribe creates 28 subscriptions per company (10 resources) and exits 0."""
    result = subscribe(run, served, tmp_path / "q.db", "--json")
    assert result.code == 0, result.err
    companies = len(served.fake.portfolio.company_ids())
    assert counts(result)["created"] == 28 * companies
    assert len(served.fake.webhooks.subscriptions()) == 28 * companies


def test_subscribe_again_changes_nothing(run: Run, served: Served, tmp_path: Path) -> None:
    """A rerun with the same secrets finds every subscription unchanged and sends no write."""
    subscribe(run, served, tmp_path / "q.db")
    served.requests.clear()
    result = subscribe(run, served, tmp_path / "q.db", "--json")
    assert result.code == 0, result.err
    assert counts(result)["unchanged"] == len(served.fake.webhooks.subscriptions())
    assert {r.method for r in served.requests if "event/subscription" in r.path} == {"GET"}


def test_subscribe_registers_them_in_the_queue(run: Run, served: Served, tmp_path: Path) -> None:
    """Every subscription created is in the receiver's queue file, under its company."""
    subscribe(run, served, tmp_path / "q.db")

    async def registered() -> set[int]:
        async with EventQueue(tmp_path / "q.db") as queue:
            ids: set[int] = set()
            for company in served.fake.portfolio.company_ids():
                ids |= set(await queue.registrations(company))
            return ids

    assert anyio.run(registered) == {s["id"] for s in served.fake.webhooks.subscriptions()}


def test_subscribe_prints_a_table_per_company(run: Run, served: Served, tmp_path: Path) -> None:
    """The table names each company and the target by host only."""
    result = subscribe(run, served, tmp_path / "q.db")
    assert "http://127.0.0.1:8765/…" in result.out
    for company in served.fake.portfolio.company_ids():
        assert str(company) in result.out


def test_subscribe_sends_a_rotated_secret(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a new secret (the old one as PREVIOUS), subscribe updates every subscription
    to the new one."""
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_HMAC_SECRET", PREVIOUS)
    subscribe(run, served, tmp_path / "q.db")
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_HMAC_SECRET", HMAC)
    monkeypatch.setenv("TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS", PREVIOUS)
    result = subscribe(run, served, tmp_path / "q.db", "--json")
    subs = served.fake.webhooks.subscriptions()
    assert counts(result)["updated"] == len(subs)
    assert {s["hmacSharedSecret"] for s in subs} == {HMAC}


def test_subscribe_reports_disabled_ones(run: Run, served: Served, tmp_path: Path) -> None:
    """Subscriptions Tripletex disabled are reported and left so, with the advice to
    --reenable; the exit code stays 0."""
    subscribe(run, served, tmp_path / "q.db")
    disable_first(served, 2)
    result = subscribe(run, served, tmp_path / "q.db", "--json")
    assert result.code == 0
    assert counts(result)["disabled"] == 2
    assert "--reenable" in result.err


def test_subscribe_reenable_sets_them_active(run: Run, served: Served, tmp_path: Path) -> None:
    """--reenable sets disabled subscriptions ACTIVE again."""
    subscribe(run, served, tmp_path / "q.db")
    ids = disable_first(served, 2)
    result = subscribe(run, served, tmp_path / "q.db", "--reenable", "--json")
    assert counts(result)["reenabled"] == 2
    statuses = {s["id"]: s["status"] for s in served.fake.webhooks.subscriptions()}
    assert {statuses[i] for i in ids} == {"ACTIVE"}


def test_subscribe_exits_1_when_a_company_fails(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A company whose subscriptions are refused is named with its error; the others are
    subscribed; exit 1."""
    first, *others = served.fake.portfolio.company_ids()
    served.refuse(monkeypatch, first, "event/subscription")
    result = subscribe(run, served, tmp_path / "q.db", "--json")
    assert result.code == 1
    rows = {c["company_id"]: c for c in json.loads(result.out)["companies"]}
    assert "permission" in rows[first]["error"]
    assert all(len(rows[c]["created"]) == 28 for c in others)


def test_subscribe_without_secrets_refuses(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the receiver's secrets nothing is subscribed (exit 2)."""
    monkeypatch.delenv("TRIPLETEX_WEBHOOK_HMAC_SECRET")
    monkeypatch.delenv("TRIPLETEX_WEBHOOK_AUTH_VALUE")
    result = clean(
        run("webhooks", "subscribe", "--base-url", served.api_url, "--url", URL, "--all-companies")
    )
    assert result.code == 2
    assert "TRIPLETEX_WEBHOOK_HMAC_SECRET" in result.err
    assert served.fake.webhooks.subscriptions() == []


def test_subscribe_refuses_resources_without_events(run: Run, served: Served) -> None:
    """--resources naming one Tripletex has no events for is a usage error."""
    result = run(
        "webhooks", "subscribe", "--url", URL, "--resources", "ledger/posting"
    )  # fmt: skip
    assert result.code == 2
    assert "ledger/posting" in result.err


# -- status --------------------------------------------------------------------------------


def test_status_lists_subscriptions_and_registration(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """status shows every subscription with its status and that the queue knows it."""
    subscribe(run, served, tmp_path / "q.db")
    result = status(run, served, tmp_path / "q.db", "--json")
    assert result.code == 0, result.err
    subs = [s for c in json.loads(result.out)["companies"] for s in c["subscriptions"]]
    assert len(subs) == len(served.fake.webhooks.subscriptions())
    assert {(s["status"], s["registered"], s["target"]) for s in subs} == {
        ("ACTIVE", True, "http://127.0.0.1:8765/…")
    }


def test_status_includes_disabled_ones(run: Run, served: Served, tmp_path: Path) -> None:
    """Disabled subscriptions are listed with Tripletex's status and the advice to
    --reenable."""
    subscribe(run, served, tmp_path / "q.db")
    disable_first(served, 1)
    result = status(run, served, tmp_path / "q.db")
    assert result.code == 0
    assert "DISABLED_TOO_MANY_ERRORS" in result.out
    assert "--reenable" in result.err


def test_status_reports_the_queue_backlog(run: Run, served: Served, tmp_path: Path) -> None:
    """The queue's pending events, the oldest one's age and dead events are reported."""
    dead_queue(tmp_path / "q.db", dead=1, pending=2)
    result = status(run, served, tmp_path / "q.db", "--json")
    queue = json.loads(result.out)["queue"]
    assert (queue["pending"], queue["dead"]) == (2, 1)
    assert queue["lag_seconds"] >= 0
    assert queue["oldest_pending"]


def test_status_lag_is_zero_when_nothing_is_pending(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """Nothing pending: lag_seconds is 0.0 as /health's apply_lag_seconds, not null."""
    dead_queue(tmp_path / "q.db", dead=1)
    queue = json.loads(status(run, served, tmp_path / "q.db", "--json").out)["queue"]
    assert (queue["lag_seconds"], queue["oldest_pending"]) == (0.0, None)


def test_status_without_a_queue_file_creates_none(run: Run, served: Served, tmp_path: Path) -> None:
    """status with no queue file says so and leaves none behind."""
    result = status(run, served, tmp_path / "none.db")
    assert result.code == 0, result.err
    assert "no such file" in result.out
    assert not (tmp_path / "none.db").exists()


# -- dead ----------------------------------------------------------------------------------


def test_dead_list_shows_events_without_values(run: Run, tmp_path: Path) -> None:
    """dead list shows seq, company, event, object id and when, never the value."""
    dead_queue(tmp_path / "q.db", dead=2)
    result = clean(run("webhooks", "dead", "list", "--queue", str(tmp_path / "q.db"), "--json"))
    assert result.code == 0, result.err
    rows = json.loads(result.out)["dead"]
    assert [(r["company_id"], r["event"], r["object_id"]) for r in rows] == [
        (11, "customer.update", 100),
        (11, "customer.update", 101),
    ]
    assert all(r["received_at"] for r in rows)
    assert "secret-ish" not in result.out


def test_dead_list_shows_why_each_died(run: Run, tmp_path: Path) -> None:
    """dead list (JSON and table) shows the reason the worker stored."""
    dead_queue(tmp_path / "q.db", dead=1)
    listed = run("webhooks", "dead", "list", "--queue", str(tmp_path / "q.db"), "--json")
    table = run("webhooks", "dead", "list", "--queue", str(tmp_path / "q.db"))
    (row,) = json.loads(listed.out)["dead"]
    assert row["reason"] == "RuntimeError: a bug meets a record"
    assert "a bug meets a record" in table.out


def test_dead_requeue_all_sets_them_pending(run: Run, tmp_path: Path) -> None:
    """requeue --all makes every dead event pending again."""
    dead_queue(tmp_path / "q.db", dead=2)
    result = run("webhooks", "dead", "requeue", "--queue", str(tmp_path / "q.db"), "--all")
    assert result.code == 0, result.err
    assert "requeued 2" in result.out

    async def state() -> tuple[int, int]:
        async with EventQueue(tmp_path / "q.db") as queue:
            return queue.pending, len(await queue.dead())

    assert anyio.run(state) == (2, 0)


def test_dead_requeue_of_a_live_event_exits_1(run: Run, tmp_path: Path) -> None:
    """Asking to requeue events that are not dead requeues the dead ones and exits 1."""
    dead_queue(tmp_path / "q.db", dead=1, pending=1)
    result = run("webhooks", "dead", "requeue", "--queue", str(tmp_path / "q.db"), "--seq", "1,2")
    assert result.code == 1
    assert "requeued 1" in result.out
    assert "1 of the events asked for are not dead" in result.err


def test_dead_requeue_of_nothing_dead_promises_nothing(run: Run, tmp_path: Path) -> None:
    """--seq of no dead event: no word of a receiver applying them, only the error."""
    dead_queue(tmp_path / "q.db", dead=1)
    result = run("webhooks", "dead", "requeue", "--queue", str(tmp_path / "q.db"), "--seq", "9999")
    assert result.code == 1
    assert "requeued 0" in result.out
    assert "applies" not in result.out
    assert "1 of the events asked for are not dead" in result.err


def _states(path: Path) -> tuple[int, int]:
    """Events pending and dead in the queue file."""

    async def go() -> tuple[int, int]:
        async with EventQueue(path) as queue:
            return queue.pending, len(await queue.dead())

    return anyio.run(go)


def test_dead_drop_all_removes_them(run: Run, tmp_path: Path) -> None:
    """drop --all removes every dead event and leaves the pending ones."""
    dead_queue(tmp_path / "q.db", dead=2, pending=1)
    result = run("webhooks", "dead", "drop", "--queue", str(tmp_path / "q.db"), "--all")
    assert result.code == 0, result.err
    assert "dropped 2" in result.out
    assert _states(tmp_path / "q.db") == (1, 0)


def test_dead_drop_of_a_live_event_exits_1(run: Run, tmp_path: Path) -> None:
    """drop --seq of a dead and a pending event drops the dead one and exits 1."""
    dead_queue(tmp_path / "q.db", dead=1, pending=1)
    result = run("webhooks", "dead", "drop", "--queue", str(tmp_path / "q.db"), "--seq", "1,2")
    assert result.code == 1
    assert "dropped 1" in result.out
    assert "1 of the events asked for are not dead" in result.err
    assert _states(tmp_path / "q.db") == (1, 0)


def test_dead_list_of_a_missing_queue_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    """A --queue path that does not exist is an error (exit 2), and is not created."""
    result = run("webhooks", "dead", "list", "--queue", str(tmp_path / "typo.db"))
    assert result.code == 2
    assert "no webhook queue" in result.err
    assert not (tmp_path / "typo.db").exists()
