"""Record builders for catalogues and reference tables: products, projects, activities,
the chart of accounts, VAT types, currencies and countries.

Reference tables follow Norwegian practice (NS 4102 accounts, the standard VAT codes);
past the end of a table, entries repeat with a number appended so that any requested
size works. Index 0 of currencies is NOK and of countries Norway; other builders rely on
that.
"""

from __future__ import annotations

from random import Random
from typing import Any

from . import _norsk as no
from ._context import CompanyContext
from ._values import any_of, money

__all__ = [
    "accounts",
    "activities",
    "countries",
    "currencies",
    "product_name",
    "products",
    "projects",
    "vat_types",
]

Record = dict[str, Any]

_PROJECT_ACTIVITIES = frozenset({"PROJECT_GENERAL_ACTIVITY", "PROJECT_SPECIFIC_ACTIVITY"})
_GENERAL_ACTIVITIES = frozenset({"GENERAL_ACTIVITY", "PROJECT_GENERAL_ACTIVITY"})
_WEIGHT_UNITS = ("kg", "g", "hg")
_VOLUME_UNITS = ("cm3", "dm3", "m3")
_BANKS = ("DNB", "SpareBank 1", "Nordea", "Handelsbanken", "Sbanken")


def _lap(index: int, size: int) -> tuple[int, str]:
    """(slot in a table, suffix to tell repeats apart) for the ``index``-th entry."""
    lap, slot = divmod(index, size)
    return slot, (f" {lap + 1}" if lap else "")


def _ean(n: int) -> str:
    """A valid EAN-13 with the Norwegian prefix 70."""
    body = f"70{n % 10**10:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return f"{body}{(10 - total % 10) % 10}"


def product_name(index: int) -> str:
    """Name of product ``index`` (order lines repeat it as their description)."""
    slot, suffix = _lap(index, len(no.PRODUCTS))
    return no.PRODUCTS[slot][0] + suffix


def products(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Products (51 fields); prices agree with the order lines that sell them."""
    r = rng.random
    out: list[Record] = []
    for i in range(ctx.counts["product"]):
        name = product_name(i)
        price = ctx.product_price(i)
        vat = ctx.product_vat(i)
        cost = round(price * (0.55 + 0.25 * r()), 2)
        stock = r() < 0.3
        record = ctx.head("product", i, rng)
        record.update(
            {
                "name": name,
                "number": str(1000 + i),
                "displayNumber": str(1000 + i),
                "description": "",
                "orderLineDescription": name,
                "ean": _ean(record["id"]) if r() < 0.4 else "",
                "elNumber": "",
                "nrfNumber": "",
                "costExcludingVatCurrency": cost,
                "expenses": 0.0,
                "expensesInPercent": 0.0,
                "costPrice": cost,
                "profit": round(price - cost, 2),
                "profitInPercent": round(100 * (price - cost) / price, 2),
                "priceExcludingVatCurrency": price,
                "priceIncludingVatCurrency": round(price * (1 + no.VAT_TYPES[vat][2] / 100), 2),
                "isInactive": r() < 0.05,
                "discountGroup": None,
                "productUnit": None,
                "isStockItem": stock,
                "stockOfGoods": float(int(r() * 500)) if stock else 0.0,
                "availableStock": 0.0,
                "incomingStock": 0.0,
                "outgoingStock": 0.0,
                "vatType": ctx.ref("ledger/vatType", vat),
                "currency": ctx.ref("currency", 0),
                "department": ctx.pick("department", rng, 0.8),
                "account": ctx.ref("ledger/account", 3),
                "discountPrice": price,
                "supplier": ctx.pick("supplier", rng, 0.5),
                "resaleProduct": None,
                "isDeletable": False,
                "hasSupplierProductConnected": False,
                "weight": round(r() * 25, 2) if stock else 0.0,
                "weightUnit": any_of(rng, _WEIGHT_UNITS),
                "volume": 0.0,
                "volumeUnit": any_of(rng, _VOLUME_UNITS),
                "hsnCode": "",
                "image": None,
                "markupListPercentage": 0.0,
                "markupNetPercentage": 0.0,
                "displayName": f"{1000 + i} {name}",
                "mainSupplierProduct": None,
                "isRoundPriceIncVat": False,
                "priceInTargetCurrency": price,
                "purchasePriceCurrency": cost,
                "minStockLevel": float(int(r() * 20)) if stock else 0.0,
            }
        )
        out.append(record)
    return out


def projects(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Projects (62 fields); most bill a customer, some are internal."""
    r, cal = rng.random, ctx.calendar
    out: list[Record] = []
    for i in range(ctx.counts["project"]):
        slot, suffix = _lap(i, len(no.PROJECTS))
        name, number = no.PROJECTS[slot] + suffix, str(i + 1)
        n_customers = ctx.counts["customer"]
        customer = int(r() * n_customers) if n_customers and r() < 0.8 else None
        manager = int(r() * ctx.counts["employee"])
        first, last, _ = ctx.employee_name(manager)
        start = cal.year_start - int(r() * 500)
        fixed = r() < 0.3
        record = ctx.head("project", i, rng)
        record.update(
            {
                "name": name,
                "number": number,
                "displayName": f"{number} {name}",
                "description": "",
                "projectManager": ctx.ref("employee", manager),
                "department": ctx.pick("department", rng, 0.5),
                "mainProject": None,
                "startDate": cal.date(start),
                "endDate": cal.date(start + 60 + int(r() * 700)) if r() < 0.5 else None,
                "customer": ctx.ref("customer", customer) if customer is not None else None,
                "isClosed": r() < 0.2,
                "isReadyForInvoicing": False,
                "isInternal": customer is None,
                "isOffer": r() < 0.05,
                "isFixedPrice": fixed,
                "projectCategory": None,
                "deliveryAddress": None,
                "boligmappaAddress": None,
                "displayNameFormat": "NAME_STANDARD",
                "reference": "",
                "externalAccountsNumber": "",
                "discountPercentage": 0.0,
                "vatType": ctx.ref("ledger/vatType", 0),
                "fixedprice": money(rng, 20_000, 900_000) if fixed else 0.0,
                "contributionMarginPercent": 0.0,
                "numberOfSubProjects": 0,
                "numberOfProjectParticipants": 1 + int(r() * 6),
                "orderLines": [],
                "currency": ctx.ref("currency", 0),
                "markUpOrderLines": 0.0,
                "markUpFeesEarned": 0.0,
                "isPriceCeiling": False,
                "priceCeilingAmount": 0.0,
                "projectHourlyRates": [],
                "forParticipantsOnly": False,
                "participants": [],
                "contact": None,
                "attention": None,
                "invoiceComment": "",
                "invoicingPlan": [],
                "preliminaryInvoice": None,
                "generalProjectActivitiesPerProjectOnly": False,
                "projectActivities": [],
                "hierarchyNameAndNumber": f"{number} {name}",
                "invoiceDueDate": 14,
                "invoiceDueDateType": "DAYS",
                "invoiceReceiverEmail": "",
                "overdueNoticeEmail": "",
                "accessType": "WRITE",
                "useProductNetPrice": False,
                "ignoreCompanyProductDiscountAgreement": False,
                "customerName": "" if customer is None else ctx.party_name("customer", customer)[0],
                "hierarchyLevel": 0,
                "projectManagerNameAndNumber": f"{first} {last} ({manager + 1})",
                "totalInvoicedOnAccountAmountAbsoluteCurrency": 0.0,
                "invoiceOnAccountVatHigh": True,
                "invoiceReserveTotalAmountCurrency": 0.0,
                "accountingDimensionValues": [],
            }
        )
        out.append(record)
    return out


def activities(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Activities that hours are logged on (17 fields)."""
    out: list[Record] = []
    for i in range(ctx.counts["activity"]):
        slot, suffix = _lap(i, len(no.ACTIVITIES))
        name, kind, chargeable = no.ACTIVITIES[slot]
        record = ctx.head("activity", i, rng)
        record.update(
            {
                "name": name + suffix,
                "number": str(i + 1),
                "description": "",
                "activityType": kind,
                "isProjectActivity": kind in _PROJECT_ACTIVITIES,
                "isGeneral": kind in _GENERAL_ACTIVITIES,
                "isTask": kind == "TASK",
                "isDisabled": False,
                "isChargeable": chargeable,
                "rate": money(rng, 650, 1600) if chargeable else 0.0,
                "costPercentage": 0.0,
                "displayName": f"{i + 1} {name}{suffix}",
                "deletable": False,
            }
        )
        out.append(record)
    return out


def _account_number(index: int) -> tuple[int, str, str]:
    slot, suffix = _lap(index, len(no.ACCOUNTS))
    number, name, kind = no.ACCOUNTS[slot]
    lap = index // len(no.ACCOUNTS)
    # Sub-accounts (1501, 1502, ...) while they fit below the next standard account.
    return (number + lap if lap < 10 else 10_000 + index), name + suffix, kind


def accounts(ctx: CompanyContext, rng: Random) -> list[Record]:
    """The chart of accounts (36 fields); 1500, 1920, 2400 and 3000 come first."""
    out: list[Record] = []
    for i in range(ctx.counts["ledger/account"]):
        number, name, kind = _account_number(i)
        base = no.ACCOUNTS[i % len(no.ACCOUNTS)][0]
        bank = base == 1920
        expense = 4000 <= base < 8000
        vat = 0 if 3000 <= base < 3100 else 1 if expense else None
        record = ctx.head("ledger/account", i, rng)
        record.update(
            {
                "number": number,
                "numberPretty": str(number),
                "name": name,
                "description": "",
                "type": kind,
                "legalVatTypes": [],
                "ledgerType": {1500: "CUSTOMER", 2400: "VENDOR"}.get(base, "GENERAL"),
                "balanceGroup": "",
                "vatType": ctx.ref("ledger/vatType", vat) if vat is not None else None,
                "vatLocked": False,
                "currency": None,
                "isCloseable": base in (1500, 2400),
                "isApplicableForSupplierInvoice": expense,
                "requireReconciliation": bank,
                "isInactive": False,
                "isBankAccount": bank,
                "isInvoiceAccount": base == 1500,
                "bankAccountNumber": no.bank_account(record["id"]) if bank else "",
                "bankAccountCountry": ctx.ref("country", 0) if bank else None,
                "bankName": any_of(rng, _BANKS) if bank else "",
                "bankAccountIBAN": "",
                "bankAccountSWIFT": "",
                "saftCode": str(base),
                "groupingCode": "",
                "displayName": f"{number} {name}",
                "requiresDepartment": False,
                "requiresProject": False,
                "invoicingDepartment": None,
                "isPostingsExist": True,
                "quantityType1": None,
                "quantityType2": None,
                "department": None,
            }
        )
        out.append(record)
    return out


def vat_types(ctx: CompanyContext, rng: Random) -> list[Record]:
    """VAT types (10 fields): the standard Norwegian codes, output high rate first."""
    out: list[Record] = []
    for i in range(ctx.counts["ledger/vatType"]):
        slot, suffix = _lap(i, len(no.VAT_TYPES))
        number, name, percentage, deduction = no.VAT_TYPES[slot]
        number = number if not suffix else str(100 + i)
        record = ctx.head("ledger/vatType", i, rng)
        record.update(
            {
                "name": name + suffix,
                "number": number,
                "displayName": f"{number} {name}{suffix}",
                "percentage": percentage,
                "deductionPercentage": deduction,
                "parentType": None,
            }
        )
        out.append(record)
    return out


def currencies(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Currencies (9 fields), NOK first."""
    out: list[Record] = []
    for i in range(ctx.counts["currency"]):
        slot, suffix = _lap(i, len(no.CURRENCIES))
        code, description, factor = no.CURRENCIES[slot]
        record = ctx.head("currency", i, rng)
        record.update(
            {
                "code": code + suffix.strip(),
                "description": description + suffix,
                "factor": factor,
                "displayName": code + suffix.strip(),
                "isDisabled": False,
            }
        )
        out.append(record)
    return out


def countries(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Countries (9 fields), Norway first."""
    out: list[Record] = []
    for i in range(ctx.counts["country"]):
        slot, suffix = _lap(i, len(no.COUNTRIES))
        name, alpha2, alpha3, numeric = no.COUNTRIES[slot]
        record = ctx.head("country", i, rng)
        record.update(
            {
                "name": name + suffix,
                "displayName": f"{name}{suffix} ({alpha2})",
                "isoAlpha2Code": alpha2,
                "isoAlpha3Code": alpha3,
                "isoNumericCode": numeric,
            }
        )
        out.append(record)
    return out
