"""Record builders for parties: customers, suppliers, contacts, employees, departments
and the addresses they point at.

Every builder returns the whole collection of one company in id order and fills every
field of the spec model, in the spec's order, with ``None`` for unset references and
``""`` for unset strings, as Tripletex answers. The address collection is laid out as
company address, then two per customer, two per supplier, one per employee, so parties
know their address ids without generating addresses.
"""

from __future__ import annotations

from random import Random
from typing import Any

from . import _norsk as no
from ._context import CompanyContext
from ._values import (
    any_of,
    landline,
    mobile,
    person_name,
    private_email,
    street_address,
)

__all__ = ["addresses", "contacts", "customers", "departments", "employees", "suppliers"]

Record = dict[str, Any]

_SEND_METHODS = ("EMAIL", "EMAIL", "EMAIL", "EHF", "EHF", "EFAKTURA", "PAPER", "MANUAL")
_USER_TYPES = ("STANDARD", "STANDARD", "EXTENDED", "NO_ACCESS")
_DESCRIPTIONS = ("", "", "", "", "Fast kunde siden 2019", "Betaler alltid i tide", "Ønsker EHF")


def address_index(ctx: CompanyContext, kind: str, index: int) -> int:
    """Index in ``address`` of a party's address (``kind``: customer, supplier, employee)."""
    n_customers, n_suppliers = ctx.counts["customer"], ctx.counts["supplier"]
    if kind == "customer":
        return 1 + 2 * index
    if kind == "supplier":
        return 1 + 2 * n_customers + 2 * index
    return 1 + 2 * n_customers + 2 * n_suppliers + index


def customers(ctx: CompanyContext, rng: Random) -> list[Record]:
    """The company's customers: 46 fields each, most of them set."""
    r = rng.random
    first, prefix = ctx.first_id("customer"), ctx.url_prefix("customer")
    addr_first, addr_prefix = ctx.first_id("address"), ctx.url_prefix("address")
    year_end = ctx.calendar.year_end
    out: list[Record] = []
    for i in range(ctx.counts["customer"]):
        rid = first + i
        number = 10_001 + i
        name, email, private, slug = ctx.party_name("customer", i)
        changes, version = ctx.changes(rng, ctx.history_day(rng), year_end)
        postal = addr_first + 1 + 2 * i
        is_supplier = r() < 0.05
        out.append(
            {
                "id": rid,
                "version": version,
                "changes": changes,
                "url": f"{prefix}{rid}",
                "name": name,
                "organizationNumber": "" if private else no.organization_number(rid),
                "globalLocationNumber": None if r() < 0.9 else 7_080_000_000_000 + rid % 10**9,
                "supplierNumber": 30_001 + i if is_supplier else 0,
                "customerNumber": number,
                "isSupplier": is_supplier,
                "isCustomer": True,
                # About one customer in 170 is inactive, as in the field.
                "isInactive": r() < 0.006,
                "accountManager": ctx.pick("employee", rng, 0.6),
                "department": ctx.pick("department", rng, 0.7),
                "email": email,
                "invoiceEmail": email.replace("post@", "faktura@") if r() < 0.5 else "",
                "overdueNoticeEmail": "",
                "bankAccounts": [no.bank_account(rid)] if r() < 0.2 else [],
                "phoneNumber": landline(rng) if r() < 0.5 else "",
                "phoneNumberMobile": mobile(rng) if r() < 0.7 else "",
                "description": any_of(rng, _DESCRIPTIONS),
                "language": "NO" if r() < 0.95 else "EN",
                "displayName": f"{name} ({number})",
                "isPrivateIndividual": private,
                "singleCustomerInvoice": r() < 0.1,
                "invoiceSendMethod": "EFAKTURA" if private else any_of(rng, _SEND_METHODS),
                "emailAttachmentType": "ATTACHMENT" if r() < 0.8 else "LINK",
                "postalAddress": {"id": postal, "url": f"{addr_prefix}{postal}"},
                "physicalAddress": {"id": postal + 1, "url": f"{addr_prefix}{postal + 1}"},
                "deliveryAddress": None,
                "category1": None,
                "category2": None,
                "category3": None,
                "invoicesDueIn": any_of(rng, (10, 14, 14, 14, 20, 30)),
                "invoicesDueInType": "DAYS",
                "currency": ctx.ref("currency", 0) if r() < 0.93 else ctx.pick("currency", rng),
                "bankAccountPresentation": [],
                "ledgerAccount": ctx.ref("ledger/account", 0),
                "isFactoring": r() < 0.02,
                "invoiceSendSMSNotification": False,
                "invoiceSMSNotificationNumber": "",
                "isAutomaticSoftReminderEnabled": r() < 0.3,
                "isAutomaticReminderEnabled": r() < 0.3,
                "isAutomaticNoticeOfDebtCollectionEnabled": r() < 0.1,
                "discountPercentage": 0.0 if r() < 0.85 else any_of(rng, (5.0, 10.0, 12.5)),
                "website": f"www.{slug}.no" if not private and r() < 0.6 else "",
            }
        )
    return out


def suppliers(ctx: CompanyContext, rng: Random) -> list[Record]:
    """The company's suppliers (35 fields)."""
    r = rng.random
    first, prefix = ctx.first_id("supplier"), ctx.url_prefix("supplier")
    addr0 = address_index(ctx, "supplier", 0)
    year_end = ctx.calendar.year_end
    out: list[Record] = []
    for i in range(ctx.counts["supplier"]):
        rid = first + i
        number = 20_001 + i
        name, email, private, slug = ctx.party_name("supplier", i)
        changes, version = ctx.changes(rng, ctx.history_day(rng), year_end)
        out.append(
            {
                "id": rid,
                "version": version,
                "changes": changes,
                "url": f"{prefix}{rid}",
                "name": name,
                "organizationNumber": "" if private else no.organization_number(rid),
                "supplierNumber": number,
                "customerNumber": 0,
                "isSupplier": True,
                "isCustomer": False,
                "isInactive": r() < 0.04,
                "email": email,
                "bankAccounts": [no.bank_account(rid)],
                "invoiceEmail": "",
                "overdueNoticeEmail": "",
                "phoneNumber": landline(rng) if r() < 0.6 else "",
                "phoneNumberMobile": mobile(rng) if r() < 0.3 else "",
                "description": "",
                "isPrivateIndividual": private,
                "showProducts": r() < 0.1,
                "accountManager": ctx.pick("employee", rng, 0.8),
                "postalAddress": ctx.ref("address", addr0 + 2 * i),
                "physicalAddress": ctx.ref("address", addr0 + 2 * i + 1),
                "deliveryAddress": None,
                "category1": None,
                "category2": None,
                "category3": None,
                "bankAccountPresentation": [],
                "currency": ctx.ref("currency", 0) if r() < 0.9 else ctx.pick("currency", rng),
                "ledgerAccount": ctx.ref("ledger/account", 2),
                "language": "NO" if r() < 0.9 else "EN",
                "isWholesaler": r() < 0.05,
                "displayName": f"{name} ({number})",
                "locale": "nb_NO",
                "website": f"www.{slug}.no" if not private and r() < 0.6 else "",
            }
        )
    return out


def contacts(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Contact persons of customers (14 fields)."""
    r = rng.random
    first, prefix = ctx.first_id("contact"), ctx.url_prefix("contact")
    year_end = ctx.calendar.year_end
    out: list[Record] = []
    for i in range(ctx.counts["contact"]):
        rid = first + i
        given, family, local = person_name(rng)
        changes, version = ctx.changes(rng, ctx.history_day(rng), year_end)
        out.append(
            {
                "id": rid,
                "version": version,
                "changes": changes,
                "url": f"{prefix}{rid}",
                "firstName": given,
                "lastName": family,
                "displayName": f"{given} {family}",
                "email": private_email(rng, local) if r() < 0.8 else "",
                "phoneNumberMobileCountry": ctx.ref("country", 0),
                "phoneNumberMobile": mobile(rng) if r() < 0.7 else "",
                "phoneNumberWork": landline(rng) if r() < 0.3 else "",
                "customer": ctx.pick("customer", rng, 0.05),
                "department": ctx.pick("department", rng, 0.8),
                "isInactive": r() < 0.05,
            }
        )
    return out


def employees(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Employees (36 fields); employee 0 is the administrator who owns the API token."""
    r = rng.random
    first, prefix = ctx.first_id("employee"), ctx.url_prefix("employee")
    addr0 = address_index(ctx, "employee", 0)
    year_end, domain = ctx.calendar.year_end, f"{ctx.identity.slug}.no"
    out: list[Record] = []
    for i in range(ctx.counts["employee"]):
        rid = first + i
        given, family, local = ctx.employee_name(i)
        born = (1 + int(r() * 28), 1 + int(r() * 12), ctx.year - 20 - int(r() * 45))
        changes, version = ctx.changes(rng, ctx.history_day(rng), year_end)
        out.append(
            {
                "id": rid,
                "version": version,
                "changes": changes,
                "url": f"{prefix}{rid}",
                "firstName": given,
                "lastName": family,
                "displayName": f"{given} {family}",
                "employeeNumber": str(i + 1),
                "dateOfBirth": f"{born[2]}-{born[1]:02d}-{born[0]:02d}",
                "email": f"{local}@{domain}",
                "phoneNumberMobileCountry": ctx.ref("country", 0),
                "phoneNumberMobile": mobile(rng),
                "phoneNumberHome": "",
                "phoneNumberWork": landline(rng) if r() < 0.3 else "",
                "nationalIdentityNumber": no.national_id(*born, rid),
                "dnumber": "",
                "internationalId": None,
                "bankAccountNumber": no.bank_account(rid),
                "iban": "",
                "bic": "",
                "creditorBankCountryId": None,
                "usesAbroadPayment": False,
                "userType": "EXTENDED" if i == 0 else any_of(rng, _USER_TYPES),
                "allowInformationRegistration": True,
                "isContact": _is_contact(ctx, i),
                "isProxy": False,
                "comments": "",
                "address": ctx.ref("address", addr0 + i),
                "department": ctx.pick("department", rng, 0.2),
                "employments": [],
                "holidayAllowanceEarned": None,
                "employeeCategory": None,
                "isAuthProjectOverviewURL": False,
                "pictureId": None,
                "companyId": ctx.company_id,
                "vismaConnect2FAactive": r() < 0.4,
            }
        )
    return out


def _is_contact(ctx: CompanyContext, index: int) -> bool:
    """Whether employee ``index`` is an external contact: about 3 %, never the admin.

    A hash of the index, not a draw: a new draw would shift every later random value.
    """
    return index > 0 and ctx.hashed(10, index) % 1000 < 30


def departments(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Departments (10 fields); names repeat with a number past the name table."""
    first, prefix = ctx.first_id("department"), ctx.url_prefix("department")
    year_end = ctx.calendar.year_end
    out: list[Record] = []
    for i in range(ctx.counts["department"]):
        rid = first + i
        lap, slot = divmod(i, len(no.DEPARTMENTS))
        name = no.DEPARTMENTS[slot] + (f" {lap + 1}" if lap else "")
        changes, version = ctx.changes(rng, ctx.history_day(rng), year_end)
        out.append(
            {
                "id": rid,
                "version": version,
                "changes": changes,
                "url": f"{prefix}{rid}",
                "name": name,
                "departmentNumber": str(i + 1),
                "departmentManager": ctx.pick("employee", rng, 0.3),
                "displayName": f"{i + 1} {name}",
                "isInactive": rng.random() < 0.05,
                "businessActivityTypeId": None,
            }
        )
    return out


def addresses(ctx: CompanyContext, rng: Random) -> list[Record]:
    """Addresses (18 fields). Physical addresses are often left empty, as in Tripletex."""
    r = rng.random
    first, prefix = ctx.first_id("address"), ctx.url_prefix("address")
    physical_end = address_index(ctx, "employee", 0)
    year_end = ctx.calendar.year_end
    me = ctx.identity
    out: list[Record] = []
    for i in range(ctx.counts["address"]):
        rid = first + i
        if i == 0:
            line1, postal_code, city = me.street, me.postal_code, me.city
        elif i < physical_end and i % 2 == 0 and r() < 0.4:
            line1, postal_code, city = "", "", ""
        else:
            line1, postal_code, city = street_address(rng)
        shown = f"{line1}, {postal_code} {city}" if line1 else ""
        changes, version = ctx.changes(rng, ctx.history_day(rng), year_end)
        out.append(
            {
                "id": rid,
                "version": version,
                "changes": changes,
                "url": f"{prefix}{rid}",
                "addressLine1": line1,
                "addressLine2": "",
                "postalCode": postal_code,
                "city": city,
                "country": ctx.ref("country", 0),
                "displayName": shown,
                "addressAsString": shown,
                "displayNameInklMatrikkel": shown,
                "knr": None,
                "gnr": None,
                "bnr": None,
                "fnr": None,
                "snr": None,
                "unitNumber": "",
            }
        )
    return out
