"""Single objects the simulator serves by id or by question, beyond the lists.

- ``GET /{path}/{id}`` of every list whose records have an id: the records' ``url`` points
  there (`ResourceInfo.item_path`), so a reference can always be followed. Where two
  lists share an item path (``ledger/voucher`` and ``ledger/voucher/>nonPosted``) either
  one's records are found.
- Lookups real clients make before any list (``GET /company/{id}``,
  ``/ledger/postingRules``, ``/bank/reconciliation/>last``): values computed from the
  same records the lists serve, so the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ._resources import RESOURCES, ResourceInfo

__all__ = ["ITEM_LISTS", "last_reconciliation", "posting_rules"]

Record = dict[str, Any]


def _item_lists() -> Mapping[str, tuple[ResourceInfo, ...]]:
    out: dict[str, list[ResourceInfo]] = {}
    for info in RESOURCES.values():
        if info.kind != "snapshot" and info.key is None:
            out.setdefault(info.item_path, []).append(info)
    return MappingProxyType({path: tuple(infos) for path, infos in out.items()})


#: Item path -> the collections whose records live there, hand-built ones first.
ITEM_LISTS: Mapping[str, tuple[ResourceInfo, ...]] = _item_lists()

#: Field of ``PostingRules`` -> number of the account Tripletex's default rules name,
#: where the chart of accounts (`_norsk.ACCOUNTS`) has it; the others stay None.
_RULE_ACCOUNTS = {
    "accountReceivableCustomersId": 1500,
    "accountDebtVendorsId": 2400,
    "accountProductSaleNoVat": 3100,
}
#: Fields of ``PostingRules`` in the spec's order after ``url``: the account references
#: and the settings, which are off.
_RULE_FIELDS = (
    "accountReceivableCustomersId",
    "accountDebtVendorsId",
    "accountDebtEmployeesAndOwnersId",
    "accountRoundDiffId",
    "vatPerDepartment",
    "multipleIndustries",
    "defaultBusinessActivityTypeId",
    "accountSubscriptionAccrual",
    "accountProductSaleNoVat",
)
_RULE_SETTINGS = {"vatPerDepartment": False, "multipleIndustries": False}


def posting_rules(company_id: int, host: str, accounts: Iterable[Record]) -> Record:
    """``PostingRules`` of a company whose chart of accounts is ``accounts``: references
    to the first account with each rule's number (the company's own, as lists show)."""
    by_number: dict[int, Record] = {}
    for account in accounts:
        by_number.setdefault(int(account.get("number") or 0), account)
    record: Record = {
        "id": company_id,
        "version": 0,
        "changes": [],
        "url": f"{host}/v2/ledger/postingRules",
    }
    for name in _RULE_FIELDS:
        number = _RULE_ACCOUNTS.get(name)
        found = by_number.get(number) if number is not None else None
        record[name] = _RULE_SETTINGS.get(name, _ref(found))
    return record


def _ref(record: Record | None) -> Record | None:
    return None if record is None else {"id": record["id"], "url": record["url"]}


def last_reconciliation(
    reconciliations: Iterable[Record], account_id: int, *, closed: bool
) -> Record | None:
    """The last created (highest id) reconciliation of an account; of the closed ones
    only for ``>lastClosed``."""
    found: Record | None = None
    for record in reconciliations:
        account = record.get("account") or {}
        if account.get("id") != account_id or (closed and not record.get("isClosed")):
            continue
        if found is None or record["id"] > found["id"]:
            found = record
    return found
