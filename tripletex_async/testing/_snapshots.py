"""Reports computed per query: balance sheet, ledger, open posts, stock per product.

A snapshot list holds no records of its own: its rows are computed from the company's
collections for the dates asked (``dateFrom``/``dateTo`` or ``date``), so they agree with
``/ledger/posting`` and move on when postings change. The same dates and data give the
same rows, hence the same ``versionDigest``.

Semantics (a model of the real reports, not a copy of Tripletex's accounting):

- ``/balanceSheet`` and ``/ledger``: one row per ledger account; the opening balance sums
  the account's postings dated before ``dateFrom``, the change those in
  [``dateFrom``, ``dateTo``), and the closing balance both.
- A posting is *open* when it is on a customer's or supplier's account line (it names a
  customer or supplier) and is not matched. ``/ledger/posting/openPost?date=`` lists the
  open postings dated up to and including ``date``; ``/ledger/openPost`` one row per
  account holding any, with their sum.
- ``/inventory/inventories``: one row per product, with one stock line per inventory for
  stock items; stock levels are a pure function of (product, inventory, day), so one
  period's closing stock is the next one's opening stock. ``dateTo`` is included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from ._context import mix

__all__ = ["SNAPSHOTS", "Snapshot"]

Record = dict[str, Any]
#: The current records of a collection of the company, by path.
Rows = Callable[[str], list[Record]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """How one report is computed, and from which collections."""

    sources: tuple[str, ...]
    compute: Callable[[Rows, tuple[str, ...]], list[Record]]


def _ref(record: Record) -> Record:
    return {"id": record["id"], "url": record["url"]}


def _movements(
    postings: list[Record], lo: str, hi: str
) -> dict[int, tuple[float, float, list[Record]]]:
    """Per account id: (sum before ``lo``, sum in [lo, hi), postings in [lo, hi))."""
    out: dict[int, tuple[float, float, list[Record]]] = {}
    for p in postings:
        account, day = p.get("account"), p.get("date") or ""
        if account is None or day >= hi:
            continue
        before, within, listed = out.get(account["id"], (0.0, 0.0, []))
        amount = float(p.get("amount") or 0.0)
        if day < lo:
            out[account["id"]] = (before + amount, within, listed)
        else:
            listed.append(_ref(p))
            out[account["id"]] = (before, within + amount, listed)
    return out


def _balance_sheet(rows: Rows, args: tuple[str, ...]) -> list[Record]:
    lo, hi = args
    moved = _movements(rows("ledger/posting"), lo, hi)
    out: list[Record] = []
    for account in rows("ledger/account"):
        before, within, _ = moved.get(account["id"], (0.0, 0.0, []))
        out.append(
            {
                "account": _ref(account),
                "balanceChange": round(within, 2),
                "balanceIn": round(before, 2),
                "balanceOut": round(before + within, 2),
                "endDate": hi,
                "startDate": lo,
            }
        )
    return out


def _ledger_row(account: Record, before: float, within: float, postings: list[Record]) -> Record:
    closing = round(before + within, 2)
    return {
        "account": _ref(account),
        "balanceOutInAccountCurrency": closing,
        "closingBalance": closing,
        "closingBalanceCurrency": closing,
        "currency": account.get("currency"),
        "openingBalance": round(before, 2),
        "openingBalanceCurrency": round(before, 2),
        "postings": postings,
        "sumAmount": round(within, 2),
        "sumAmountCurrency": round(within, 2),
    }


def _ledger(rows: Rows, args: tuple[str, ...]) -> list[Record]:
    lo, hi = args
    moved = _movements(rows("ledger/posting"), lo, hi)
    return [
        _ledger_row(account, *moved.get(account["id"], (0.0, 0.0, [])))
        for account in rows("ledger/account")
    ]


def _open_postings(rows: Rows, args: tuple[str, ...]) -> list[Record]:
    (day,) = args
    return [
        p
        for p in rows("ledger/posting")
        if (p.get("date") or "9999") <= day
        and not p.get("matched")
        and (p.get("customer") is not None or p.get("supplier") is not None)
    ]


def _open_post_accounts(rows: Rows, args: tuple[str, ...]) -> list[Record]:
    per_account: dict[int, tuple[float, float, list[Record]]] = {}
    for p in _open_postings(rows, args):
        account = p.get("account")
        if account is not None:
            _, total, listed = per_account.get(account["id"], (0.0, 0.0, []))
            listed.append(_ref(p))
            per_account[account["id"]] = (0.0, total + float(p.get("amount") or 0.0), listed)
    return [
        _ledger_row(account, *per_account[account["id"]])
        for account in rows("ledger/account")
        if account["id"] in per_account
    ]


def _stock_level(product: int, inventory: int, day: date) -> float:
    """Units of ``product`` in ``inventory`` at the start of ``day`` (a pure function)."""
    h = mix(product * 1_000_003 + inventory)
    base, pace = h % 200, 1 + (h >> 16) % 7
    return float(base + (day.toordinal() * pace) % 61)


def _inventories(rows: Rows, args: tuple[str, ...]) -> list[Record]:
    lo, hi = date.fromisoformat(args[0]), date.fromisoformat(args[1]) + timedelta(days=1)
    inventories = rows("inventory")
    out: list[Record] = []
    for product in rows("product"):
        stock: list[Record] = []
        for inventory in inventories if product.get("isStockItem") else []:
            opening = _stock_level(product["id"], inventory["id"], lo)
            closing = _stock_level(product["id"], inventory["id"], hi)
            stock.append(
                {
                    "changesInPeriod": closing - opening,
                    "closingStock": closing,
                    "inventory": inventory.get("name"),
                    "inventoryId": inventory["id"],
                    "openingStock": opening,
                }
            )
        out.append({"product": _ref(product), "stock": stock})
    return out


_LEDGER = ("ledger/account", "ledger/posting")

#: The reports, by list path.
SNAPSHOTS: Mapping[str, Snapshot] = MappingProxyType(
    {
        "balanceSheet": Snapshot(_LEDGER, _balance_sheet),
        "ledger": Snapshot(_LEDGER, _ledger),
        "ledger/openPost": Snapshot(_LEDGER, _open_post_accounts),
        "ledger/posting/openPost": Snapshot(("ledger/posting",), _open_postings),
        "inventory/inventories": Snapshot(("product", "inventory"), _inventories),
    }
)
