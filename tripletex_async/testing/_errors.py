"""Tripletex error envelopes, shaped as real responses (the spec's ``ApiError`` schema)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from ._http import FakeResponse

__all__ = ["ApiFailure", "error_response"]

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


def method_not_allowed() -> ApiFailure:
    """Tripletex answers an unknown method on a known path with 400/4000, not 405."""
    return ApiFailure(400, 4000, "HTTP 405 Method Not Allowed")


def validation_failed(messages: list[tuple[str, str]], code: int = 15000) -> ApiFailure:
    """422 with validation messages (15000 for params, 18000 for bodies)."""
    text = "Validation failed" if code == 15000 else "Validering feilet."
    return ApiFailure(422, code, text, validation=messages)
