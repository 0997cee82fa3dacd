"""`FakeTripletex`: the simulator's request handling, free of any HTTP framework.

One request goes: route -> authenticate -> count against the rate window -> maybe a
fault -> the endpoint -> maybe damage the response. Adapters (`FakeTransport`, the
loopback server) only move `FakeRequest`/`FakeResponse` values over the wire. The app
owns its endpoints: lists and their page cache (`_list_endpoint`), records by id and
writes (`_item_endpoint`), the session calls (`_session_endpoints`); latency and faults
come from `_faults`.

Every path of the spec answers something honest (`_spec_path`): the lists, records by
id at their ``url`` and the lookups of `_lookups` behave; any other spec path is the
simulator's own 501/0 "not simulated: GET /x/{id}" (`_errors.not_simulated`), a method
the spec lacks is Tripletex's 400/4000, a path outside the spec its 404/6000.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio

from . import _fields
from ._auth import Credentials, Session, Sessions
from ._budgets import Budget, BudgetRecorder
from ._config import FakeConfig
from ._errors import (
    ApiFailure,
    error_response,
    expected_number,
    forbidden,
    method_not_allowed,
    not_found,
    not_simulated,
    validation_failed,
)
from ._faults import FaultInjector
from ._http import FakeRequest, FakeResponse, Fault, json_response
from ._item_endpoint import ItemEndpoint
from ._limits import FixedWindows
from ._list_endpoint import ListEndpoint
from ._lookups import ITEM_LISTS, last_reconciliation, posting_rules
from ._portfolio import Portfolio
from ._resources import RESOURCES, templated
from ._schema import load_models
from ._session_endpoints import SessionEndpoints
from ._spec_paths import SpecRoute, lookup_models, match_route
from ._stats import FakeStatistics, StatsRecorder
from ._store import Store
from ._webhooks import Webhooks

__all__ = ["FakeTripletex"]

#: The page cache's budget in bytes, read at each insert (a benchmark resizes it here).
_PAGE_CACHE_BYTES = 256 * 1024 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _page_cache_bytes() -> int:
    return _PAGE_CACHE_BYTES


class FakeTripletex:
    """A simulated Tripletex API v2 serving a generated portfolio.

    ``clock`` (aware datetimes) drives session expiry, rate windows and ``changes``
    timestamps; ``sleep`` is awaited for simulated latency (the fixed part before a
    request is handled, the per-row part of a list after it). Both are injectable so
    tests need no real waiting.
    """

    def __init__(
        self,
        portfolio: Portfolio,
        config: FakeConfig | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.config = config or FakeConfig()
        self.clock = clock or _utcnow
        self._models = load_models()
        self._store = Store(portfolio, self.clock)
        self._stats = StatsRecorder()
        self._faults = FaultInjector(self._config, sleep or anyio.sleep, self._stats)
        # Keyed by budget (`Session.budget_key`), as Tripletex counts: not per session
        # and not per company.
        self._windows: FixedWindows[tuple[str, str]] | None = (
            FixedWindows(self.config.rate_limit, lambda: self.clock().timestamp())
            if self.config.rate_limit
            else None
        )
        self._sessions = Sessions(
            self.config.environment, self.clock, random.Random(portfolio.config.seed)
        )
        consumer = self._sessions.new_consumer_token()
        accountant_id = int(portfolio.accountant["id"])
        self._credentials = self._sessions.new_employee(consumer, accountant_id, accountant=True)
        self._budgets = BudgetRecorder()
        # Minted here, after the accountant's: a default portfolio (no standalone
        # companies) draws the same tokens as before they existed.
        self._standalone = [
            self._sessions.new_employee(consumer, company, accountant=False)
            for company in portfolio.standalone_ids()
        ]
        # Further accountants after the standalone companies, for the same reason.
        self._accountants = [self._credentials] + [
            self._sessions.new_employee(consumer, accountant_id, accountant=True)
            for _ in range(self.config.accountants - 1)
        ]
        self._shares = _shares(portfolio, self._accountants)
        self.webhooks = Webhooks(self._store, self._models, self.clock)
        self._store.listeners.append(self.webhooks.on_mutation)
        self._lists = ListEndpoint(
            self._store, self._models, self._config, self._now, _page_cache_bytes
        )
        self._items = ItemEndpoint(self._store, self._models)
        self._session_calls = SessionEndpoints(
            self._sessions,
            self._windows,
            self._models,
            self._config,
            self._now,
            self._listed_clients,
        )

    def _config(self) -> FakeConfig:
        # Read per call by the parts the app owns: a test may swap `config` mid-run.
        return self.config

    def _now(self) -> datetime:
        return self.clock()

    # -- public API --------------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """The accountant's consumer and employee tokens, reaching every client company
        (the first share of them if `FakeConfig.accountants` is more than 1)."""
        return self._credentials

    def company_credentials(self, company_id: int) -> Credentials:
        """A new employee token owned by one client company (a SaaS customer's token)."""
        if not self._store.has_company(company_id):
            raise KeyError(company_id)
        return self._sessions.new_employee(
            self._credentials.consumer_token, company_id, accountant=False
        )

    def add_consumer(self) -> Credentials:
        """A second API consumer for the accountant's company: a separate rate budget."""
        consumer = self._sessions.new_consumer_token()
        return self._sessions.new_employee(consumer, self._credentials.company_id, accountant=True)

    def budgets(self) -> list[Budget]:
        """The portfolio's budgets, each a pair of tokens a user could register: the
        accountant's (reaching the clients; one per `FakeConfig.accountants`, labelled
        ``accountant``, ``accountant#2``, ..., each reaching its share), then one per
        standalone company (reaching only it), all of one consumer token. Tokens minted
        later by `company_credentials` and `add_consumer` are budgets too, but not among
        these.
        """
        consumer = self._credentials.consumer_token
        accountants = [
            Budget(
                self._sessions.budget_label(consumer, creds.employee_token),
                "accountant",
                consumer,
                creds.employee_token,
                self._shares[creds.employee_token],
            )
            for creds in self._accountants
        ]
        return [*accountants, *(self._company_budget(c) for c in self._standalone)]

    def _company_budget(self, creds: Credentials) -> Budget:
        label = self._sessions.budget_label(creds.consumer_token, creds.employee_token)
        return Budget(
            label, "company", creds.consumer_token, creds.employee_token, (creds.company_id,)
        )

    def statistics(self) -> FakeStatistics:
        """A snapshot of what the simulator has served."""
        windows = self._windows
        usage = {} if windows is None else windows.usage()
        by_label = {self._sessions.budget_label(*key): use for key, use in usage.items()}
        limit = None if windows is None else windows.limit
        budgets = self._budgets.snapshot(by_label)
        return self._stats.snapshot(self._sessions.created, budgets, limit)

    def records(self, company_id: int, resource: str) -> list[dict[str, Any]]:
        """The current objects of a resource, full, sorted by id (for assertions).

        Every object, including those lists hide by default (inactive customers, contacts,
        closed projects).
        """
        return list(self._store.collection(company_id, resource).ordered())

    def add(self, company_id: int, resource: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create an object between runs; webhooks fire.

        A child names its parent, e.g. ``add(c, "order/orderline", {"order": {"id": n}})``:
        the parent then lists it and its list digest moves on, while its ``version`` and
        ``changes`` stay (tripletex-api2#107). ``update`` and ``delete`` of a child do the
        same.
        """
        return self._store.add(company_id, resource, data)

    def update(
        self, company_id: int, resource: str, record_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Change an object (``version`` and ``changes`` move on); webhooks fire."""
        return self._store.update(company_id, resource, record_id, data)

    def delete(self, company_id: int, resource: str, record_id: int) -> None:
        """Remove an object; webhooks fire."""
        self._store.delete(company_id, resource, record_id)

    def expire_sessions(self) -> None:
        """Kill every live session (the next call with one gets 401)."""
        for session in self._sessions.sessions.values():
            session.alive = False

    # -- request handling --------------------------------------------------------------

    async def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request."""
        self._stats.begin()
        label, company, status = "?", None, 0
        try:
            await self._faults.latency()
            label, company, response = self._respond(request)
            await self._faults.row_latency(response.rows)
            status = 0 if response.fault is Fault.DROP else response.status
            return response
        finally:
            self._stats.end(label, status, company)

    def _respond(self, request: FakeRequest) -> tuple[str, int | None, FakeResponse]:
        rid = str(uuid.uuid4())
        path = request.path
        if path == "/_fake/statistics":
            return path, None, json_response(200, self.statistics().to_dict())
        if not path.startswith("/v2/"):
            return path, None, error_response(not_found(), rid)
        route = path[4:].rstrip("/")
        label, company = _label(route), None
        headers: list[tuple[str, str]] = []
        try:
            if route == "token/session/:create":
                response = self._session_calls.create(request)
            elif route == "event" or (route.startswith("event/") and "subscription" not in route):
                response = self.webhooks.event_types(route)
            else:
                session, company = self._sessions.authenticate(
                    request.headers.get("authorization"), route
                )
                self._budgets.sent(session.budget, session.id)
                headers, allowed = self._rate_limit(session)
                if not allowed:
                    self._budgets.limited(session.budget)
                    raise ApiFailure(429, 0, "Too many requests")
                faulty = self._faults.fail(session, rid) if self._faults.apply_to(route) else None
                response = faulty or self._dispatch(request, route, session, company)
        except ApiFailure as failure:
            response = error_response(failure, rid)
        response.headers.extend(headers)
        if response.header("x-tlx-request-id") is None:
            response.headers.append(("x-tlx-request-id", rid))
        ok = 200 <= response.status < 300
        if response.fault is None and ok and self._faults.apply_to(route):
            response.fault = self._faults.damage()
        return label, company, response

    def _rate_limit(self, session: Session) -> tuple[list[tuple[str, str]], bool]:
        if self._windows is None:
            return [], True
        verdict = self._windows.hit(session.budget_key)
        return verdict.headers, verdict.allowed

    # -- endpoints ---------------------------------------------------------------------

    def _dispatch(
        self, request: FakeRequest, route: str, session: Session, company: int
    ) -> FakeResponse:
        method = request.method
        if route in ("token/session/>whoAmI", "company/>withLoginAccess") and method != "GET":
            raise method_not_allowed()
        if route == "token/session/>whoAmI":
            return self._session_calls.who_am_i(request, session)
        if route.startswith("token/session/"):
            if method != "DELETE":
                raise method_not_allowed()
            if not self._sessions.delete(route.rsplit("/", 1)[1]):
                raise not_found()
            return FakeResponse(204)
        if route == "company/>withLoginAccess":
            return self._session_calls.with_login_access(request, session)
        if not self._reaches(session, company):
            raise forbidden()
        if route.startswith("event/subscription"):
            return self.webhooks.handle(request, route, session, company)
        if route.split("/", 1)[0] in self.config.modules_off.get(company, ()):
            raise forbidden()
        return self._resource(request, route, company)

    def _reaches(self, session: Session, company: int) -> bool:
        """Whether the session's token may act for ``company``: an accountant's for its
        clients (not for the standalone companies), a company's for its own."""
        if session.employee.accountant:
            share = self._shares.get(session.employee.employee_token)
            return self.portfolio.is_client(company) if share is None else company in share
        return self._store.has_company(company)

    def _listed_clients(self, employee: Credentials) -> list[dict[str, Any]]:
        """The ``Client`` records ``/company/>withLoginAccess`` lists for ``employee``."""
        if not employee.accountant:
            return []
        share = self._shares.get(employee.employee_token)
        clients = self.portfolio.clients
        return clients if share is None else [c for c in clients if int(c["id"]) in share]

    def _resource(self, request: FakeRequest, route: str, company: int) -> FakeResponse:
        info, path_params = RESOURCES.get(route), dict[str, str]()
        if info is None:
            info, path_params = templated(route)
        if info is not None:
            if request.method == "GET" and info.listable:
                return self._lists.serve(
                    request, info, company, {**request.params(), **path_params}
                )
            if request.method == "POST" and "POST" in info.collection_methods:
                return self._items.create(request, info, company)
        return self._spec_path(request, route, company)

    def _spec_path(self, request: FakeRequest, route: str, company: int) -> FakeResponse:
        """Any other route, answered as the spec's paths decide (see `_spec_paths`)."""
        spec = match_route(route)
        if spec is None:
            raise not_found()
        if request.method not in spec.methods:
            raise method_not_allowed()
        bad = spec.not_a_number()
        if bad is not None:
            raise expected_number(bad)
        parent, _, last = spec.template.rpartition("/")
        info = RESOURCES.get(parent)
        if last == "{id}" and request.method == "GET" and parent in ITEM_LISTS:
            return self._by_id(request, parent, company, int(spec.params["id"]))
        if last == "{id}" and info is not None and request.method in info.item_methods:
            return self._items.item(request, info, company, int(spec.params["id"]))
        if request.method == "GET":
            found = self._lookup(request, spec, company)
            if found is not None:
                return found
        raise not_simulated(request.method, spec.template)

    def _by_id(self, request: FakeRequest, path: str, company: int, rid: int) -> FakeResponse:
        """A record of any list whose records live at ``/{path}/{id}``."""
        for info in ITEM_LISTS[path]:
            record = self._store.collection(company, info.path).by_id.get(rid)
            if record is not None:
                return self._items.value(request, info, company, record, 200)
        raise not_found()

    def _lookup(self, request: FakeRequest, spec: SpecRoute, company: int) -> FakeResponse | None:
        """The single-object lookups of `_lookups`; None for a path that is not one."""
        if spec.template == "company/{id}":
            if int(spec.params["id"]) != company:
                raise not_found()
            return self._single(request, company, "Company", self.portfolio.company(company))
        if spec.template == "ledger/postingRules":
            accounts = self._store.collection(company, "ledger/account").ordered()
            rules = posting_rules(company, self.config.host, accounts)
            return self._single(request, company, "PostingRules", rules)
        if spec.template in ("bank/reconciliation/>last", "bank/reconciliation/>lastClosed"):
            account = request.params().get("accountId", "")
            if not account.isdigit():
                raise validation_failed([("accountId", "Kan ikke være null.")])
            info = RESOURCES["bank/reconciliation"]
            rows = self._store.collection(company, info.path).ordered()
            closed = spec.template.endswith("Closed")
            found = last_reconciliation(rows, int(account), closed=closed)
            if found is None:
                raise not_found()
            return self._items.value(request, info, company, found, 200)
        return None

    def _single(
        self, request: FakeRequest, company: int, name: str, record: dict[str, Any]
    ) -> FakeResponse:
        """``{"value": record}`` of model ``name``, as ``fields`` asks."""
        model = self._models.get(name) or lookup_models()[name]
        selection = _fields.select(request.params().get("fields", ""), model, self._models)
        resolve = self._store.resolver(company)
        value = _fields.project(record, selection, model, self._models, resolve)
        return json_response(200, {"value": value})


def _shares(portfolio: Portfolio, accountants: list[Credentials]) -> dict[str, tuple[int, ...]]:
    """Employee token -> the clients it reaches: contiguous shares of the sorted ids, as
    even as can be. A token not here (`FakeTripletex.add_consumer`'s) reaches them all."""
    ids, n = portfolio.company_ids(), len(accountants)
    if n > len(ids):
        raise ValueError(f"accountants ({n}) must not exceed the client companies ({len(ids)})")
    return {
        creds.employee_token: tuple(ids[k * len(ids) // n : (k + 1) * len(ids) // n])
        for k, creds in enumerate(accountants)
    }


def _label(route: str) -> str:
    if route.startswith("token/session/") and route[14:15] not in (":", ">"):
        return "token/session/{token}"  # never a token in the statistics
    parts = route.split("/")
    return "/".join("{id}" if p.isdigit() else p for p in parts)
