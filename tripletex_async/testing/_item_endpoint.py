"""`ItemEndpoint`: one record at ``/{path}/{id}`` (GET, PUT, DELETE) and ``POST /{path}``.

A body names only fields its model has (else 422/16000), a new record names no ``id``
or ``version`` (422/18000), and `_write_checks` holds each write to Tripletex's rules
before the store applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from . import _fields, _write_checks
from ._errors import ApiFailure, method_not_allowed, not_found
from ._http import FakeRequest, FakeResponse, json_response
from ._resources import ResourceInfo
from ._schema import ModelSchema
from ._store import Store

__all__ = ["ItemEndpoint", "decode_body"]

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


class ItemEndpoint:
    """Reads and writes of single records of a stored resource."""

    def __init__(self, store: Store, models: Mapping[str, ModelSchema]) -> None:
        self._store = store
        self._models = models

    def item(
        self, request: FakeRequest, info: ResourceInfo, company: int, record_id: int
    ) -> FakeResponse:
        """``GET``, ``PUT`` or ``DELETE`` of ``/{info.path}/{record_id}``."""
        if request.method == "GET":
            record = self._store.collection(company, info.path).by_id.get(record_id)
            if record is None:
                raise not_found()
            return self.value(request, info, company, record, 200)
        if request.method == "PUT":
            data = self._writable(request, info)
            if record_id not in self._store.collection(company, info.path).by_id:
                raise not_found()
            _write_checks.check(info.path, data, self._store.lookup(company), creating=False)
            record = self._store.update(company, info.path, record_id, data)
            return self.value(request, info, company, record, 200)
        if request.method == "DELETE":
            self._store.delete(company, info.path, record_id)
            return FakeResponse(204)
        raise method_not_allowed()

    def create(self, request: FakeRequest, info: ResourceInfo, company: int) -> FakeResponse:
        """``POST /{info.path}``: 201 with the new record."""
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
        return self.value(request, info, company, record, 201)

    def value(
        self,
        request: FakeRequest,
        info: ResourceInfo,
        company: int,
        record: dict[str, Any],
        status: int,
    ) -> FakeResponse:
        """``{"value": record}``, as the request's ``fields`` asks."""
        model = self._models[info.model]
        selection = _fields.select(request.params().get("fields", ""), model, self._models)
        value = _fields.project(
            record, selection, model, self._models, self._store.resolver(company)
        )
        return json_response(status, {"value": value})

    def _writable(self, request: FakeRequest, info: ResourceInfo) -> dict[str, Any]:
        data = decode_body(request)
        model = self._models[info.model]
        unknown = [(k, "Feltet eksisterer ikke i objektet.") for k in data if not model.field(k)]
        if unknown:
            raise ApiFailure(422, 16000, "Request mapping failed", validation=unknown)
        return data


def decode_body(request: FakeRequest) -> dict[str, Any]:
    """The request's JSON object (``{}`` for none), or Tripletex's 422/22000."""
    try:
        return _decode_object(request.body or b"{}")
    except msgspec.DecodeError as exc:
        raise ApiFailure(422, 22000, f"Invalid JSON: {exc}") from None
