"""`SessionEndpoints`: who a caller is: ``token/session/:create``, ``>whoAmI`` and
``company/>withLoginAccess`` (the clients an accountant's token reaches)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from . import _fields
from ._auth import Credentials, Session, Sessions
from ._config import FakeConfig
from ._errors import method_not_allowed
from ._http import FakeRequest, FakeResponse, json_response
from ._item_endpoint import decode_body
from ._limits import FixedWindows
from ._list_endpoint import JSON_HEADER
from ._lists import NO_DIGEST, envelope, full_result_size, parse_list_query
from ._resources import ResourceInfo
from ._schema import ModelSchema
from ._store import digest

__all__ = ["SessionEndpoints"]


class SessionEndpoints:
    """The calls about the session itself rather than a company's data.

    ``config`` and ``clock`` are read per call, so the app's can be swapped while it serves.
    """

    def __init__(
        self,
        sessions: Sessions,
        windows: FixedWindows[tuple[str, str]] | None,
        models: Mapping[str, ModelSchema],
        config: Callable[[], FakeConfig],
        clock: Callable[[], datetime],
        clients: Callable[[Credentials], list[dict[str, Any]]],
    ) -> None:
        self._sessions = sessions
        self._windows = windows
        self._models = models
        self._config = config
        self._clock = clock
        self._clients = clients

    def create(self, request: FakeRequest) -> FakeResponse:
        """``token/session/:create``: a new session token, counted in its rate window."""
        if request.method == "POST" and self._config().post_session_create:
            # The query works too (Nango's client sends `curl -G -X POST`, NangoHQ/nango
            # #6298, answered 201 by the test environment); the body wins over it.
            args = {**request.params(), **decode_body(request)}
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
        host = self._config().host
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

    def who_am_i(self, request: FakeRequest, session: Session) -> FakeResponse:
        """``token/session/>whoAmI``: the employee and the company owning the token."""
        host = self._config().host
        owner, employee = session.employee.company_id, session.employee.employee_id
        value = {
            "employeeId": employee,
            "actualEmployeeId": employee,
            "employee": {"id": employee, "url": f"{host}/v2/employee/{employee}"},
            "companyId": owner,
            "company": {"id": owner, "url": f"{host}/v2/company/{owner}"},
            "language": "NO",
            "loggedInWithConnect": False,
            "employeeIsProxy": False,
        }
        model = self._models["LoggedInUserInfo"]
        selection = _fields.select(request.params().get("fields", ""), model, self._models)
        projected = _fields.project(value, selection, model, self._models, lambda m, i: None)
        return json_response(200, {"value": projected})

    def with_login_access(self, request: FakeRequest, session: Session) -> FakeResponse:
        """``company/>withLoginAccess``: the clients the token reaches, none for a
        company's token."""
        info = ResourceInfo("company/>withLoginAccess", "Client")
        query = parse_list_query(info, request.params(), self._config(), now=self._clock())
        model = self._models["Client"]
        selection = _fields.select(query.fields, model, self._models)
        clients = self._clients(session.employee)
        page = clients[query.start : query.start + query.count]
        values = [
            msgspec.json.encode(
                _fields.project(c, selection, model, self._models, lambda m, i: None)
            )
            for c in page
        ]
        inm = request.headers.get("if-none-match")
        body = envelope(
            full_size=full_result_size(len(clients), self._config().full_result_size),
            start=query.start,
            values=values,
            digest=digest(clients, query.fields) if inm else NO_DIGEST,
        )
        rows = len(page) * _fields.field_share(selection, model)
        return FakeResponse(200, body, [JSON_HEADER], rows=rows)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
