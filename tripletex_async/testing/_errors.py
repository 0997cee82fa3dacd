"""Tripletex error envelopes, shaped as real responses (the spec's ``ApiError`` schema).

One answer is the simulator's own: `not_simulated`, 501 with code 0, for a path and
method that Tripletex's spec has and the simulator does not serve. Tripletex never
answers 501 (its documented statuses are 400, 401, 403, 404, 409, 422, 429 and 500, FACTS
§5.2) and has no code 0, so a client cannot take it for a real "not found" (404/6000) or
"no such method" (400/4000); the message names the method and the spec path.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from ._http import FakeResponse

__all__ = ["NOT_SIMULATED", "ApiFailure", "error_response"]

LINK = "https://tripletex.no/v2-docs/"


class ApiFailure(Exception):
    """Raised inside the simulator to answer with a Tripletex error envelope."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        developer_message: str | None = None,
        validation: list[tuple[str, str]] | None = None,
        path: str | None = None,
        link: str = LINK,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.developer_message = developer_message
        self.validation = validation
        self.path = path
        self.link = link

    def body(self, request_id: str) -> dict[str, Any]:
        """The envelope, keys in the order real bodies use."""
        messages = None
        if self.validation is not None:
            messages = [
                {"field": f, "message": m, "path": self.path, "rootId": None}
                for f, m in self.validation
            ]
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "link": self.link,
            "developerMessage": self.developer_message,
            "validationMessages": messages,
            "requestId": request_id,
        }


def error_response(failure: ApiFailure, request_id: str | None = None) -> FakeResponse:
    """A JSON error response for ``failure``."""
    rid = request_id or str(uuid.uuid4())
    return FakeResponse(
        failure.status,
        msgspec.json.encode(failure.body(rid)),
        [("content-type", "application/json"), ("x-tlx-request-id", rid)],
    )


def unauthorized(developer_message: str) -> ApiFailure:
    """401/3000 as Tripletex sends it."""
    return ApiFailure(401, 3000, "Unauthorized", developer_message=developer_message)


def forbidden(message: str = "You do not have permission to access this feature.") -> ApiFailure:
    """403/9000 as Tripletex sends it."""
    return ApiFailure(403, 9000, message)


def not_found() -> ApiFailure:
    """404/6000 as Tripletex sends it."""
    return ApiFailure(404, 6000, "Object not found")


def expected_number(value: str) -> ApiFailure:
    """422/21000: a number path parameter holding ``value`` (``GET /company/whoAmI``)."""
    return ApiFailure(
        422, 21000, f'Wrong data format! Expected number. For input string: "{value}"'
    )


#: Status and code of `not_simulated`; neither is one Tripletex answers with.
NOT_SIMULATED = (501, 0)


def not_simulated(method: str, template: str) -> ApiFailure:
    """The simulator's 501/0 for a spec path and method it does not simulate."""
    return ApiFailure(
        *NOT_SIMULATED,
        f"not simulated: {method} /{template}",
        developer_message="The path and method are in Tripletex's API spec, but the "
        "simulator (tripletex_async.testing) does not serve them; Tripletex never answers 501.",
    )


def method_not_allowed() -> ApiFailure:
    """Tripletex answers an unknown method on a known path with 400/4000, not 405."""
    return ApiFailure(400, 4000, "HTTP 405 Method Not Allowed")


def validation_failed(messages: list[tuple[str, str]], code: int = 15000) -> ApiFailure:
    """422 with validation messages (15000 for params, 18000 for bodies)."""
    text = "Validation failed" if code == 15000 else "Validering feilet."
    return ApiFailure(422, code, text, validation=messages)
