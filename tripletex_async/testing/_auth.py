"""Tokens, sessions and Basic authentication of the simulator (the API docs' "Authentication")."""

from __future__ import annotations

import base64
import binascii
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import msgspec

from ._errors import ApiFailure, forbidden, unauthorized, validation_failed

__all__ = ["Credentials", "Session", "Sessions"]

OSLO = ZoneInfo("Europe/Oslo")

#: The only calls an accountant's token may make with Basic username 0 (developer docs,
#: "Authentication and tokens").
ACCOUNTANT_OWN_PATHS = frozenset({"company/>withLoginAccess", "token/session/>whoAmI"})
ACCOUNTANT_ONLY_MESSAGE = (
    "Company owned users(employeeToken) can only access /token/session/>whoAmI & "
    "/company/>withLoginAccess in their own company."
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Tokens that the simulator accepts, for handing to a client under test."""

    consumer_token: str
    employee_token: str
    #: The company that owns the employee token (Basic username 0 means this one).
    company_id: int
    #: Whether the token is an accounting office's, reaching the client companies.
    accountant: bool
    #: The employee the token belongs to (whoAmI's ``employeeId``). Tripletex's employee
    #: ids are unique, so the tokens of two accountants of one office tell them apart.
    employee_id: int = 1

    def __repr__(self) -> str:
        # Even simulator tokens stay out of reprs, so test logs model the real thing.
        return f"Credentials(company_id={self.company_id}, accountant={self.accountant})"


@dataclass(slots=True)
class Session:
    """A session token and what it was made from."""

    token: str = field(repr=False)
    consumer_token: str = field(repr=False)
    employee: Credentials
    expires_at: datetime
    alive: bool = True
    id: int = 0
    #: The short, non-secret name of its budget (`Sessions.budget_label`).
    budget: str = ""

    @property
    def budget_key(self) -> tuple[str, str]:
        """Rate limits are kept per employee per API consumer."""
        return (self.consumer_token, self.employee.employee_token)


@dataclass(slots=True)
class Sessions:
    """Known tokens and live sessions."""

    environment: str
    clock: Callable[[], datetime]
    rng: random.Random
    #: Consumer token -> its number, 1 for the first.
    consumer_tokens: dict[str, int] = field(default_factory=dict)
    employees: dict[str, Credentials] = field(default_factory=dict)
    #: Employee token -> ``accountant`` or ``company-ID``, then ``#2``, ``#3``, ... for
    #: further tokens of the same kind and company.
    labels: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    created: int = 0
    _label_uses: Counter[str] = field(default_factory=Counter)

    def _token(self, token_id: int, prefix: str = "") -> str:
        raw = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        body = msgspec.json.encode({"tokenId": token_id, "token": raw})
        env = "test-" if self.environment == "test" else ""
        return prefix + env + base64.b64encode(body).decode()

    def new_consumer_token(self) -> str:
        """Register and return a consumer token."""
        token = self._token(445)
        self.consumer_tokens[token] = len(self.consumer_tokens) + 1
        return token

    def new_employee(self, consumer: str, company_id: int, *, accountant: bool) -> Credentials:
        """Register an employee token owned by ``company_id``."""
        token = self._token(1000 + len(self.employees))
        creds = Credentials(
            consumer, token, company_id, accountant, employee_id=1 + len(self.employees)
        )
        self.employees[token] = creds
        base = "accountant" if accountant else f"company-{company_id}"
        self._label_uses[base] += 1
        uses = self._label_uses[base]
        self.labels[token] = base if uses == 1 else f"{base}#{uses}"
        return creds

    def budget_label(self, consumer: str, employee: str) -> str:
        """A short name of the budget (consumer token, employee token) that never shows a
        token: the employee token's label, plus ``/cN`` for the N-th consumer token if
        N > 1. Statistics and the tokens file key budgets by it."""
        number = self.consumer_tokens[consumer]
        label = self.labels[employee]
        return label if number == 1 else f"{label}/c{number}"

    def create(self, consumer: str | None, employee: str | None, expiration: str | None) -> Session:
        """``/token/session/:create``: validate and open a session."""
        if not consumer or consumer not in self.consumer_tokens:
            raise _invalid_arg("consumerToken", "The consumer token is invalid or does not exist.")
        creds = self.employees.get(employee or "")
        if creds is None:
            raise _invalid_arg("employeeToken", "The employee token is invalid or does not exist.")
        expires = self._expiry(expiration)
        self.created += 1
        session = Session(
            self._token(self.created),
            consumer,
            creds,
            expires,
            id=self.created,
            budget=self.budget_label(consumer, creds.employee_token),
        )
        self.sessions[session.token] = session
        return session

    def _expiry(self, expiration: str | None) -> datetime:
        """When a session asked to expire on ``expiration`` dies.

        As the field behaves rather than as the docs read (FACTS §1.2 quotes "must be
        later than today"):

        - An ISO 8601 date-time counts by its date part (``2026-12-07T19:43:37``):
          Tripletex "only support[s] ISO 8601" (a maintainer, tripletex-api2#36).
        - A date that is not in the future is minted all the same, and the session is
          dead on arrival: its first call is 401. Seen live on the test environment
          (NangoHQ/nango#6298: today gives 201, then 401 "Could not log in").
        - No date at all is 422 "Kan ikke være null." (the same issue).

        "The token will expire at midnight on the specified date": the strict reading
        (00:00 Oslo as the date begins), which is also why today is born expired.
        """
        if not expiration:
            raise _invalid_arg("expirationDate", "Kan ikke være null.")
        try:
            day = _iso_day(expiration)
        except ValueError:
            raise _invalid_arg(
                "expirationDate", "Ugyldig dato. Forventet format: yyyy-MM-dd."
            ) from None
        return datetime.combine(day, time(0), OSLO)

    def authenticate(self, authorization: str | None, path: str) -> tuple[Session, int]:
        """Check Basic auth; return the session and the company the call acts for."""
        username, password = _basic(authorization)
        if username not in ("", "0") and not username.isdigit():
            raise unauthorized(
                f"Authorization header has invalid username: {username}. Should be a customer "
                "id or 0 for default. The expected format is "
                "base64encoded(<<companyId>>:<<sessionToken>>)"
            )
        session = self.sessions.get(password)
        if session is None or not session.alive or self.clock() >= session.expires_at:
            raise unauthorized("The session token is invalid or has expired.")
        owner = session.employee
        company = int(username or 0)
        if company in (0, owner.company_id):
            own = path in ACCOUNTANT_OWN_PATHS or path.startswith("token/session/")
            if owner.accountant and not own:
                raise forbidden(ACCOUNTANT_ONLY_MESSAGE)
            return session, owner.company_id
        if not owner.accountant:
            raise forbidden()
        return session, company

    def delete(self, token: str) -> bool:
        """End a session; False if it did not exist."""
        return self.sessions.pop(token, None) is not None


def _iso_day(text: str) -> date:
    """The date of an ISO 8601 date or date-time (its date part as written)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text).date()


def _invalid_arg(name: str, message: str) -> ApiFailure:
    failure = validation_failed([(f"arg:{name}", message)], code=18000)
    failure.path = f"arg:{name}"
    failure.link = "https://www.tripletex.no/tripletex-api-2-0/"
    return failure


def _basic(authorization: str | None) -> tuple[str, str]:
    if not authorization or not authorization.lower().startswith("basic "):
        raise unauthorized("No Basic authorization header was given.")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("The Basic authorization header is not valid base64.") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise unauthorized("The Basic authorization header has no password.")
    return username, password
