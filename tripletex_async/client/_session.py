"""Session tokens: one creation shared by every task, renewed before midnight in Oslo.

A session token comes from ``/token/session/:create`` and "expires at midnight on the
specified date". We read that strictly (00:00 Europe/Oslo as ``expirationDate`` begins),
ask for a date a safety margin ahead, and renew ``renew_margin`` before that instant,
never "24 hours after creation".

Every token carries a generation number. A request that gets a 401 invalidates only the
generation it used, so a late 401 from an old token cannot throw away a fresh one; the
refresh itself happens under a lock with a re-check, so N tasks needing a token (or N
401s at once) cause exactly one creation. A cancelled refresher releases the lock and the
next waiter simply tries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import anyio
import msgspec

from ._clock import OSLO, Clock
from ._config import Credentials, shown_url
from ._envelopes import SessionToken, Value
from ._errors import APIError, EndpointError, TokensRefusedError
from ._log import Log, Redactor

__all__ = ["SessionManager", "Token"]

_decode_session = msgspec.json.Decoder(Value[SessionToken]).decode

#: (method, JSON body or None, query params or None) -> (status, body).
CreateCall = Callable[
    [str, "dict[str, str] | None", "dict[str, str] | None"], Awaitable[tuple[int, bytes]]
]


@dataclass(frozen=True, slots=True)
class Token:
    """A session token of one generation."""

    value: str
    generation: int
    expires_at: datetime
    renew_at: datetime

    def __repr__(self) -> str:
        return f"Token(generation={self.generation}, expires_at={self.expires_at.isoformat()})"


class SessionManager:
    """Creates, shares, renews and deletes the session token of one connection."""

    def __init__(
        self,
        credentials: Credentials,
        create: CreateCall,
        *,
        clock: Clock,
        log: Log,
        redactor: Redactor,
        days: int = 2,
        renew_margin: timedelta = timedelta(minutes=15),
        root: str = "",
    ) -> None:
        if days < 1:
            raise ValueError("a session must last at least one day")
        self._credentials = credentials
        self._create_call = create
        self._clock = clock
        self._log = log
        self._redactor = redactor
        self._days = days
        self._margin = renew_margin
        self._root = root
        self._lock = anyio.Lock()
        self._token: Token | None = None
        self._generation = 0
        self._use_put = False
        self.created = 0

    @property
    def current(self) -> Token | None:
        """The token in use, if any."""
        return self._token

    def _fresh(self, token: Token | None) -> bool:
        return token is not None and self._clock.now() < token.renew_at

    async def token(self) -> Token:
        """A valid token, creating one (once, for all waiters) when needed."""
        token = self._token
        if self._fresh(token):
            assert token is not None
            return token
        async with self._lock:
            token = self._token
            if self._fresh(token):
                assert token is not None
                return token
            self._token = await self._create()
            return self._token

    def invalidate(self, generation: int) -> bool:
        """Drop the token if it is still of ``generation``; say whether it was."""
        if self._token is not None and self._token.generation == generation:
            self._token = None
            return True
        return False

    def expiration_date(self) -> tuple[str, datetime]:
        """The ``expirationDate`` to ask for and the instant that token will expire."""
        now = self._clock.now()
        day = now.astimezone(OSLO).date() + timedelta(days=self._days)
        expires = datetime.combine(day, time(0), OSLO)
        # Created late in the evening with days=1, a token would be nearly dead at birth.
        if expires - now < 4 * self._margin:
            day += timedelta(days=1)
            expires = datetime.combine(day, time(0), OSLO)
        return day.isoformat(), expires

    async def _create(self) -> Token:
        date, expires = self.expiration_date()
        args = {
            "consumerToken": self._credentials.consumer_token,
            "employeeToken": self._credentials.employee_token,
            "expirationDate": date,
        }
        status, body = await self._request(args)
        if status >= 400:
            raise self._creation_error(status, body)
        try:
            value = _decode_session(body).value.token
        except msgspec.MsgspecError as exc:
            raise APIError(status, message=f"unreadable session token answer: {exc}") from None
        self._redactor.add(value)
        self._generation += 1
        self.created += 1
        token = Token(value, self._generation, expires, expires - self._margin)
        self._log.info("session_created", generation=token.generation, expiration_date=date)
        return token

    async def _request(self, args: dict[str, str]) -> tuple[int, bytes]:
        if not self._use_put:
            status, body = await self._create_call("POST", args, None)
            if not _post_unsupported(status, body):
                return status, body
            # Older deployments know only the legacy PUT with query parameters.
            self._log.info("session_create_fallback", method="PUT")
            self._use_put = True
        return await self._create_call("PUT", None, args)

    def _creation_error(self, status: int, body: bytes) -> Exception:
        try:
            data: Any = msgspec.json.decode(body) if body else {}
        except msgspec.DecodeError:
            data = {}
        messages = data.get("validationMessages") if isinstance(data, dict) else None
        details = "; ".join(
            f"{m.get('field')}: {m.get('message')}" for m in messages or [] if isinstance(m, dict)
        )
        rid = data.get("requestId") if isinstance(data, dict) else None
        if status == 404:
            # Both methods were tried: nothing at all is there, so the root is wrong.
            root = shown_url(self._root)
            problem = f"{root}/token/session/:create answered 404"
            return EndpointError(root, problem, kind="not_api_root")
        if status == 422:
            return TokensRefusedError(
                f"Tripletex refused the tokens: {self._redactor.text(details)} "
                f"(request id {rid or 'unknown'})"
            )
        return APIError(
            status,
            code=data.get("code") if isinstance(data, dict) else None,
            message=self._redactor.text(str(data.get("message"))) if data else None,
            request_id=rid,
            method="POST",
            path="/token/session/:create",
        )

    async def close(self, delete: Callable[[str], Awaitable[None]]) -> None:
        """Delete the session on the server, if there is one."""
        token, self._token = self._token, None
        if token is not None:
            await delete(token.value)


def _post_unsupported(status: int, body: bytes) -> bool:
    if status in (404, 405):
        return True
    # Tripletex answers an unknown method with 400/4000 "HTTP 405 Method Not Allowed".
    return status == 400 and b"405" in body
