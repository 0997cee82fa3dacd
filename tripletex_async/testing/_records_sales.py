"""Record builders for sales and purchases: orders, order lines, invoices and supplier
invoices.

The pieces agree: an order's lines are the ones the order lists; invoice ``i`` bills
order ``i`` (orders past the number of invoices are still open), for that order's
customer and for the sum of its lines. All of that is computed from indices through
`CompanyContext`, so no builder waits for another collection.
"""

from __future__ import annotations

from random import Random
from typing import Any

from . import _norsk as no
from ._context import CompanyContext
from ._records_catalog import product_name
from ._values import any_of, money

__all__ = ["invoice_order", "invoices", "order_lines", "orders", "supplier_invoices"]

Record = dict[str, Any]

_ORDER_NOTES = ("", "", "", "Leveres på byggeplass", "Ring før levering", "Hentes selv")


def invoice_order(ctx: CompanyContext, invoice: int) -> int:
    """Index of the order that invoice ``invoice`` bills."""
    n_orders = max(1, ctx.counts["order"])
    return invoice if invoice < n_orders else ctx.hashed(8, invoice) % n_orders


def _line_amounts(ctx: CompanyContext, line: int) -> tuple[float, float]:
    """(amount excluding VAT, amount including VAT) of an order line."""
    product, count, price, discount = ctx.line_values(line)
    excluding = round(count * price * (1 - discount / 100), 2)
    rate = no.VAT_TYPES[ctx.product_vat(product)][2]
    return excluding, round(excluding * (1 + rate / 100), 2)


def _customer_contact(ctx: CompanyContext, customer: int) -> tuple[str, str]:
    """(name, e-mail) of a customer, empty when the company has no customers."""
    if customer >= ctx.counts["customer"]:
        return "", ""
    name, email, _, _ = ctx.party_name("customer", customer)
    return name, email


def orders(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Orders (54 fields), dated in the year, each listing its 1-5 lines."""
    r, cal, layout = rng.random, ctx.calendar, ctx.plan.order_lines
    invoiced = ctx.counts["invoice"]
    out: list[Record] = []
    for i in range(ctx.counts["order"]):
        day = ctx.order_day(i)
        customer = ctx.order_customer(i)
        customer_name, customer_email = _customer_contact(ctx, customer)
        subscription = r() < 0.05
        record = ctx.head("order", i, rng, day)
        record.update(
            {
                "customer": ctx.ref("customer", customer),
                "contact": ctx.pick("contact", rng, 0.7),
                "attn": None,
                "displayName": f"{i + 1} {customer_name}",
                "receiverEmail": customer_email,
                "overdueNoticeEmail": "",
                "number": str(i + 1),
                "reference": "" if r() < 0.7 else f"Tilbud {int(r() * 900) + 100}",
                "ourContact": None,
                "ourContactEmployee": ctx.pick("employee", rng, 0.3),
                "department": ctx.pick("department", rng, 0.6),
                "orderDate": cal.date(day),
                "project": ctx.pick("project", rng, 0.7),
                "invoiceComment": "",
                "currency": ctx.ref("currency", 0),
                "invoicesDueIn": 14,
                "status": "NOT_CHOSEN",
                "invoicesDueInType": "DAYS",
                "isShowOpenPostsOnInvoices": False,
                "isClosed": i < invoiced,
                "deliveryDate": cal.date(day + int(r() * 15)),
                "deliveryAddress": None,
                "deliveryComment": any_of(rng, _ORDER_NOTES),
                "isPrioritizeAmountsIncludingVat": False,
                "orderLineSorting": "ID",
                "orderGroups": [],
                "orderLines": ctx.refs("order/orderline", layout.span(i)),
                "isSubscription": subscription,
                "subscriptionDuration": 12 if subscription else 0,
                "subscriptionDurationType": "MONTHS",
                "subscriptionPeriodsOnInvoice": 1,
                "subscriptionPeriodsOnInvoiceType": "MONTHS",
                "subscriptionInvoicingTimeInAdvanceOrArrears": "ADVANCE",
                "subscriptionInvoicingTime": 0,
                "subscriptionInvoicingTimeType": "DAYS",
                "isSubscriptionAutoInvoicing": subscription,
                "preliminaryInvoice": None,
                "attachment": [],
                "sendMethodDescription": "",
                "canCreateBackorder": False,
                "invoiceOnAccountVatHigh": True,
                "totalInvoicedOnAccountAmountAbsoluteCurrency": 0.0,
                "invoiceSendSMSNotification": False,
                "invoiceSMSNotificationNumber": "",
                "markUpOrderLines": 0.0,
                "discountPercentage": 0.0,
                "customerName": customer_name,
                "projectManagerNameAndNumber": "",
                "travelReports": [],
                "accountingDimensionValues": [],
            }
        )
        out.append(record)
    return out


def order_lines(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Order lines (30 fields), in order of their orders."""
    layout, invoiced = ctx.plan.order_lines, ctx.counts["invoice"]
    out: list[Record] = []
    for order in range(layout.parents):
        span = layout.span(order)
        day = ctx.order_day(order)
        for line in span:
            product, count, price, discount = ctx.line_values(line)
            vat = ctx.product_vat(product)
            excluding, including = _line_amounts(ctx, line)
            record = ctx.head("order/orderline", line, rng, day)
            record.update(
                {
                    "product": ctx.ref("product", product),
                    "inventory": None,
                    "inventoryLocation": None,
                    "description": product_name(product),
                    "displayName": product_name(product),
                    "count": count,
                    "unitCostCurrency": round(price * 0.7, 2),
                    "unitPriceExcludingVatCurrency": price,
                    "currency": ctx.ref("currency", 0),
                    "markup": 0.0,
                    "discount": discount,
                    "vatType": ctx.ref("ledger/vatType", vat),
                    "amountExcludingVatCurrency": excluding,
                    "amountIncludingVatCurrency": including,
                    "vendor": None,
                    "order": ctx.ref("order", order),
                    "unitPriceIncludingVatCurrency": round(
                        price * (1 + no.VAT_TYPES[vat][2] / 100), 2
                    ),
                    "isSubscription": False,
                    "subscriptionPeriodStart": None,
                    "subscriptionPeriodEnd": None,
                    "orderGroup": None,
                    "sortIndex": line - span.start,
                    "isPicked": False,
                    "pickedDate": None,
                    "orderedQuantity": count,
                    "isCharged": order < invoiced,
                }
            )
            out.append(record)
    return out


def _invoice_amounts(ctx: CompanyContext, order: int) -> tuple[float, float]:
    """(excluding VAT, including VAT) of the invoice for ``order``: the sum of its lines."""
    excluding = including = 0.0
    for line in ctx.plan.order_lines.span(order):
        ex, inc = _line_amounts(ctx, line)
        excluding += ex
        including += inc
    return round(excluding, 2), round(including, 2)


def invoices(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Outgoing invoices (43 fields), each billing one order a few days after its date."""
    r, cal = rng.random, ctx.calendar
    out: list[Record] = []
    for i in range(ctx.counts["invoice"]):
        order = invoice_order(ctx, i)
        day = min(ctx.order_day(order) + ctx.hashed(9, i) % 8, cal.year_end)
        customer = ctx.order_customer(order)
        excluding, including = _invoice_amounts(ctx, order)
        rounded = float(round(including))
        # "+ 0.0" turns a -0.0 (an exact amount) into 0.0, as Tripletex writes it.
        roundoff = round(rounded - including, 2) + 0.0
        paid = r() < 0.75
        outstanding = 0.0 if paid else rounded
        record = ctx.head("invoice", i, rng, day)
        record.update(
            {
                "invoiceNumber": i + 1,
                "invoiceDate": cal.date(day),
                "customer": ctx.ref("customer", customer),
                "creditedInvoice": None,
                "isCredited": False,
                "invoiceDueDate": cal.date(day + 14),
                "kid": no.kid((10_001 + customer) * 100_000 + i + 1),
                "invoiceComment": "",
                "comment": "",
                "orders": [o for o in (ctx.ref("order", order),) if o is not None],
                "orderLines": ctx.refs("order/orderline", ctx.plan.order_lines.span(order)),
                "travelReports": [],
                "projectInvoiceDetails": [],
                "voucher": ctx.pick("ledger/voucher", rng),
                "deliveryDate": cal.date(day),
                "amount": rounded,
                "amountCurrency": rounded,
                "amountExcludingVat": excluding,
                "amountExcludingVatCurrency": excluding,
                "amountRoundoff": roundoff,
                "amountRoundoffCurrency": roundoff,
                "amountOutstanding": outstanding,
                "amountCurrencyOutstanding": outstanding,
                "amountOutstandingTotal": outstanding,
                "amountCurrencyOutstandingTotal": outstanding,
                "sumRemits": 0.0,
                "currency": ctx.ref("currency", 0),
                "isCreditNote": False,
                "isCharged": True,
                "isApproved": True,
                "postings": [],
                "reminders": [],
                "invoiceRemarks": "",
                "invoiceRemark": None,
                "paymentTypeId": 0,
                "paidAmount": rounded if paid else 0.0,
                "isPeriodizationPossible": False,
                "documentId": None,
                "ehfSendStatus": "SENT" if r() < 0.3 else "DO_NOT_SEND",
            }
        )
        out.append(record)
    return out


def supplier_invoices(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Incoming invoices (21 fields), dated in the year."""
    r, cal = rng.random, ctx.calendar
    n = ctx.counts["supplierInvoice"]
    out: list[Record] = []
    for i in range(n):
        day = ctx.dated_day(i, n)
        excluding = money(rng, 150, 120_000)
        including = round(excluding * 1.25, 2)
        credit = r() < 0.03
        sign = -1.0 if credit else 1.0
        record = ctx.head("supplierInvoice", i, rng, day)
        record.update(
            {
                "invoiceNumber": str(10_000 + int(r() * 890_000)),
                "invoiceDate": cal.date(day),
                "supplier": ctx.pick("supplier", rng),
                "invoiceDueDate": cal.date(day + 30),
                "kidOrReceiverReference": no.kid(int(r() * 10**9)),
                "voucher": ctx.pick("ledger/voucher", rng),
                "amount": sign * including,
                "amountCurrency": sign * including,
                "amountExcludingVat": sign * excluding,
                "amountExcludingVatCurrency": sign * excluding,
                "currency": ctx.ref("currency", 0),
                "isCreditNote": credit,
                "orderLines": [],
                "payments": [],
                "originalInvoiceDocumentId": None,
                "approvalListElements": [],
                "outstandingAmount": 0.0 if r() < 0.8 else sign * including,
            }
        )
        out.append(record)
    return out
