"""Which companies a sync takes, checked against what the token reaches.

Tripletex's conventions: Basic username 0 is the token owner's company, and any other
username is a client company of an accountant's token, listed by
``/company/>withLoginAccess``. An accountant's ("company owned") token may ask its own
company for nothing but that list and whoAmI, so its own company is not a data company.

The companies asked for are checked here, after whoAmI and before any sink is opened: a
wrong choice is one `CompanySelectionError` saying what to choose instead, not one 403
per company and resource, and it leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ..client._client import CompanyView
from ..client._envelopes import ClientCompany
from ..client._errors import APIError, CompanySelectionError, ConfigurationError

__all__ = ["OWN_COMPANY", "Wanted", "resolve_targets"]

#: ``companies=`` of `sync`: the owner's company (None), every client ("all"), or ids.
Wanted = Iterable[int] | Literal["all"] | None
#: The name shown for the token owner's company, which withLoginAccess may not list.
OWN_COMPANY = "(the token's own company)"


async def resolve_targets(owner: CompanyView, wanted: Wanted, own: int) -> dict[int, str]:
    """Id -> name (``""`` where unknown) of the companies to sync, in the order asked.

    ``owner`` acts for the token owner (username 0), whose company whoAmI said is
    ``own``; an id 0 in ``wanted`` means that company too. Raises
    `CompanySelectionError` for a choice that cannot work, `ConfigurationError` for ids
    that are not whole numbers or a company list Tripletex refuses to give.
    """
    if wanted is None:
        return await _default(owner, own)
    if wanted == "all":
        clients = await _clients(owner)
        if not clients:
            raise CompanySelectionError(
                "the token reaches no client companies", kind="none_reached"
            )
        return {c.id: _name(c) for c in clients}
    ids = _ids(wanted, own)
    if ids == [own]:
        if _accountant(await _listed(owner), own):
            raise _accountant_own(own)
        return {own: OWN_COMPANY}
    clients = await _clients(owner)
    if own in ids and _accountant(clients, own):
        raise _accountant_own(own)
    reached = {own: OWN_COMPANY} | {c.id: _name(c) for c in clients}
    unknown = [i for i in ids if i not in reached]
    if unknown:
        raise CompanySelectionError(
            _unknown(unknown, own, len(clients)), kind="unknown", unknown=unknown
        )
    return {i: reached[i] for i in ids}


async def _default(owner: CompanyView, own: int) -> dict[int, str]:
    clients = await _listed(owner)
    if _accountant(clients, own):
        # Its own company has no data, the clients are many, and syncing all of them
        # unasked could be far more than meant.
        raise CompanySelectionError(
            f"this token reaches {len(clients)} client companies", kind="choose"
        )
    names = {c.id: _name(c) for c in clients}
    return {own: names.get(own) or OWN_COMPANY}


def _accountant(clients: list[ClientCompany], own: int) -> bool:
    """Whether the token is an accountant's ("company owned"): it lists client
    companies and not its own, which it may ask for nothing but whoAmI and that list."""
    return bool(clients) and all(c.id != own for c in clients)


def _accountant_own(own: int) -> CompanySelectionError:
    return CompanySelectionError(
        f"company {own} is this accountant token's own company, which lets it read no data",
        kind="accountant_own",
    )


async def _listed(owner: CompanyView) -> list[ClientCompany]:
    """The companies the token lists; none when it may not list them (then it reaches
    no other than its own)."""
    try:
        return await owner.companies()
    except APIError as exc:
        if exc.status >= 500:
            raise
        return []


async def _clients(owner: CompanyView) -> list[ClientCompany]:
    try:
        return await owner.companies()
    except APIError as exc:
        if exc.status >= 500:
            raise
        raise ConfigurationError(f"could not list the token's client companies: {exc}") from exc


def _ids(wanted: Iterable[int], own: int) -> list[int]:
    ids = list(wanted)
    if not ids or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in ids):
        raise ConfigurationError(
            f"company ids must be whole numbers, 0 for the token's own company: {ids!r}"
        )
    return list(dict.fromkeys(own if i == 0 else i for i in ids))


def _unknown(unknown: list[int], own: int, clients: int) -> str:
    listed = ", ".join(str(i) for i in unknown)
    which = f"company {listed}" if len(unknown) == 1 else f"companies {listed}"
    return (
        f"this token does not reach {which} (it reaches its own company, {own}, and "
        f"{clients} client {'company' if clients == 1 else 'companies'})"
    )


def _name(client: ClientCompany) -> str:
    return client.name or client.displayName or ""
