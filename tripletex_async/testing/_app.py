"""`FakeTripletex`: the simulator's request handling, free of any HTTP framework.

One request goes: route -> authenticate -> count against the rate window -> maybe a
fault -> the endpoint -> maybe damage the response. Adapters (`FakeTransport`, the
loopback server) only move `FakeRequest`/`FakeResponse` values over the wire.

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
import msgspec

from . import _fields, _write_checks
from ._auth import Credentials, Session, Sessions
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
from ._fields import IllegalField
from ._http import FakeRequest, FakeResponse, Fault, json_response
from ._limits import FixedWindows
from ._lists import NO_DIGEST, envelope, full_result_size, match, parse_list_query
from ._lookups import ITEM_LISTS, last_reconciliation, posting_rules
from ._portfolio import Portfolio
from ._resources import MODEL_COLLECTIONS, RESOURCES, ResourceInfo, templated
from ._schema import ModelSchema, load_models
from ._spec_paths import SpecRoute, lookup_models, match_route
from ._stats import FakeStatistics, StatsRecorder
from ._store import Store, digest
from ._webhooks import Webhooks

__all__ = ["FakeTripletex"]

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_JSON = ("content-type", "application/json")
_PAGE_CACHE_BYTES = 256 * 1024 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        self._sleep = sleep or anyio.sleep
        self._models = load_models()
        self._store = Store(portfolio, self.clock)
        self._faults = random.Random(self.config.faults.seed)
        self._stats = StatsRecorder()
        #: Page bodies and how many rows each holds, by query and collection generation.
        self._pages: dict[tuple[object, ...], tuple[bytes, int]] = {}
        self._digests: dict[tuple[object, ...], str] = {}
        self._page_bytes = 0
        self._windows = (
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
        self.webhooks = Webhooks(self._store, self._models, self.clock)
        self._store.listeners.append(self.webhooks.on_mutation)

    # -- public API --------------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """The accountant's consumer and employee tokens, reaching every client company."""
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

    def statistics(self) -> FakeStatistics:
        """A snapshot of what the simulator has served."""
        return self._stats.snapshot(self._sessions.created)

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
            await self._latency()
            label, company, response = self._respond(request)
            await self._row_latency(response.rows)
            status = 0 if response.fault is Fault.DROP else response.status
            return response
        finally:
            self._stats.end(label, status, company)

    async def _latency(self) -> None:
        faults = self.config.faults
        delay = faults.latency + (faults.jitter * self._faults.random() if faults.jitter else 0)
        if delay > 0:
            await self._sleep(delay)

    async def _row_latency(self, rows: float) -> None:
        # After the answer is known, since its size decides the cost; no sleep at all
        # when there is none, so a simulator without it keeps its timing exactly.
        delay = rows * self.config.faults.latency_per_row
        if delay > 0:
            await self._sleep(delay)

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
                response = self._create_session(request)
            elif route == "event" or (route.startswith("event/") and "subscription" not in route):
                response = self.webhooks.event_types(route)
            else:
                session, company = self._sessions.authenticate(
                    request.headers.get("authorization"), route
                )
                headers, allowed = self._rate_limit(session)
                if not allowed:
                    raise ApiFailure(429, 0, "Too many requests")
                faulty = self._faulty(session, rid) if self._faults_apply(route) else None
                response = faulty or self._dispatch(request, route, session, company)
        except ApiFailure as failure:
            response = error_response(failure, rid)
        response.headers.extend(headers)
        if response.header("x-tlx-request-id") is None:
            response.headers.append(("x-tlx-request-id", rid))
        ok = 200 <= response.status < 300
        if response.fault is None and ok and self._faults_apply(route):
            response.fault = self._damage()
        return label, company, response

    def _faults_apply(self, route: str) -> bool:
        # Session calls are spared unless asked for, so a retry test is not also a test
        # of session handling.
        return self.config.faults.on_token_calls or not route.startswith("token/session/")

    def _rate_limit(self, session: Session) -> tuple[list[tuple[str, str]], bool]:
        if self._windows is None:
            return [], True
        verdict = self._windows.hit(session.budget_key)
        return verdict.headers, verdict.allowed

    def _faulty(self, session: Session, rid: str) -> FakeResponse | None:
        faults = self.config.faults
        if not faults.any:
            return None
        draw = self._faults.random()
        for name, p in (("500", faults.error_500), ("503", faults.error_503)):
            if draw < p:
                self._stats.faults[name] += 1
                return _server_error(int(name), rid)
            draw -= p
        if draw < faults.session_death:
            self._stats.faults["session_death"] += 1
            session.alive = False
            raise ApiFailure(401, 3000, "Unauthorized", developer_message="Session expired.")
        return None

    def _damage(self) -> Fault | None:
        faults = self.config.faults
        if not (faults.drop or faults.truncate):
            return None
        draw = self._faults.random()
        if draw < faults.drop:
            self._stats.faults["drop"] += 1
            return Fault.DROP
        if draw < faults.drop + faults.truncate:
            self._stats.faults["truncate"] += 1
            return Fault.TRUNCATE
        return None

    def _create_session(self, request: FakeRequest) -> FakeResponse:
        if request.method == "POST" and self.config.post_session_create:
            # The query works too (Nango's client sends `curl -G -X POST`, NangoHQ/nango
            # #6298, answered 201 by the test environment); the body wins over it.
            args = {**request.params(), **_decode_body(request)}
            status = 201
        elif request.method == "PUT":
            args, status = request.params(), 200
        else:
            raise method_not_allowed()
        session = self._sessions.create(
            _opt_str(args.get("consumerToken")),
            _opt_str(args.get("employeeToken")),
            _opt_str(args.get("expirationDate")),
        )
        if self._windows is not None:
            self._windows.hit(session.budget_key)
        host = self.config.host
        value = {
            "id": session.id,
            "version": 0,
            "url": f"{host}/v2/token/session/{session.id}",
            "consumerToken": {"id": 445, "url": f"{host}/v2/token/consumer/445"},
            "employeeToken": {"id": 1000, "url": f"{host}/v2/token/employee/1000"},
            "expirationDate": session.expires_at.date().isoformat(),
            "token": session.token,
            "encryptionKey": None,
        }
        return json_response(status, {"value": value})

    # -- endpoints ---------------------------------------------------------------------

    def _dispatch(
        self, request: FakeRequest, route: str, session: Session, company: int
    ) -> FakeResponse:
        method = request.method
        if route in ("token/session/>whoAmI", "company/>withLoginAccess") and method != "GET":
            raise method_not_allowed()
        if route == "token/session/>whoAmI":
            return self._who_am_i(request, session, company)
        if route.startswith("token/session/"):
            if method != "DELETE":
                raise method_not_allowed()
            if not self._sessions.delete(route.rsplit("/", 1)[1]):
                raise not_found()
            return FakeResponse(204)
        if route == "company/>withLoginAccess":
            return self._with_login_access(request, session)
        if route.startswith("event/subscription"):
            return self.webhooks.handle(request, route, session, company)
        if not self._store.has_company(company):
            raise forbidden()
        if route.split("/", 1)[0] in self.config.modules_off.get(company, ()):
            raise forbidden()
        return self._resource(request, route, company)

    def _resource(self, request: FakeRequest, route: str, company: int) -> FakeResponse:
        info, path_params = RESOURCES.get(route), dict[str, str]()
        if info is None:
            info, path_params = templated(route)
        if info is not None:
            if request.method == "GET" and info.listable:
                return self._list(request, info, company, {**request.params(), **path_params})
            if request.method == "POST" and "POST" in info.collection_methods:
                return self._create(request, info, company)
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
            return self._item(request, info, company, int(spec.params["id"]))
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
                return self._value(request, info, company, record, 200)
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
            return self._value(request, info, company, found, 200)
        return None

    def _single(
        self, request: FakeRequest, company: int, name: str, record: dict[str, Any]
    ) -> FakeResponse:
        """``{"value": record}`` of model ``name``, as ``fields`` asks."""
        model = self._models.get(name) or lookup_models()[name]
        selection = self._selection(request.params().get("fields", ""), model)
        resolve = self._store.resolver(company)
        value = _fields.project(record, selection, model, self._models, resolve)
        return json_response(200, {"value": value})

    def _list(
        self, request: FakeRequest, info: ResourceInfo, company: int, params: dict[str, str]
    ) -> FakeResponse:
        query = parse_list_query(info, params, self.config, now=self.clock())
        model = self._models[info.model]
        selection = self._selection(query.fields, model)
        unapplied = query.unapplied_headers(info.path)
        if info.kind == "snapshot":
            coll = self._store.snapshot(company, info.path, query.date_range or ())
        else:
            coll = self._store.collection(company, info.path)
        matched: list[dict[str, Any]] | None = None

        def matching() -> list[dict[str, Any]]:
            # Filtering walks the whole collection: done once per query and generation,
            # not per request, since digests and pages are cached under the same keys.
            nonlocal matched
            if matched is None:
                matched = match(
                    coll.ordered(),
                    info,
                    query,
                    model,
                    resolve=self._store.resolver(company),
                    parents=self._parents(company, info),
                )
                if len(matched) > self.config.result_cap:
                    raise ApiFailure(
                        422,
                        23000,
                        "Result set too large. Limit of 10.000 reached.",
                        developer_message="Result set too large. Use filters to reduce the result.",
                    )
            return matched

        if_none_match = request.headers.get("if-none-match")
        version_digest = NO_DIGEST
        if if_none_match:
            digest_key = (company, info.path, coll.generation, query.filter_key, query.fields)
            version_digest = self._digests.get(digest_key) or self._digests.setdefault(
                digest_key, query.salted(digest(matching(), query.fields, coll.child_stamps))
            )
            if if_none_match == version_digest:
                return FakeResponse(304, headers=unapplied)
        # Expanded references are read at serving time: the page is only as fresh as the
        # collections it expands, while the digest above ignores them, as Tripletex's does.
        related = self._expanded_generations(company, selection, model)
        key = (company, info.path, coll.generation, query, bool(if_none_match), related)
        cached = self._pages.get(key)
        if cached is None:
            rows = matching()
            page = rows[query.start : query.start + query.count]
            if selection.is_plain_star:
                values = [coll.star_bytes(r) for r in page]
            else:
                resolve = self._store.resolver(company)
                values = [
                    msgspec.json.encode(_fields.project(r, selection, model, self._models, resolve))
                    for r in page
                ]
            body = envelope(
                full_size=full_result_size(len(rows), self.config.full_result_size),
                start=query.start,
                values=values,
                digest=version_digest,
                extra=_envelope_extra(info, rows),
            )
            cached = (body, len(page))
            self._cache_page(key, cached)
        body, served = cached
        share = _fields.field_share(selection, model)
        return FakeResponse(200, body, [_JSON, *unapplied], rows=served * share)

    def _parents(self, company: int, info: ResourceInfo) -> dict[int, int] | None:
        """Child id -> parent id, for a child list whose schema does not name the parent."""
        if info.parent is None or info.parent.field is not None:
            return None
        return self._store.parent_ids(company, info.path)

    def _expanded_generations(
        self, company: int, selection: _fields.Selection, model: ModelSchema
    ) -> tuple[tuple[str, int], ...]:
        """(path, generation) of every stored collection that ``selection`` expands."""
        out: list[tuple[str, int]] = []
        for name, sub in selection.names.items():
            info = model.field(name)
            target = info.target if sub is not None and info is not None else None
            if sub is None or target is None or target not in self._models:
                continue
            path = MODEL_COLLECTIONS.get(target)
            if path is not None:
                out.append((path, self._store.collection(company, path).generation))
            out.extend(self._expanded_generations(company, sub, self._models[target]))
        return tuple(out)

    def _cache_page(self, key: tuple[object, ...], page: tuple[bytes, int]) -> None:
        size = len(page[0])
        if self._page_bytes + size > _PAGE_CACHE_BYTES:
            self._pages.clear()
            self._digests.clear()
            self._page_bytes = 0
        self._pages[key] = page
        self._page_bytes += size

    def _item(
        self, request: FakeRequest, info: ResourceInfo, company: int, record_id: int
    ) -> FakeResponse:
        if request.method == "GET":
            record = self._store.collection(company, info.path).by_id.get(record_id)
            if record is None:
                raise not_found()
            return self._value(request, info, company, record, 200)
        if request.method == "PUT":
            data = self._writable(request, info)
            if record_id not in self._store.collection(company, info.path).by_id:
                raise not_found()
            _write_checks.check(info.path, data, self._store.lookup(company), creating=False)
            record = self._store.update(company, info.path, record_id, data)
            return self._value(request, info, company, record, 200)
        if request.method == "DELETE":
            self._store.delete(company, info.path, record_id)
            return FakeResponse(204)
        raise method_not_allowed()

    def _create(self, request: FakeRequest, info: ResourceInfo, company: int) -> FakeResponse:
        data = self._writable(request, info)
        if "id" in data or "version" in data:
            raise ApiFailure(
                422,
                18000,
                "Validering feilet.",
                validation=[("id", "ID kan ikke settes når man oppretter et objekt.")],
            )
        _write_checks.check(info.path, data, self._store.lookup(company), creating=True)
        record = self._store.add(company, info.path, data)
        return self._value(request, info, company, record, 201)

    def _writable(self, request: FakeRequest, info: ResourceInfo) -> dict[str, Any]:
        data = _decode_body(request)
        model = self._models[info.model]
        unknown = [(k, "Feltet eksisterer ikke i objektet.") for k in data if not model.field(k)]
        if unknown:
            raise ApiFailure(422, 16000, "Request mapping failed", validation=unknown)
        return data

    def _value(
        self,
        request: FakeRequest,
        info: ResourceInfo,
        company: int,
        record: dict[str, Any],
        status: int,
    ) -> FakeResponse:
        model = self._models[info.model]
        selection = self._selection(request.params().get("fields", ""), model)
        value = _fields.project(
            record, selection, model, self._models, self._store.resolver(company)
        )
        return json_response(status, {"value": value})

    def _selection(self, text: str, model: ModelSchema) -> _fields.Selection:
        try:
            selection = _fields.parse_fields(text)
            _fields.validate(selection, model, self._models)
        except IllegalField as exc:
            raise ApiFailure(400, 11000, str(exc)) from None
        except ValueError as exc:
            raise ApiFailure(400, 11000, f"Illegal fields filter: {exc}") from None
        return selection

    def _who_am_i(self, request: FakeRequest, session: Session, company: int) -> FakeResponse:
        host = self.config.host
        owner = session.employee.company_id
        value = {
            "employeeId": 1,
            "actualEmployeeId": 1,
            "employee": {"id": 1, "url": f"{host}/v2/employee/1"},
            "companyId": owner,
            "company": {"id": owner, "url": f"{host}/v2/company/{owner}"},
            "language": "NO",
            "loggedInWithConnect": False,
            "employeeIsProxy": False,
        }
        model = self._models["LoggedInUserInfo"]
        selection = self._selection(request.params().get("fields", ""), model)
        projected = _fields.project(value, selection, model, self._models, lambda m, i: None)
        return json_response(200, {"value": projected})

    def _with_login_access(self, request: FakeRequest, session: Session) -> FakeResponse:
        info = ResourceInfo("company/>withLoginAccess", "Client")
        query = parse_list_query(info, request.params(), self.config, now=self.clock())
        model = self._models["Client"]
        selection = self._selection(query.fields, model)
        clients = self.portfolio.clients if session.employee.accountant else []
        page = clients[query.start : query.start + query.count]
        values = [
            msgspec.json.encode(
                _fields.project(c, selection, model, self._models, lambda m, i: None)
            )
            for c in page
        ]
        inm = request.headers.get("if-none-match")
        body = envelope(
            full_size=full_result_size(len(clients), self.config.full_result_size),
            start=query.start,
            values=values,
            digest=digest(clients, query.fields) if inm else NO_DIGEST,
        )
        rows = len(page) * _fields.field_share(selection, model)
        return FakeResponse(200, body, [_JSON], rows=rows)


def _label(route: str) -> str:
    if route.startswith("token/session/") and route[14:15] not in (":", ">"):
        return "token/session/{token}"  # never a token in the statistics
    parts = route.split("/")
    return "/".join("{id}" if p.isdigit() else p for p in parts)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _decode_body(request: FakeRequest) -> dict[str, Any]:
    try:
        return _decode_object(request.body or b"{}")
    except msgspec.DecodeError as exc:
        raise ApiFailure(422, 22000, f"Invalid JSON: {exc}") from None


def _server_error(status: int, rid: str) -> FakeResponse:
    if status == 503:
        # Load balancers answer 503 with HTML, not Tripletex's JSON envelope.
        body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        return FakeResponse(503, body, [("content-type", "text/html")])
    return error_response(ApiFailure(500, 1000, "Internal error"), rid)


def _envelope_extra(info: ResourceInfo, matched: list[dict[str, Any]]) -> dict[str, Any] | None:
    if info.list_schema == "VoucherSearchResponse":
        return {"totalNumberOfPostings": sum(len(r.get("postings") or []) for r in matched)}
    if info.list_schema == "TimesheetEntrySearchResponse":
        return {"sumAllHours": round(sum(float(r.get("hours") or 0) for r in matched), 2)}
    return None
