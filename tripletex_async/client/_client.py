"""`TripletexClient`: the public async client.

One client owns one HTTP connection pool. It has a default connection (the tokens it was
made with) and can open more with `connect` (one per customer company of a SaaS, say),
each with its own session and rate budget but the same pool. `company` gives a view whose
requests act for an accountant's client company (Basic username = company id).
"""

from __future__ import annotations

import os
import random
import ssl
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, overload
from urllib.parse import urlsplit

import httpx
import msgspec
import sniffio

from ._clock import Clock, SystemClock
from ._config import Credentials, Limits, RetryPolicy, resolve_endpoint
from ._connection import Connection, ConnectionStatistics, Tally
from ._envelopes import ClientCompany, ListPage, LoggedInUserInfo, Value
from ._errors import ClosedError, ConfigurationError
from ._ratelimit import RateLimiter

__all__ = ["CompanyView", "TripletexClient"]

T = TypeVar("T")
TransportName = Literal["aiohttp", "httpx"]


class _ChosenTransport(httpx.AsyncBaseTransport):
    """The transport named, built once the async library running it is known.

    aiohttp runs on asyncio only: on any other anyio backend (trio) the default is
    httpx's own pool, and naming aiohttp is a `ConfigurationError` when the client opens.
    """

    def __init__(self, name: TransportName | None, limits: Limits, *, tls: bool) -> None:
        self._name = name
        self._limits = limits
        self._tls = tls
        self._inner: httpx.AsyncBaseTransport | None = None

    def start(self) -> None:
        """Build the transport for the running async library (in a task)."""
        if self._inner is None:
            library = sniffio.current_async_library()
            if library != "asyncio" and self._name == "aiohttp":
                raise ConfigurationError(
                    f"transport 'aiohttp' runs on asyncio only, not {library}; "
                    "use transport='httpx' (the default there)"
                )
            name = self._name if library == "asyncio" else "httpx"
            self._inner = make_transport(name, self._limits, tls=self._tls)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.start()
        assert self._inner is not None
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def make_transport(
    name: TransportName | None, limits: Limits, *, tls: bool = True
) -> httpx.AsyncBaseTransport:
    """The HTTP transport by name; the default is the one benchmarks/transport.py chose.

    httpx's own pool costs about four times the CPU per request of httpx-aiohttp and
    collapses above ~50 requests in flight (encode/httpx#3215), so aiohttp is preferred
    when installed (on asyncio: see `_ChosenTransport`).

    One verified TLS context is built (loading the CA bundle costs ~40 ms), and none for
    a plain ``http://`` root (``tls=False``: the simulator, a local proxy), which never
    does TLS.
    """
    pool = httpx.Limits(
        max_connections=limits.max_in_flight, max_keepalive_connections=limits.max_in_flight
    )
    verify: ssl.SSLContext | bool = httpx.create_ssl_context() if tls else False
    if name in (None, "aiohttp"):
        try:
            from httpx_aiohttp import AiohttpTransport
        except ImportError:
            if name == "aiohttp":
                raise ConfigurationError(
                    "transport 'aiohttp' needs the extra: pip install 'tripletex-async[aiohttp]'"
                ) from None
        else:
            transport: httpx.AsyncBaseTransport = AiohttpTransport(
                verify=verify, limits=pool, client=_aiohttp_session_factory(pool, verify)
            )
            return transport
    return httpx.AsyncHTTPTransport(verify=verify, limits=pool)


def _aiohttp_session_factory(
    pool: httpx.Limits, verify: ssl.SSLContext | bool
) -> Callable[[], Any]:
    """Build aiohttp sessions that never re-send a request on their own.

    aiohttp silently replays GET, PUT and DELETE once when a kept-alive connection drops.
    A replayed DELETE that had succeeded turns into a 404, a replayed PUT into a 409; and
    the replays are invisible to our statistics. Retries belong to our pipeline alone,
    which repeats only what is idempotent.
    """

    def build() -> Any:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=pool.max_connections or 0,
            keepalive_timeout=pool.keepalive_expiry,
            ssl=verify,
        )
        session = aiohttp.ClientSession(connector=connector)
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    return build


class _Requests:
    """Typed helpers over `Connection.request`, shared by the client and company views."""

    _company_id: int

    def _conn(self) -> Connection:
        raise NotImplementedError

    async def request(
        self,
        method: str,
        path: str,
        *,
        type: Any = Any,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Any endpoint, any method; the body is decoded into ``type`` (bytes: as is)."""
        decode = (lambda b: b) if type is bytes else self._conn().decoder(type).decode
        return await self._conn().request(
            method,
            path,
            decode,
            company_id=self._company_id,
            params=params,
            json=json,
            headers=headers,
            not_modified=None,
        )

    async def get(
        self, path: str, *, type: Any = Any, params: Mapping[str, Any] | None = None
    ) -> Any:
        """GET, decoded into ``type``."""
        return await self.request("GET", path, type=type, params=params)

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        type: Any = Any,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """POST a JSON body (never retried once it may have reached Tripletex)."""
        return await self.request("POST", path, type=type, params=params, json=json)

    async def put(
        self,
        path: str,
        *,
        json: Any = None,
        type: Any = Any,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """PUT a JSON body (Tripletex's partial update)."""
        return await self.request("PUT", path, type=type, params=params, json=json)

    async def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> None:
        """DELETE; a 204 answer has no body."""
        await self.request("DELETE", path, type=bytes, params=params)

    async def get_value(
        self, path: str, type: type[T], *, params: Mapping[str, Any] | None = None
    ) -> T:
        """GET a ``{"value": ...}`` envelope and return the value."""
        envelope: Value[T] = await self.get(path, type=Value[type], params=params)  # type: ignore[valid-type]
        return envelope.value

    @overload
    async def get_list(
        self,
        path: str,
        type: type[T],
        *,
        params: Mapping[str, Any] | None = ...,
        if_none_match: None = ...,
        tally: Tally | None = ...,
    ) -> ListPage[T]: ...

    @overload
    async def get_list(
        self,
        path: str,
        type: type[T],
        *,
        params: Mapping[str, Any] | None = ...,
        if_none_match: str,
        tally: Tally | None = ...,
    ) -> ListPage[T] | None: ...

    async def get_list(
        self,
        path: str,
        type: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        if_none_match: str | None = None,
        tally: Tally | None = None,
    ) -> ListPage[T] | None:
        """GET one page of a list endpoint; None when ``if_none_match`` matched (304).

        ``if_none_match`` is a ``versionDigest`` from an earlier page 0 of the same query
        (any other value, e.g. ``"0"``, asks for the digest without matching); ``tally``
        counts this call's requests, retries, 429s and 304s.
        """
        headers = {"if-none-match": if_none_match} if if_none_match else None
        decoder = self._conn().decoder(ListPage[type])  # type: ignore[valid-type]
        page: ListPage[T] | None = await self._conn().request(
            "GET",
            path,
            decoder.decode,
            company_id=self._company_id,
            params=params,
            headers=headers,
            # A 304 to a request that matched nothing is an error, raised as such.
            not_modified=_NOT_MODIFIED if if_none_match else None,
            tally=tally,
        )
        return None if page is _NOT_MODIFIED else page

    async def get_all(
        self,
        path: str,
        type: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = 1000,
    ) -> list[T]:
        """Every record of a list endpoint: pages of ``page_size`` until a short one
        (``fullResultSize`` is not trusted). For a small list; `sync` for data."""
        out: list[T] = []
        while True:
            asked = {**(params or {}), "from": len(out), "count": page_size}
            page = await self.get_list(path, type, params=asked)
            out.extend(page.values)
            if len(page.values) < page_size:
                return out

    async def who_am_i(self) -> LoggedInUserInfo:
        """``/token/session/>whoAmI``: the token owner's employee and company ids."""
        return await self.get_value("/token/session/>whoAmI", LoggedInUserInfo)

    async def companies(self, *, page_size: int = 1000) -> list[ClientCompany]:
        """Every client company the token reaches, paged through
        ``/company/>withLoginAccess`` (always asked as the token owner, company 0).

        Pages until a short page: ``fullResultSize`` is not trusted.
        """
        owner = CompanyView(self._conn(), 0)
        params = {"fields": _CLIENT_FIELDS}
        return await owner.get_all(
            "/company/>withLoginAccess", ClientCompany, params=params, page_size=page_size
        )


_NOT_MODIFIED: Any = ListPage(values=[])
#: Derived from the Struct that decodes the answer, so request and decoder cannot drift.
_CLIENT_FIELDS = ",".join(f.encode_name for f in msgspec.structs.fields(ClientCompany))


class CompanyView(_Requests):
    """Requests acting for one company (Basic username = its id) on a connection."""

    def __init__(self, connection: Connection, company_id: int) -> None:
        self._connection = connection
        self._company_id = company_id

    @property
    def company_id(self) -> int:
        """The company these requests act for."""
        return self._company_id

    def _conn(self) -> Connection:
        return self._connection

    @property
    def connection(self) -> Connection:
        """The connection (tokens, session, budget) these requests use."""
        return self._connection

    def company(self, company_id: int) -> CompanyView:
        """The same connection acting for another company."""
        return CompanyView(self._connection, company_id)

    def statistics(self) -> ConnectionStatistics:
        """The connection's counters and budget."""
        return self._connection.statistics()


class TripletexClient(_Requests):
    """An async Tripletex API v2 client; use it as ``async with TripletexClient(...)``.

    Tokens and the environment come from the arguments or from ``TRIPLETEX_CONSUMER_TOKEN``,
    ``TRIPLETEX_EMPLOYEE_TOKEN`` and ``TRIPLETEX_ENV``/``TRIPLETEX_BASE_URL``. A test token
    against production (or the reverse) is refused here, before any request.
    """

    def __init__(
        self,
        consumer_token: str | None = None,
        employee_token: str | None = None,
        *,
        env: str | None = None,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | TransportName | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        session_days: int = 2,
        environ: Mapping[str, str] | None = None,
        seed: int | None = None,
    ) -> None:
        root, credentials = resolve_endpoint(
            consumer_token=consumer_token,
            employee_token=employee_token,
            env=env,
            base_url=base_url,
            environ=os.environ if environ is None else environ,
        )
        self._root = root
        self._limits = limits or Limits()
        self._retry = retry or RetryPolicy()
        self._clock = clock or SystemClock()
        self._rng = random.Random(seed)
        self._session_days = session_days
        if not isinstance(transport, httpx.AsyncBaseTransport):
            tls = urlsplit(root).scheme != "http"
            transport = _ChosenTransport(transport, self._limits, tls=tls)
        self._transport = transport
        timeout = httpx.Timeout(self._limits.timeout, connect=self._limits.connect_timeout)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._company_id = 0
        self._state: Literal["new", "open", "closed"] = "new"
        self._connections: list[Connection] = []
        self._credentials = credentials
        self._default = self._new_connection(credentials, rate_limiter)

    def __repr__(self) -> str:
        return f"TripletexClient(base_url={self._root!r}, state={self._state!r})"

    @property
    def base_url(self) -> str:
        """The API root, including ``/v2``."""
        return self._root

    def _new_connection(
        self, credentials: Credentials, rate_limiter: RateLimiter | None
    ) -> Connection:
        connection = Connection(
            self._http,
            self._transport,
            self._root,
            credentials,
            clock=self._clock,
            limits=self._limits,
            retry=self._retry,
            rate_limiter=rate_limiter,
            rng=random.Random(self._rng.random()),
            session_days=self._session_days,
        )
        self._connections.append(connection)
        return connection

    def _conn(self) -> Connection:
        if self._state != "open":
            raise ClosedError(
                "the client is closed"
                if self._state == "closed"
                else "use the client inside 'async with TripletexClient(...)'"
            )
        return self._default

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise ClosedError("a TripletexClient can be opened only once")
        if isinstance(self._transport, _ChosenTransport):
            self._transport.start()
        await self._http.__aenter__()
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Delete the sessions (best effort) and close the pool."""
        if self._state == "closed":
            return
        was_open, self._state = self._state == "open", "closed"
        try:
            if was_open:
                for connection in self._connections:
                    await connection.close()
        finally:
            await self._http.aclose()

    def connect(
        self,
        *,
        employee_token: str,
        consumer_token: str | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> CompanyView:
        """Another employee token on the same pool, with its own session and rate budget.

        Returns a view acting for that token's own company (Basic username 0).
        """
        self._conn()
        consumer = consumer_token or self._credentials.consumer_token
        connection = self._new_connection(Credentials(consumer, employee_token), rate_limiter)
        return CompanyView(connection, 0)

    def company(self, company_id: int) -> CompanyView:
        """Requests acting for ``company_id`` (an accountant's client company)."""
        return CompanyView(self._conn(), company_id)

    @property
    def connection(self) -> Connection:
        """The default connection (the tokens the client was made with)."""
        return self._conn()

    def statistics(self) -> ConnectionStatistics:
        """Requests, retries, 429s, refreshes, in flight and the budget of the default
        connection."""
        return self._default.statistics()
