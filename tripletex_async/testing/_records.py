"""Which builder makes which collection, and the company objects of the portfolio.

Each collection of each company is generated in one pass by its builder, from its own
random stream seeded by ``(seed, company, resource)``; that is why the same config gives
the same records whatever order collections are first asked for in.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping
from random import Random
from types import MappingProxyType
from typing import Any

from . import _records_catalog as catalog
from . import _records_ledger as ledger
from . import _records_parties as parties
from . import _records_sales as sales
from ._calendar import WORKDAY_START, Calendar
from ._context import CompanyContext, CompanyIdentity
from ._resources import CORE_RESOURCES

__all__ = [
    "BUILDERS",
    "accountant_record",
    "build_collection",
    "client_record",
    "company_record",
]

Record = dict[str, Any]
Builder = Callable[[CompanyContext, Random], list[Record]]

BUILDERS: Mapping[str, Builder] = MappingProxyType(
    {
        "customer": parties.customers,
        "supplier": parties.suppliers,
        "contact": parties.contacts,
        "employee": parties.employees,
        "department": parties.departments,
        "product": catalog.products,
        "project": catalog.projects,
        "activity": catalog.activities,
        "ledger/account": catalog.accounts,
        "ledger/vatType": catalog.vat_types,
        "currency": catalog.currencies,
        "order": sales.orders,
        "invoice": sales.invoices,
        "supplierInvoice": sales.supplier_invoices,
        "ledger/voucher": ledger.vouchers,
        "ledger/posting": ledger.postings,
        "timesheet/entry": ledger.timesheet_entries,
        "order/orderline": sales.order_lines,
        "address": parties.addresses,
        "country": catalog.countries,
    }
)
assert set(BUILDERS) == set(CORE_RESOURCES), "every hand-built resource needs a builder"


def build_collection(ctx: CompanyContext, resource: str, seed: int) -> list[Record]:
    """Every record of ``resource`` in the company of ``ctx``, sorted by id."""
    rng = Random(f"{seed}:{ctx.company_id}:{resource}")
    with _gc_paused():
        return BUILDERS[resource](ctx, rng)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a collection is built.

    Builders allocate millions of acyclic dicts; each allocation burst would trigger
    collections that find nothing, costing about a fifth of the generation time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _company_fields(identity: CompanyIdentity, start_date: str) -> Record:
    """The fields a ``Company`` and a ``Client`` share, after ``url``."""
    return {
        "name": identity.name,
        "displayName": identity.name,
        "startDate": start_date,
        "endDate": None,
        "organizationNumber": identity.organization_number,
        "email": f"post@{identity.slug}.no",
        "phoneNumber": identity.phone,
        "phoneNumberMobile": "",
        "faxNumber": "",
        "address": None,
        "type": identity.company_type,
        "currency": None,
        "accountantOrSimilar": False,
        "companyMigration": "NONE",
        "invoiceShowDeliveryDate": False,
    }


def _company(
    identity: CompanyIdentity, calendar: Calendar, host: str, company_id: int, employee_id: int
) -> Record:
    """A ``Company`` registered (by ``employee_id``) some years before the config year."""
    rng = Random(f"{company_id}:{identity.organization_number}")
    day = int(rng.random() * calendar.year_start)
    stamp = calendar.timestamp(day, WORKDAY_START + int(rng.random() * 3600 * 10))
    record: Record = {
        "id": company_id,
        "version": 0,
        "changes": [{"employeeId": employee_id, "timestamp": stamp, "changeType": "CREATE"}],
        "url": f"{host}/v2/company/{company_id}",
    }
    record.update(_company_fields(identity, calendar.date(day)))
    return record


def company_record(ctx: CompanyContext, host: str) -> Record:
    """The ``Company`` of a client company (``GET /company/{id}``): its address and
    currency are its own address 0 and currency 0 (NOK)."""
    employee = ctx.ref("employee", 0)
    admin = employee["id"] if employee is not None else 0
    record = _company(ctx.identity, ctx.calendar, host, ctx.company_id, admin)
    record["address"] = ctx.ref("address", 0)
    record["currency"] = ctx.ref("currency", 0)
    return record


def client_record(ctx: CompanyContext, host: str) -> Record:
    """The ``Client`` object that ``/company/>withLoginAccess`` lists for this company.

    ``id`` is the company id, the Basic-auth username for the client (Tripletex's
    accountant flow). What ``customerCompanyId`` holds is unconfirmed; it repeats the
    company id here.
    """
    record = company_record(ctx, host)
    record["customerCompanyId"] = ctx.company_id
    return record


def accountant_record(
    identity: CompanyIdentity, calendar: Calendar, host: str, company_id: int
) -> Record:
    """The ``Company`` of the accounting office that owns the token (it has no data)."""
    record = _company(identity, calendar, host, company_id, 0)
    record["accountantOrSimilar"] = True
    return record
