"""One connection: a (consumer token, employee token) pair with its session and budget.

The request pipeline, in order: a session token (shared refresh) -> a concurrency slot
(the company's share, then the connection's) -> a rate token -> send and read the body
-> release both -> learn from the rate headers -> decode -> retry, replay or raise.
Foreign exceptions (httpx, msgspec) become ours here and only here.
"""

from __future__ import annotations

import base64
import errno
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import httpx
import msgspec

from ._clock import Clock
from ._config import Credentials, Limits, RetryPolicy, shown_url
from ._errors import (
    APIError,
    DecodeError,
    EndpointError,
    RequestTimeoutError,
    TransportError,
    TripletexError,
    api_error,
)
from ._log import Log, Redactor
from ._ratelimit import AdaptiveBudget, BudgetSnapshot, RateLimiter, unless_given_up
from ._retry import Retrying
from ._session import SessionManager

__all__ = ["Connection", "ConnectionStatistics", "RawResponse", "Tally"]


T = TypeVar("T")
#: Methods without effects on the server, so always safe to send again.
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A complete response: status, headers and the body, read once."""

    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def request_id(self) -> str | None:
        """Tripletex's ``x-tlx-request-id``."""
        value: str | None = self.headers.get("x-tlx-request-id")
        return value


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    """A snapshot of one connection's counters."""

    requests: int
    retries: int
    rate_limited: int
    not_modified: int
    replayed_401: int
    sessions_created: int
    errors: int
    in_flight: int
    budget: BudgetSnapshot


@dataclass(slots=True)
class Tally:
    """Counters of the requests made on behalf of one caller (a sync unit, say)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    not_modified: int = 0


@dataclass(slots=True)
class _Counters(Tally):
    """The connection's own counters: a tally of every request, and a few more."""

    replayed_401: int = 0
    errors: int = 0
    in_flight: int = 0


def _header_number(headers: httpx.Headers, name: str) -> float | None:
    raw = headers.get(name)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


class Connection:
    """Requests made with one pair of tokens, sharing one session and one rate budget."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        transport: httpx.AsyncBaseTransport,
        root: str,
        credentials: Credentials,
        *,
        clock: Clock,
        limits: Limits,
        retry: RetryPolicy,
        rate_limiter: RateLimiter | None = None,
        rng: random.Random | None = None,
        session_days: int = 2,
    ) -> None:
        self._http = http
        self._transport = transport
        self._root = root.rstrip("/")
        # Decoders are built once per type and reused: building one costs far more than
        # using it.
        self._decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
        self._clock = clock
        self._limits = limits
        self._retry = retry
        self._rng = rng or random.Random()
        self.redactor = Redactor([credentials.consumer_token, credentials.employee_token])
        self.log = Log(self.redactor)
        self._counters = _Counters()
        self.budget: RateLimiter = rate_limiter or AdaptiveBudget(
            clock, rng=self._rng, in_flight=lambda: self._counters.in_flight
        )
        self._slots = anyio.CapacityLimiter(limits.max_in_flight)
        self._company_slots: dict[int, anyio.CapacityLimiter] = {}
        #: Whether anything ever answered at the root (a failed connect before that is
        #: a wrong root, after it an outage).
        self._answered = False
        self.session = SessionManager(
            credentials,
            self._create_session,
            clock=clock,
            log=self.log,
            redactor=self.redactor,
            days=session_days,
            root=self._root,
        )

    # -- public ------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The clock the connection's sessions and rate budget run on."""
        return self._clock

    def decoder(self, type_: Any) -> msgspec.json.Decoder[Any]:
        """The (cached) msgspec decoder for ``type_``."""
        decoder = self._decoders.get(type_)
        if decoder is None:
            decoder = self._decoders[type_] = msgspec.json.Decoder(type_)
        return decoder

    def statistics(self) -> ConnectionStatistics:
        """Requests, retries, 429s, 304s, refreshes, in flight and the budget."""
        c = self._counters
        return ConnectionStatistics(
            requests=c.requests,
            retries=c.retries,
            rate_limited=c.rate_limited,
            not_modified=c.not_modified,
            replayed_401=c.replayed_401,
            sessions_created=self.session.created,
            errors=c.errors,
            in_flight=c.in_flight,
            budget=self.budget.snapshot(),
        )

    async def request(
        self,
        method: str,
        path: str,
        decode: Callable[[bytes], T],
        *,
        company_id: int = 0,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        not_modified: T | None = None,
        tally: Tally | None = None,
    ) -> T:
        """Send with retries and decode the body with ``decode``.

        ``not_modified`` is returned for a 304 (a conditional list request whose digest
        matched). ``tally`` counts this call's requests, retries, 429s and 304s besides
        the connection's own counters. Raises a `TripletexError` subclass on failure.
        """
        method = method.upper()
        content = None if json is None else msgspec.json.encode(json)
        call = _Call(method, path, company_id, params, content, headers, tally=tally or Tally())
        try:
            return await self._retrying(call, decode, not_modified)
        except TripletexError:
            # Counted here, once, whichever way the pipeline gave up.
            self._counters.errors += 1
            raise

    async def close(self) -> None:
        """Delete the session on the server (best effort, bounded in time)."""
        with anyio.move_on_after(5, shield=True):
            try:
                await self.session.close(self._delete_session)
            except TripletexError as exc:
                self.log.info("session_delete_failed", error=exc)

    # -- pipeline ----------------------------------------------------------------------

    # Each layer has one reason to go again: `_retrying` a transient failure, after a
    # backoff; `_authorized` a 401, once, with a new session; `_paced` a 429, after the
    # budget's pause. `_once` takes the slots and a rate token and sends.

    async def _retrying(
        self, call: _Call, decode: Callable[[bytes], T], not_modified: T | None
    ) -> T:
        """Send and decode; a transient failure (see `_transient`) goes again after a
        backoff until the retry policy is spent."""
        retrying = Retrying(self._retry, self._clock, self._rng, partial(self._retried, call))
        while True:
            try:
                response = await self._authorized(call)
                return self._decoded(call, response, decode, not_modified)
            except TripletexError as exc:
                if not _transient(call, exc):
                    raise
                await retrying.wait(exc)

    async def _authorized(self, call: _Call) -> RawResponse:
        """Send with the current session token; a 401 (the session ended early: deleted,
        or expired sooner than said) is replayed once with a new session."""
        token = await self.session.token()
        response = await self._paced(call, token.value)
        if response.status != 401:
            return response
        self._counters.replayed_401 += 1
        self.session.invalidate(token.generation)
        self.log.info("session_rejected", generation=token.generation)
        token = await self.session.token()
        return await self._paced(call, token.value)

    async def _paced(self, call: _Call, token: str) -> RawResponse:
        """Send within the rate budget: a 429 makes the budget pause every request of the
        connection, then this one goes again, up to ``rate_limited_attempts`` times."""
        limited = 0
        while True:
            response = await self._once(call, token)
            if response.status != 429:
                return response
            limited += 1
            self._counters.rate_limited += 1
            call.tally.rate_limited += 1
            pause = self.budget.rate_limited(_header_number(response.headers, "x-rate-limit-reset"))
            self.log.warning("rate_limited", path=call.shown, pause=round(pause, 3))
            if limited > self._retry.rate_limited_attempts:
                return response  # `_decoded` raises RateLimitedError

    def _decoded(
        self,
        call: _Call,
        response: RawResponse,
        decode: Callable[[bytes], T],
        not_modified: T | None,
    ) -> T:
        """The body decoded, ``not_modified`` for a 304, or the error the answer means."""
        if response.status == 304:
            self._counters.not_modified += 1
            call.tally.not_modified += 1
            if not_modified is None:
                raise APIError(304, message="304 without a conditional request")
            return not_modified
        if response.status >= 400:
            raise self._api_error(call, response)
        try:
            return decode(response.content)
        except msgspec.ValidationError as exc:
            # Whole JSON of the wrong shape (a subclass of DecodeError, so caught first).
            raise self._decode_error(call, exc) from None
        except msgspec.DecodeError as exc:
            raise self._decode_error(call, exc, incomplete=True) from None

    def _retried(self, call: _Call, attempt: int, delay: float, failure: BaseException) -> None:
        self._counters.retries += 1
        call.tally.retries += 1
        self.log.info(
            "retry",
            path=call.shown,
            attempt=attempt,
            delay=round(delay, 3),
            error=type(failure).__name__,
        )

    def _slot_for(self, company_id: int) -> anyio.CapacityLimiter:
        slot = self._company_slots.get(company_id)
        if slot is None:
            slot = anyio.CapacityLimiter(self._limits.per_company)
            self._company_slots[company_id] = slot
        return slot

    async def _once(self, call: _Call, token: str) -> RawResponse:
        auth = base64.b64encode(f"{call.company_id}:{token}".encode()).decode()
        headers = {"authorization": f"Basic {auth}", "accept": "application/json"}
        if call.content is not None:
            headers["content-type"] = "application/json"
        headers.update(call.headers or {})
        # Slot first, then a rate token; both are released before any decoding.
        async with self._slot_for(call.company_id), self._slots:
            await self._acquire()
            return await self._send(call, headers)

    async def _acquire(self) -> None:
        """A rate token; `RequestNotSent` if this context gives up waiting for it (see
        `give_up_unsent`)."""
        await unless_given_up(self.budget, self.budget.acquire)

    async def _send(self, call: _Call, headers: dict[str, str]) -> RawResponse:
        counters = self._counters
        counters.requests += 1
        call.tally.requests += 1
        counters.in_flight += 1
        started = self._clock.monotonic()
        try:
            request = self._http.build_request(
                call.method,
                f"{self._root}/{call.path.lstrip('/')}",
                params=call.params,
                content=call.content,
                headers=headers,
            )
            response = await self._exchange(request)
        except httpx.TransportError as exc:
            self.budget.unanswered()
            raise _transport_error(exc, call) from exc
        except BaseException:  # cancelled: no answer either
            self.budget.unanswered()
            raise
        finally:
            counters.in_flight -= 1
        self._observe(response.headers)
        self.log.debug(
            "request",
            method=call.method,
            path=call.shown,
            company_id=call.company_id,
            status=response.status_code,
            ms=round((self._clock.monotonic() - started) * 1000, 1),
        )
        return RawResponse(response.status_code, response.headers, response.content)

    def _observe(self, headers: httpx.Headers) -> None:
        limit = _header_number(headers, "x-rate-limit-limit")
        remaining = _header_number(headers, "x-rate-limit-remaining")
        self.budget.observe(
            None if limit is None else int(limit),
            None if remaining is None else int(remaining),
            _header_number(headers, "x-rate-limit-reset"),
            self._counters.in_flight,
        )

    def _decode_error(
        self, call: _Call, exc: msgspec.DecodeError, *, incomplete: bool = False
    ) -> DecodeError:
        # msgspec's message names the field: "Expected `int`, got `str` - at `$.values[0].name`".
        return DecodeError(
            str(exc), path=call.shown, company_id=call.company_id, incomplete=incomplete
        )

    def _api_error(self, call: _Call, response: RawResponse) -> APIError:
        return api_error(
            response.status,
            response.content,
            request_id=response.request_id,
            method=call.method,
            path=call.shown,
            company_id=call.company_id or None,
            retry_after=_header_number(response.headers, "x-rate-limit-reset"),
        )

    # -- session calls -----------------------------------------------------------------

    async def _create_session(
        self, method: str, body: dict[str, str] | None, params: dict[str, str] | None
    ) -> tuple[int, bytes]:
        """``/token/session/:create`` without Basic auth; transport failures retried.

        A connect failing before the root ever answered is the root's fault, not the
        network's: `EndpointError`, at once when the failure is certain (refused, no such
        host), else once the retries are spent.
        """
        url = f"{self._root}/token/session/:create"
        call = _Call(method, "/token/session/:create")
        retrying = Retrying(self._retry, self._clock, self._rng, partial(self._retried, call))
        while True:
            last = retrying.last
            await unless_given_up(self.budget, self.budget.acquire)
            self._counters.requests += 1
            try:
                request = self._http.build_request(method, url, json=body, params=params)
                response = await self._exchange(request)
            except httpx.TransportError as exc:
                self.budget.unanswered()
                # Creating a second session is harmless, so any failure may be retried.
                self._check_reachable(exc, last=last)
                failure: TripletexError = _transport_error(exc, call)
            else:
                self._observe(response.headers)
                raw = RawResponse(response.status_code, response.headers, response.content)
                if raw.status < 500 or last:
                    return raw.status, raw.content
                failure = self._api_error(call, raw)
            await retrying.wait(failure)

    def _check_reachable(self, exc: httpx.TransportError, *, last: bool) -> None:
        """Raise `EndpointError` for a failed connect before the root ever answered."""
        if self._answered:
            return
        failure = _connect_failure(exc)
        if failure is None:
            return
        reason, certain = failure
        if certain or last:
            root = shown_url(self._root)
            problem = f"cannot reach {root}: {reason}"
            raise EndpointError(root, problem, kind="unreachable") from None

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send straight to the transport and read the whole body.

        The client only builds requests (URL, query, timeouts). Its `send` would add
        nothing used here (no redirects, cookies, auth or hooks) but an INFO log line per
        URL and a response that refers to itself through its stream: a reference cycle
        that keeps every response body, ~1 MB for a page of 1000, alive until the cyclic
        garbage collector happens to run, which let memory grow past the page budget.
        The session call matters most: the legacy PUT carries the tokens in its query
        string, and an application forwarding httpx's logs would record them.
        """
        response = await self._transport.handle_async_request(request)
        self._answered = True
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _delete_session(self, token: str) -> None:
        call = _Call("DELETE", f"/token/session/{token}", label="/token/session/{token}")
        response = await self._once(call, token)
        self.log.debug("session_deleted", status=response.status)


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    company_id: int = 0
    params: Mapping[str, Any] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    label: str | None = None
    tally: Tally = field(default_factory=Tally)

    @property
    def idempotent(self) -> bool:
        return self.method in _SAFE

    @property
    def shown(self) -> str:
        """The path as logs and errors may show it (never a token)."""
        return self.label or self.path


def _transient(call: _Call, exc: TripletexError) -> bool:
    """Whether sending ``call`` again may well succeed, and is safe."""
    if isinstance(exc, TransportError):
        # Only a failed connect proves a request with effects never reached Tripletex.
        return call.idempotent or exc.before_send
    if not call.idempotent:
        return False
    if isinstance(exc, DecodeError):
        return exc.incomplete
    # 501 Not Implemented is no passing state (Tripletex does not send it; the simulator
    # answers it for what it does not model): asking again gets the same.
    return isinstance(exc, APIError) and exc.status >= 500 and exc.status != 501


def _transport_error(exc: httpx.TransportError, call: _Call) -> TransportError:
    cls = RequestTimeoutError if isinstance(exc, httpx.TimeoutException) else TransportError
    # Only a failed connect proves the request never reached Tripletex.
    return cls(
        f"{type(exc).__name__}: {exc}",
        method=call.method,
        path=call.shown,
        before_send=isinstance(exc, httpx.ConnectError),
    )


#: getaddrinfo's answers that the name does not exist (as opposed to "try again").
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _connect_failure(exc: httpx.TransportError) -> tuple[str, bool] | None:
    """Why a connect failed and whether that is certain; None if it was no connect.

    httpx-aiohttp reports every connect failure (and a connection dropped later) as
    `httpx.ConnectTimeout`, so the reason is read from the chain of causes, down to the
    OSError. Only a refusal and a name that does not exist are certain.
    """
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return None
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, socket.gaierror):
            if cause.errno in _NO_SUCH_HOST:
                return "host name not found", True
            return f"host name lookup failed ({cause.strerror})", False
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return "connection refused", True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return (str(exc) or type(exc).__name__), False
