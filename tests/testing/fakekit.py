"""Helpers for simulator tests: a raw httpx client on the in-process transport."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tripletex_async.testing import (
    Credentials,
    FakeConfig,
    FakeTransport,
    FakeTripletex,
    Portfolio,
    PortfolioConfig,
    generate_portfolio,
)

OSLO = ZoneInfo("Europe/Oslo")
PORTFOLIO = generate_portfolio(PortfolioConfig(seed=11, companies=3, scale=0.03, heavy_companies=0))


@dataclass
class ManualClock:
    """A wall clock that moves only when told to."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 10, 12, 0, tzinfo=OSLO))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Kit:
    """A simulator, its clock, a raw HTTP client and a session token."""

    fake: FakeTripletex
    clock: ManualClock
    http: httpx.AsyncClient
    token: str = ""

    def auth(self, company: int = 0, token: str | None = None) -> dict[str, str]:
        raw = f"{company}:{token if token is not None else self.token}".encode()
        return {"authorization": "Basic " + base64.b64encode(raw).decode()}

    async def session(self, creds: Credentials | None = None) -> str:
        """A new session of ``creds`` (the accountant's if None), also kept as ``token``."""
        creds = creds or self.fake.credentials
        response = await self.http.post(
            "/token/session/:create",
            json={
                "consumerToken": creds.consumer_token,
                "employeeToken": creds.employee_token,
                "expirationDate": (self.clock.now.date() + timedelta(days=2)).isoformat(),
            },
        )
        assert response.status_code == 201, response.text
        self.token = response.json()["value"]["token"]
        return self.token

    async def get(self, path: str, company: int | None = None, **params: Any) -> httpx.Response:
        company = self.company if company is None else company
        return await self.http.get(path, params=params, headers=self.auth(company))

    async def conditional(self, path: str, if_none_match: str, **params: Any) -> httpx.Response:
        """A list GET of the kit's company with an If-None-Match header."""
        headers = {**self.auth(self.company), "if-none-match": if_none_match}
        return await self.http.get(path, params=params, headers=headers)

    @property
    def company(self) -> int:
        """A client company with data."""
        for c in self.fake.portfolio.clients:
            if self.fake.portfolio.count(c["id"], "customer") > 0:
                return int(c["id"])
        raise AssertionError("no company with data")


@asynccontextmanager
async def kit(
    config: FakeConfig | None = None,
    *,
    session: bool = True,
    portfolio: Portfolio | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncIterator[Kit]:
    """A fresh simulator on the shared small portfolio (or on ``portfolio``); ``sleep``
    replaces the one it awaits for latency."""
    clock = ManualClock()
    fake = FakeTripletex(portfolio or PORTFOLIO, config or FakeConfig(), clock=clock, sleep=sleep)
    async with httpx.AsyncClient(
        transport=FakeTransport(fake), base_url="http://tripletex.test/v2"
    ) as http:
        k = Kit(fake, clock, http)
        if session:
            await k.session()
        yield k


# -- the simulator as a process, over plain HTTP ------------------------------------------


def exports_of(lines: list[str]) -> dict[str, str]:
    """The ``export NAME=value`` lines the simulator's command line prints, as a dict."""
    return dict(
        line.removeprefix("export ").strip().split("=", 1)
        for line in lines
        if line.startswith("export ")
    )


def http_session(api: str, consumer: str, employee: str) -> str:
    """A session token from ``POST /token/session/:create``, expiring tomorrow (Oslo)."""
    body = {
        "consumerToken": consumer,
        "employeeToken": employee,
        "expirationDate": (datetime.now(OSLO).date() + timedelta(days=1)).isoformat(),
    }
    create = urllib.request.Request(
        f"{api}/token/session/:create",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(create, timeout=5) as response:
        return str(json.load(response)["value"]["token"])


def http_get(api: str, path: str, token: str) -> dict[str, Any]:
    """``GET api+path`` with Basic username 0 and ``token``: the JSON answer."""
    auth = base64.b64encode(f"0:{token}".encode()).decode()
    request = urllib.request.Request(f"{api}{path}", headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        loaded: dict[str, Any] = json.load(response)
        return loaded


def refs(value: Any) -> Iterator[dict[str, Any]]:
    """Every ``{"id", "url"}`` reference nested anywhere in ``value``."""
    if isinstance(value, dict):
        if set(value) == {"id", "url"}:
            yield value
            return
        for item in value.values():
            yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)
