"""Logging: levels from -v, JSON lines off a terminal, and no secret at any level."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from tripletex_async.cli._logging import LogSetup, level_from
from tripletex_async.client._log import REDACTED

from .conftest import DATES, Run, Served


@pytest.mark.usefixtures("tokens_env")
def test_debug_output_of_a_whole_sync_holds_no_secret(run: Run, served: Served) -> None:
    """-vv logs every request, yet no token, session token or Basic credential appears
    anywhere on stdout or stderr."""
    result = run(
        "sync", "-vv", "--base-url", served.api_url, "--sink", "memory:", "--all-companies",
        "--progress-interval", "0.01", *DATES,
    )  # fmt: skip
    assert result.code == 0, result.err
    text = result.out + result.err
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    names = {e["event"] for e in events}
    assert {"session_created", "request", "session_deleted"} <= names
    # Requests go straight to the transport: httpx logs no URL lines of its own.
    assert not any(e.get("logger") == "httpx" for e in events)
    assert "/token/session/{token}" in text  # the session's DELETE, by its label
    credentials = served.fake.credentials
    secrets = {credentials.consumer_token, credentials.employee_token}
    secrets |= served.session_tokens() | served.basic_values()
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret not in text


@pytest.mark.usefixtures("tokens_env")
def test_default_level_is_quiet(run: Run, served: Served) -> None:
    """Without -v a clean run logs nothing but its progress lines."""
    result = run("companies", "--base-url", served.api_url)
    assert result.code == 0
    assert result.err == ""


@pytest.mark.parametrize(
    ("verbose", "name", "level"),
    [
        (0, None, logging.WARNING),
        (1, None, logging.INFO),
        (2, None, logging.DEBUG),
        (5, None, logging.DEBUG),
        (2, "error", logging.ERROR),
    ],
)
def test_level_from_flags(verbose: int, name: str | None, level: int) -> None:
    """-v INFO, -vv DEBUG; --log-level wins."""
    assert level_from(verbose, name) == level


def test_setup_is_undone_after_the_block(capsys: pytest.CaptureFixture[str]) -> None:
    """structlog and stdlib logging are back as they were once a command ends."""
    before = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with LogSetup(logging.DEBUG).installed():
        assert structlog.get_config() != before
        assert len(root.handlers) == len(handlers) + 1
    assert structlog.get_config() == before
    assert (root.handlers, root.level) == (handlers, level)


def test_stdlib_records_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    """A foreign library logging a secret through stdlib logging prints it redacted."""
    setup = LogSetup(logging.DEBUG)
    setup.scrubber.add("s3cret-token")
    with setup.installed():
        logging.getLogger("httpx").info("DELETE /v2/token/session/%s", "s3cret-token")
        structlog.get_logger().info("event", header="Basic dXNlcjpzM2NyZXQ=")
    err = capsys.readouterr().err
    assert "s3cret-token" not in err
    assert "dXNlcjpzM2NyZXQ=" not in err
    assert err.count(REDACTED) == 2


def test_console_format_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    """--log-format console renders key=value lines rather than JSON."""
    with LogSetup.choose(logging.INFO, "console").installed():
        structlog.get_logger().info("hello", answer=42)
    err = capsys.readouterr().err
    assert "hello" in err
    assert "answer=42" in err
    assert not err.startswith("{")


def test_a_budgets_tokens_are_scrubbed_while_its_client_lives_and_then_forgotten(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A worker runs thousands of budgets a night: their tokens must not pile up in the
    scrubber (every event would be scanned for all of them), yet none may be printed."""

    class Client:
        pass

    setup = LogSetup(logging.DEBUG)
    client: Client | None = Client()
    setup.scrubber.add_while(client, "consumer-s3cret", "employee-s3cret")
    with setup.installed():
        structlog.get_logger().info("event", value="consumer-s3cret employee-s3cret")
        assert len(setup.scrubber._redactors()) == 2
        client = None
        assert len(setup.scrubber._redactors()) == 1
    err = capsys.readouterr().err
    assert "s3cret" not in err
    assert err.count(REDACTED) == 2
