"""Record builders for the ledger and hours: vouchers, postings and timesheet entries.

Vouchers are numbered in date order through the year; each owns a run of postings
(``ChildLayout``) that share its date and sum to zero, as Tripletex requires of a
voucher. Amounts are drawn in øre and divided once, so a voucher balances exactly.
"""

from __future__ import annotations

from random import Random
from typing import Any

from . import _norsk as no
from ._context import CompanyContext

__all__ = ["postings", "timesheet_entries", "vouchers"]

Record = dict[str, Any]

#: Account indices (see ``_norsk.ACCOUNTS``) postings go to, with their shares:
#: receivables, bank, payables, sales, then any account.
_ACCOUNT_SHARES = ((0.2, 0), (0.45, 1), (0.6, 2), (0.75, 3))
_HOUR_NOTES = ("", "", "", "", "Befaring", "Møte med kunde", "Montering", "Oppfølging")


def voucher_text(ctx: CompanyContext, voucher: int) -> str:
    """Description of a voucher, repeated on its postings."""
    return no.POSTING_TEXTS[ctx.hashed(7, voucher) % len(no.POSTING_TEXTS)]


def vouchers(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Vouchers (21 fields), each listing its postings."""
    cal, layout, year = ctx.calendar, ctx.plan.postings, ctx.year
    n = ctx.counts["ledger/voucher"]
    out: list[Record] = []
    for i in range(n):
        day = ctx.dated_day(i, n)
        number = f"{i + 1}-{year}"
        record = ctx.head("ledger/voucher", i, rng, day)
        record.update(
            {
                "date": cal.date(day),
                "number": i + 1,
                "tempNumber": 0,
                "year": year,
                "description": voucher_text(ctx, i),
                "voucherType": None,
                "reverseVoucher": None,
                "postings": ctx.refs("ledger/posting", layout.span(i)),
                "document": None,
                "attachment": None,
                "externalVoucherNumber": "",
                "ediDocument": None,
                "supplierVoucherType": None,
                "wasAutoMatched": False,
                "vendorInvoiceNumber": "",
                "displayName": number,
                "numberAsString": number,
            }
        )
        out.append(record)
    return out


def _account_index(rng: Random, n_accounts: int) -> int:
    u = rng.random()
    for share, index in _ACCOUNT_SHARES:
        if u < share:
            return index if index < n_accounts else 0
    return int(rng.random() * n_accounts)


def _amounts(rng: Random, k: int) -> list[float]:
    """``k`` amounts that sum to exactly zero (k - 1 drawn, the last balances)."""
    ore = [int((rng.random() - 0.5) * 2 * 5_000_000) or 100 for _ in range(k - 1)]
    ore.append(-sum(ore))
    return [o / 100 for o in ore]


def postings(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Postings (44 fields), voucher by voucher."""
    cal, layout = ctx.calendar, ctx.plan.postings
    n_vouchers, n_accounts = ctx.counts["ledger/voucher"], ctx.counts["ledger/account"]
    out: list[Record] = []
    for voucher in range(layout.parents):
        span = layout.span(voucher)
        day = ctx.dated_day(voucher, n_vouchers)
        date, text = cal.date(day), voucher_text(ctx, voucher)
        for row, (index, amount) in enumerate(zip(span, _amounts(rng, len(span)), strict=True)):
            account = _account_index(rng, n_accounts)
            record = ctx.head("ledger/posting", index, rng, day)
            record.update(_posting_fields(ctx, rng, voucher, account, amount))
            record["date"] = date
            record["description"] = text
            record["row"] = row + 1
            out.append(record)
    return out


def _posting_fields(
    ctx: CompanyContext, rng: Random, voucher: int, account: int, amount: float
) -> Record:
    """Every posting field after ``url``, in the spec's order (date etc. filled later)."""
    return {
        "voucher": ctx.ref("ledger/voucher", voucher),
        "date": "",
        "description": "",
        "account": ctx.ref("ledger/account", account),
        "amortizationAccount": None,
        "amortizationStartDate": None,
        "amortizationEndDate": None,
        "customer": ctx.pick("customer", rng) if account == 0 else None,
        "supplier": ctx.pick("supplier", rng) if account == 2 else None,
        "employee": ctx.pick("employee", rng, 0.9),
        "project": ctx.pick("project", rng, 0.85),
        "product": ctx.pick("product", rng) if account == 3 else None,
        "department": ctx.pick("department", rng, 0.7),
        "vatType": ctx.ref("ledger/vatType", 0) if account == 3 else None,
        "amount": amount,
        "amountCurrency": amount,
        "amountGross": amount,
        "amountGrossCurrency": amount,
        "currency": ctx.ref("currency", 0),
        "closeGroup": None,
        "invoiceNumber": "",
        "termOfPayment": None,
        "row": 0,
        "type": "OUTGOING_INVOICE_CUSTOMER_POSTING" if account == 0 else None,
        "externalRef": "",
        "systemGenerated": False,
        "taxTransactionType": "",
        "taxTransactionTypeId": None,
        "matched": account in (0, 2) and rng.random() < 0.7,
        "quantityAmount1": None,
        "quantityType1": None,
        "quantityAmount2": None,
        "quantityType2": None,
        "isVatReadonly": False,
        "isAmountVatClosed": False,
        "postingRuleId": None,
        "freeAccountingDimension1": None,
        "freeAccountingDimension2": None,
        "freeAccountingDimension3": None,
        "asset": None,
    }


def timesheet_entries(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Hours (19 fields): half-hour multiples on working days through the year."""
    r, cal = rng.random, ctx.calendar
    n = ctx.counts["timesheet/entry"]
    out: list[Record] = []
    for i in range(n):
        day = ctx.dated_day(i, n)
        hours = 0.5 * (1 + int(r() * 16))
        project = ctx.pick("project", rng, 0.3)
        chargeable = project is not None and r() < 0.8
        rate = float(650 + 50 * int(r() * 18)) if chargeable else 0.0
        record = ctx.head("timesheet/entry", i, rng, day)
        record.update(
            {
                "project": project,
                "activity": ctx.pick("activity", rng),
                "date": cal.date(day),
                "hours": hours,
                "chargeableHours": hours if chargeable else 0.0,
                "employee": ctx.pick("employee", rng),
                "timeClocks": [],
                "comment": _HOUR_NOTES[int(r() * len(_HOUR_NOTES))],
                "locked": day < cal.year_end - 60,
                "chargeable": chargeable,
                "invoice": None,
                "hourlyRate": rate,
                "hourlyCost": round(rate * 0.45, 2),
                "hourlyCostPercentage": 45.0 if chargeable else 0.0,
                "projectChargeableHours": hours if chargeable else 0.0,
            }
        )
        out.append(record)
    return out
