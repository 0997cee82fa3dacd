"""A faithful simulated Tripletex API v2, for tests and benchmarks without the internet.

Run it in-process as an httpx transport::

    fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=3)))
    async with TripletexClient(
        consumer_token=fake.credentials.consumer_token,
        employee_token=fake.credentials.employee_token,
        base_url="http://tripletex.test/v2",
        transport=FakeTransport(fake),
    ) as client:
        ...

or on loopback with `serve` (async) / `ServerThread` (sync), or from a shell with
``python -m tripletex_async.testing --port 8080``.

It serves every list endpoint of the spec's registry (``_spec/registry.json``) that is
not excluded: the main resources with realistic hand-built records, the rest with
records generated from their schemas, and reports (balance sheet, ledger, open posts,
stock) computed from the company's postings and products per query.
"""

from .._exports import claim as _claim
from ._app import FakeTripletex as FakeTripletex
from ._auth import Credentials as Credentials
from ._budgets import Budget as Budget
from ._budgets import BudgetStatistics as BudgetStatistics
from ._config import FakeConfig as FakeConfig
from ._config import Faults as Faults
from ._config import FullResultSize as FullResultSize
from ._config import RateLimit as RateLimit
from ._http import FakeRequest as FakeRequest
from ._http import FakeResponse as FakeResponse
from ._http import Fault as Fault
from ._portfolio import Portfolio as Portfolio
from ._portfolio import PortfolioConfig as PortfolioConfig
from ._portfolio import generate_portfolio as generate_portfolio
from ._resources import RESOURCES as RESOURCES
from ._resources import ResourceInfo as ResourceInfo
from ._server import LoopbackServer as LoopbackServer
from ._server import ServerThread as ServerThread
from ._server import serve as serve
from ._stats import FakeStatistics as FakeStatistics
from ._transport import FakeTransport as FakeTransport
from ._virtual import VirtualTimeEventLoop as VirtualTimeEventLoop
from ._webhooks import Delivery as Delivery

__all__ = [
    "RESOURCES",
    "Budget",
    "BudgetStatistics",
    "Credentials",
    "Delivery",
    "FakeConfig",
    "FakeRequest",
    "FakeResponse",
    "FakeStatistics",
    "FakeTransport",
    "FakeTripletex",
    "Fault",
    "Faults",
    "FullResultSize",
    "LoopbackServer",
    "Portfolio",
    "PortfolioConfig",
    "RateLimit",
    "ResourceInfo",
    "ServerThread",
    "VirtualTimeEventLoop",
    "generate_portfolio",
    "serve",
]

_claim(globals(), __all__, __name__)
