"""One error tree, rooted at `TripletexError`::

    TripletexError
    ├── ConfigurationError          bad settings, found before anything is sent or stored
    │   ├── EndpointError           the base URL: unreachable, or not the API root
    │   ├── CompanySelectionError   companies the token does not reach, or no choice made
    │   ├── TokensRefusedError      no session for these tokens (wrong, expired, revoked)
    │   └── MissingSecretError      (tripletex_async.workers) a token reference unresolved
    ├── LeaseError                  another run and this one on the same companies
    │   ├── LeaseHeldError          a live run holds the lease: this one did not start
    │   └── LeaseLostError          another run took it over: nothing more was written
    ├── ClosedError                 a client used after it was closed
    ├── TransportError              no complete HTTP answer
    │   └── RequestTimeoutError
    ├── DecodeError                 an answer that does not fit its type
    ├── APIError                    Tripletex answered with an error status
    │   ├── AuthenticationError     401
    │   ├── PermissionDeniedError   403
    │   ├── NotFoundError           404
    │   ├── ConflictError           409
    │   │   └── RevisionError       409 on a stale ``version``
    │   ├── ValidationError         422
    │   │   └── ResultSetTooLargeError   more than 10,000 rows matched
    │   ├── RateLimitedError        429
    │   └── ServerError             5xx
    ├── SinkError                   (tripletex_async.sinks) a sink could not do its job
    └── QueueError                  (tripletex_async.webhooks) the webhook queue file

API errors carry Tripletex's envelope (status, code, message, developerMessage,
validationMessages, requestId) and the method and path of the call, never its query
string or headers, so no token can reach an error message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

__all__ = [
    "APIError",
    "AuthenticationError",
    "CompanyProblem",
    "CompanySelectionError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "EndpointError",
    "LeaseError",
    "LeaseHeldError",
    "LeaseLostError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResultSetTooLargeError",
    "RevisionError",
    "ServerError",
    "TokensRefusedError",
    "TransportError",
    "TripletexError",
    "ValidationError",
    "ValidationMessage",
]


class TripletexError(Exception):
    """Root of every error this library raises."""


class ConfigurationError(TripletexError):
    """Bad or missing configuration: a token, an environment, a test/prod mismatch."""


class TokensRefusedError(ConfigurationError):
    """Tripletex refused to create a session for the consumer and employee token (422):
    one is wrong, expired or revoked. Retrying will not help; new tokens will."""


class EndpointError(ConfigurationError):
    """The API root is wrong: nothing answers there, or it is not Tripletex's API root.

    Raised only where that is certain: the first connect of a connection failing, or the
    session call answering 404. ``problem`` is what happened, without the advice
    ``str()`` adds (a command line names its own flags instead).
    """

    def __init__(
        self, root: str, problem: str, *, kind: Literal["unreachable", "not_api_root"]
    ) -> None:
        advice = {
            "unreachable": "; check base_url= or env= (TRIPLETEX_BASE_URL or TRIPLETEX_ENV)",
            "not_api_root": ": is the base URL the API root, ending in /v2?",
        }[kind]
        super().__init__(problem + advice)
        #: The root as shown in ``problem`` (a password in it replaced).
        self.root = root
        self.problem = problem
        self.kind = kind


#: What is wrong with a choice of companies: none was made where one is needed, ids the
#: token does not reach, or "all" of a token that reaches no client company.
CompanyProblem = Literal["choose", "unknown", "none_reached", "accountant_own"]

_SELECTION_ADVICE: dict[CompanyProblem, str] = {
    "choose": "pass companies='all' or companies=[id, ...]",
    "unknown": "TripletexClient.companies() lists the companies it reaches",
    "none_reached": "companies=None syncs the token's own company",
    "accountant_own": "choose client companies: companies='all' or companies=[id, ...]",
}


class CompanySelectionError(ConfigurationError):
    """The companies asked for do not fit the token. ``problem`` says what is wrong,
    without the advice ``str()`` adds (a command line names its own flags instead);
    ``unknown`` holds the ids the token does not reach."""

    def __init__(self, problem: str, *, kind: CompanyProblem, unknown: Sequence[int] = ()) -> None:
        super().__init__(f"{problem}; {_SELECTION_ADVICE[kind]}")
        self.problem = problem
        self.kind = kind
        self.unknown = tuple(unknown)


class LeaseError(TripletexError):
    """Another run holds, or took over, the lease on what this run would write."""


class LeaseHeldError(LeaseError):
    """A live run holds the lease: this run did not start (the message names the holder)."""


class LeaseLostError(LeaseError):
    """Another run took the lease over (this one was frozen or too slow to renew it):
    nothing more was written."""


class ClosedError(TripletexError):
    """The client was used after it was closed."""


class TransportError(TripletexError):
    """The request did not get a complete HTTP response (connection, protocol)."""

    def __init__(
        self, message: str, *, method: str = "", path: str = "", before_send: bool = False
    ) -> None:
        super().__init__(f"{message} ({method} {path})" if method else message)
        self.method = method
        self.path = path
        #: True only when the request certainly never reached the server (a failed connect).
        self.before_send = before_send


class RequestTimeoutError(TransportError):
    """The request timed out."""


class DecodeError(TripletexError):
    """A response body could not be decoded into the expected type.

    ``incomplete``: the body was not whole JSON (cut short or damaged on the way), which
    another request may well not meet, so it is retried like a 5xx; otherwise the JSON
    does not fit the type, and asking again gets the same answer.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        company_id: int | None = None,
        incomplete: bool = False,
    ) -> None:
        where = f"{path}" + (f" (company {company_id})" if company_id is not None else "")
        super().__init__(f"could not decode the answer of {where}: {message}")
        self.path = path
        self.company_id = company_id
        self.incomplete = incomplete


class ValidationMessage(msgspec.Struct, frozen=True):
    """One entry of ``validationMessages``."""

    field: str | None = None
    message: str | None = None
    path: str | None = None
    rootId: int | None = None  # noqa: N815 - Tripletex's name


class _ErrorBody(msgspec.Struct):
    status: int | None = None
    code: int | None = None
    message: str | None = None
    developerMessage: str | None = None  # noqa: N815
    validationMessages: list[ValidationMessage] | None = None  # noqa: N815
    requestId: str | None = None  # noqa: N815


class APIError(TripletexError):
    """Tripletex answered with an error status."""

    def __init__(
        self,
        status: int,
        *,
        code: int | None = None,
        message: str | None = None,
        developer_message: str | None = None,
        validation_messages: Sequence[ValidationMessage] = (),
        request_id: str | None = None,
        method: str = "",
        path: str = "",
        company_id: int | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.developer_message = developer_message
        self.validation_messages = tuple(validation_messages)
        self.request_id = request_id
        self.method = method
        self.path = path
        self.company_id = company_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.status}"]
        if self.code:
            parts.append(f"code {self.code}")
        text = " ".join(parts) + f": {self.message or 'no message'}"
        if self.validation_messages:
            details = "; ".join(f"{v.field}: {v.message}" for v in self.validation_messages)
            text += f" [{details}]"
        if self.method:
            text += f" on {self.method} {self.path}"
        if self.company_id is not None:
            text += f" (company {self.company_id})"
        return text + f" (request id {self.request_id or 'unknown'})"


class AuthenticationError(APIError):
    """401: the session token was refused."""


class PermissionDeniedError(APIError):
    """403: the token may not do this (a missing module or entitlement)."""


class NotFoundError(APIError):
    """404: no such object."""


class ConflictError(APIError):
    """409: the object exists, is locked or is a duplicate."""


class RevisionError(ConflictError):
    """409/8000: the ``version`` sent was stale."""


class ValidationError(APIError):
    """422: the request was understood but refused."""


class ResultSetTooLargeError(ValidationError):
    """422/23000: the query matches more than 10,000 rows; narrow it."""


class RateLimitedError(APIError):
    """429: the rate budget is exhausted; ``retry_after`` is the known reset, if any."""

    def __init__(self, status: int, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(status, **kwargs)  # type: ignore[arg-type]


class ServerError(APIError):
    """5xx: Tripletex (or something in front of it) failed."""


_body_decoder = msgspec.json.Decoder(_ErrorBody)


def api_error(
    status: int,
    content: bytes,
    *,
    request_id: str | None,
    method: str,
    path: str,
    company_id: int | None = None,
    retry_after: float | None = None,
) -> APIError:
    """The specific `APIError` for an error response."""
    try:
        body = _body_decoder.decode(content) if content else _ErrorBody()
    except (msgspec.DecodeError, msgspec.ValidationError):
        # A load balancer's HTML 503, say: keep the status, invent nothing.
        body = _ErrorBody()
    kwargs = {
        "code": body.code,
        "message": body.message,
        "developer_message": body.developerMessage,
        "validation_messages": body.validationMessages or (),
        "request_id": body.requestId or request_id,
        "method": method,
        "path": path,
        "company_id": company_id,
    }
    if status == 429:
        return RateLimitedError(status, retry_after=retry_after, **kwargs)
    cls = _error_class(status, body.code)
    return cls(status, **kwargs)  # type: ignore[arg-type]


def _error_class(status: int, code: int | None) -> type[APIError]:
    if status == 422 and code == 23000:
        return ResultSetTooLargeError
    if status == 409 and code == 8000:
        return RevisionError
    if status >= 500:
        return ServerError
    return {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        422: ValidationError,
    }.get(status, APIError)
