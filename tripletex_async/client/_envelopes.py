"""Response envelopes and the few API objects the client itself needs."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from ._errors import ConfigurationError

__all__ = ["ClientCompany", "ListPage", "LoggedInUserInfo", "Ref", "Value"]

T = TypeVar("T")


class ListPage(msgspec.Struct, Generic[T]):
    """A list envelope. ``fullResultSize`` is deprecated and inexact: never page on it."""

    values: list[T]
    fullResultSize: int | None = None  # noqa: N815 - Tripletex's name
    from_: int = msgspec.field(default=0, name="from")
    count: int = 0
    versionDigest: str | None = None  # noqa: N815


class Value(msgspec.Struct, Generic[T]):
    """A ``{"value": ...}`` envelope."""

    value: T


class Ref(msgspec.Struct, frozen=True):
    """An unexpanded reference: ``{"id": 1, "url": "tripletex.no/v2/customer/1"}``."""

    id: int
    url: str | None = None


class ClientCompany(msgspec.Struct, frozen=True):
    """A client company reachable by an accountant's token (``/company/>withLoginAccess``)."""

    id: int
    name: str | None = None
    displayName: str | None = None  # noqa: N815
    organizationNumber: str | None = None  # noqa: N815


class LoggedInUserInfo(msgspec.Struct, frozen=True):
    """``/token/session/>whoAmI``."""

    employeeId: int | None = None  # noqa: N815
    companyId: int | None = None  # noqa: N815
    actualEmployeeId: int | None = None  # noqa: N815
    employee: Ref | None = None
    company: Ref | None = None
    language: str | None = None

    def owner_company(self) -> int:
        """The company the token belongs to; `ConfigurationError` if Tripletex did not say
        (every sync and subscription is keyed by it)."""
        if self.companyId is None:
            raise ConfigurationError("whoAmI did not say which company the token belongs to")
        return self.companyId


class SessionToken(msgspec.Struct):
    """The part of ``SessionToken`` we read."""

    token: str
    expirationDate: str | None = None  # noqa: N815
    id: int | None = None

    def __repr__(self) -> str:
        return f"SessionToken(id={self.id}, expirationDate={self.expirationDate})"
