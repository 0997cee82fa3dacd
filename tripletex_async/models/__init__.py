"""Typed msgspec Structs for the sync engine's resources, generated from Tripletex's spec.

One Struct per resource (``MODELS`` maps each API path, ``"ledger/posting"``, to its
Struct), named after the spec schema (`Posting`), with the spec's camelCase field names.
Every field is optional: a field the request did not ask for (``fields=``) stays
``msgspec.UNSET``, a JSON ``null`` decodes as None, and fields the Struct does not know
are ignored, so a newer API version does not break decoding. References are `Ref`
(``id`` + ``url``), except `Order.orderLines`, which are `OrderLine` (ask for
``orderLines(*)``). Amounts and other numbers are exact `decimal.Decimal`; dates are the
strings Tripletex sends (`DateText`: ``""`` when empty), which the SQL sinks store as
dates.
``changes`` is left out: ``fields=*`` does not return it.

To fetch and decode only some fields, declare your own Struct with those fields and ask
for the same ones::

    import msgspec

    class CustomerName(msgspec.Struct, kw_only=True, gc=False):
        id: int
        name: str | None = None
        changes: list[dict[str, object]] | None = None  # an explicit opt-in

    page = await view.get_list(
        "/customer", CustomerName, params={"fields": "id,name,changes"}
    )

Decoding into a smaller Struct is faster and uses less memory than the full one; a
missing required field (``id`` above) is a decode error, not a silent None. The
generated Structs come from ``_generated.py``; regenerate it with
``python -m tools.gen_models`` after the spec data changes.
"""

from __future__ import annotations

from ..client._envelopes import Ref as Ref
from ._generated import MODELS as MODELS
from ._generated import Account as Account
from ._generated import Activity as Activity
from ._generated import Contact as Contact
from ._generated import Currency as Currency
from ._generated import Customer as Customer
from ._generated import Department as Department
from ._generated import Employee as Employee
from ._generated import Invoice as Invoice
from ._generated import Order as Order
from ._generated import OrderLine as OrderLine
from ._generated import Posting as Posting
from ._generated import Product as Product
from ._generated import Project as Project
from ._generated import Supplier as Supplier
from ._generated import SupplierInvoice as SupplierInvoice
from ._generated import TimesheetEntry as TimesheetEntry
from ._generated import VatType as VatType
from ._generated import Voucher as Voucher
from ._types import DateText as DateText

__all__ = [
    "MODELS",
    "Account",
    "Activity",
    "Contact",
    "Currency",
    "Customer",
    "DateText",
    "Department",
    "Employee",
    "Invoice",
    "Order",
    "OrderLine",
    "Posting",
    "Product",
    "Project",
    "Ref",
    "Supplier",
    "SupplierInvoice",
    "TimesheetEntry",
    "VatType",
    "Voucher",
]
