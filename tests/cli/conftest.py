"""Fixtures for CLI tests: the simulator on a loopback port in a background thread, and
``main`` run in-process with the simulator's tokens in the environment.

``main`` starts its own event loop (as the console script does), so these tests are plain
functions; the simulator's loop runs in `ServerThread`'s thread.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tripletex_async.cli._main import main
from tripletex_async.engine._resources import RESOURCES
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTripletex,
    Portfolio,
    PortfolioConfig,
    ServerThread,
    generate_portfolio,
)
from tripletex_async.testing._http import json_response

from ..client.conftest import basic_user
from ..expectations import FROM, TO

#: The date flags every sync test passes, matching `tests.expectations`.
DATES = ["--date-from", FROM.isoformat(), "--date-to", TO.isoformat()]


@dataclass(frozen=True, slots=True)
class Result:
    """What one ``main`` call returned and printed."""

    code: int
    out: str
    err: str


@dataclass(slots=True)
class Served:
    """The simulator being served, and every request it received."""

    fake: FakeTripletex
    api_url: str
    requests: list[FakeRequest]

    def session_tokens(self) -> set[str]:
        """Session tokens seen in Basic headers (they are deleted when a run ends)."""
        tokens = set()
        for request in self.requests:
            header = request.headers.get("authorization", "")
            if header.lower().startswith("basic "):
                decoded = base64.b64decode(header[6:]).decode()
                tokens.add(decoded.partition(":")[2])
        return tokens - {""}

    def paths(self) -> set[str]:
        """The decoded paths asked for, without the API root's ``/v2/``."""
        return {r.path.partition("/v2/")[2] for r in self.requests}

    def refuse(self, monkeypatch: pytest.MonkeyPatch, company: int, resource: str) -> None:
        """Answer 403 (a missing module) to every request for ``resource`` of ``company``."""
        original = self.fake.handle

        async def handle(request: FakeRequest) -> FakeResponse:
            if basic_user(request) == str(company) and request.path.endswith(f"/{resource}"):
                body = {"status": 403, "code": 9000, "message": "You do not have permission"}
                return json_response(403, body)
            return await original(request)

        monkeypatch.setattr(self.fake, "handle", handle)

    def basic_values(self) -> set[str]:
        """Every Basic credential sent, as it appears on the wire."""
        headers = (r.headers.get("authorization", "") for r in self.requests)
        return {h[6:] for h in headers if h.lower().startswith("basic ")}


@pytest.fixture(scope="session")
def portfolio() -> Portfolio:
    """Three client companies, one of them empty, small sizes."""
    return generate_portfolio(PortfolioConfig(seed=7, companies=3, scale=0.05, heavy_companies=0))


@pytest.fixture
def fake_config() -> FakeConfig:
    """Simulator behaviour; override in a module for rate limits or latency."""
    return FakeConfig()


@pytest.fixture
def served(portfolio: Portfolio, fake_config: FakeConfig) -> Iterator[Served]:
    """A fresh simulator on a loopback port, recording requests."""
    fake = FakeTripletex(portfolio, fake_config)
    requests: list[FakeRequest] = []

    async def handle(request: FakeRequest) -> FakeResponse:
        requests.append(request)
        return await fake.handle(request)

    with ServerThread(handle) as server:
        yield Served(fake, server.api_url, requests)


@pytest.fixture
def tokens_env(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's tokens in the environment, and no other TRIPLETEX_* variable."""
    for name in ("TRIPLETEX_ENV", "TRIPLETEX_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIPLETEX_CONSUMER_TOKEN", served.fake.credentials.consumer_token)
    monkeypatch.setenv("TRIPLETEX_EMPLOYEE_TOKEN", served.fake.credentials.employee_token)


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*argv)``: ``main`` in-process; its exit code, stdout and stderr."""

    def call(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


def table_counts(db: Path, resource: str) -> dict[int, int]:
    """Rows per company in a resource's table of a SQLite sink."""
    table = RESOURCES[resource].table().name
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f'SELECT company_id, count(*) FROM "{table}" GROUP BY company_id')
        return {int(company): int(count) for company, count in rows}


def expected_counts(fake: FakeTripletex, resource: str) -> dict[int, int]:
    """Records per company the simulator holds (dated ones within FROM..TO), non-zero only."""
    info = RESOURCES[resource]
    counts = {}
    for company in fake.portfolio.company_ids():
        records = fake.records(company, resource)
        if info.date_field is not None:
            days = (str(r.get(info.date_field) or "") for r in records)
            count = sum(FROM.isoformat() <= d < TO.isoformat() for d in days)
        else:
            count = len(records)
        if count:
            counts[company] = count
    return counts
