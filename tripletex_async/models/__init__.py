"""Typed msgspec Structs for the sync engine's resources, generated from Tripletex's spec.

One Struct per resource (``MODELS`` maps each API path, ``"ledger/posting"``, to its
Struct; ``LIST_MODELS`` does so for every list endpoint classified for syncing, see
``docs/endpoints.md``), named after the spec schema (`Posting`), with the spec's
camelCase field names. Every field is optional: a field the request did not ask for
(``fields=``) stays ``msgspec.UNSET``, a JSON ``null`` decodes as None, and fields the
Struct does not know are ignored, so a newer API version does not break decoding.
References are `Ref` (``id`` + ``url``), except `Order.orderLines`, which are
`OrderLine` (ask for ``orderLines(*)``). Amounts and other numbers are exact
`decimal.Decimal`; dates are the strings Tripletex sends (`DateText`: ``""`` when
empty), which the SQL sinks store as dates.
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
from ._generated import LIST_MODELS as LIST_MODELS
from ._generated import MODELS as MODELS
from ._generated import AccommodationAllowance as AccommodationAllowance
from ._generated import Account as Account
from ._generated import AccountingDimensionName as AccountingDimensionName
from ._generated import AccountingDimensionValue as AccountingDimensionValue
from ._generated import AccountingPeriod as AccountingPeriod
from ._generated import Activity as Activity
from ._generated import AnnualAccount as AnnualAccount
from ._generated import Asset as Asset
from ._generated import BalanceSheetAccount as BalanceSheetAccount
from ._generated import Bank as Bank
from ._generated import BankReconciliation as BankReconciliation
from ._generated import BankReconciliationMatch as BankReconciliationMatch
from ._generated import BankReconciliationPaymentType as BankReconciliationPaymentType
from ._generated import BankStatement as BankStatement
from ._generated import BankTransaction as BankTransaction
from ._generated import BusinessActivityType as BusinessActivityType
from ._generated import CloseGroup as CloseGroup
from ._generated import CompanyHoliday as CompanyHoliday
from ._generated import CompanyHolidays as CompanyHolidays
from ._generated import CompanyStandardTime as CompanyStandardTime
from ._generated import Contact as Contact
from ._generated import Cost as Cost
from ._generated import CostParticipant as CostParticipant
from ._generated import Country as Country
from ._generated import Currency as Currency
from ._generated import Customer as Customer
from ._generated import CustomerCategory as CustomerCategory
from ._generated import DeliveryAddress as DeliveryAddress
from ._generated import Department as Department
from ._generated import Deviation as Deviation
from ._generated import DiscountGroup as DiscountGroup
from ._generated import Division as Division
from ._generated import Employee as Employee
from ._generated import EmployeeCategory as EmployeeCategory
from ._generated import Employment as Employment
from ._generated import EmploymentDetails as EmploymentDetails
from ._generated import EmploymentType as EmploymentType
from ._generated import Entitlement as Entitlement
from ._generated import ExternalProduct as ExternalProduct
from ._generated import GlobalPension as GlobalPension
from ._generated import GoodsReceipt as GoodsReceipt
from ._generated import GoodsReceiptLine as GoodsReceiptLine
from ._generated import HourlyCostAndRate as HourlyCostAndRate
from ._generated import Inventories as Inventories
from ._generated import Inventory as Inventory
from ._generated import InventoryLocation as InventoryLocation
from ._generated import Invoice as Invoice
from ._generated import LeaveOfAbsence as LeaveOfAbsence
from ._generated import LeaveOfAbsenceType as LeaveOfAbsenceType
from ._generated import LedgerAccount as LedgerAccount
from ._generated import MileageAllowance as MileageAllowance
from ._generated import Municipality as Municipality
from ._generated import NextOfKin as NextOfKin
from ._generated import OccupationCode as OccupationCode
from ._generated import Order as Order
from ._generated import OrderGroup as OrderGroup
from ._generated import OrderLine as OrderLine
from ._generated import Passenger as Passenger
from ._generated import PaymentType as PaymentType
from ._generated import PaymentTypeOut as PaymentTypeOut
from ._generated import Payslip as Payslip
from ._generated import PensionScheme as PensionScheme
from ._generated import PerDiemCompensation as PerDiemCompensation
from ._generated import Posting as Posting
from ._generated import Product as Product
from ._generated import ProductGroup as ProductGroup
from ._generated import ProductGroupRelation as ProductGroupRelation
from ._generated import ProductInventoryLocation as ProductInventoryLocation
from ._generated import ProductLine as ProductLine
from ._generated import ProductPrice as ProductPrice
from ._generated import ProductUnit as ProductUnit
from ._generated import ProductUnitMaster as ProductUnitMaster
from ._generated import Project as Project
from ._generated import ProjectCategory as ProjectCategory
from ._generated import ProjectControlForm as ProjectControlForm
from ._generated import ProjectControlFormType as ProjectControlFormType
from ._generated import ProjectHourlyRate as ProjectHourlyRate
from ._generated import ProjectInvoiceDetails as ProjectInvoiceDetails
from ._generated import ProjectOrderLine as ProjectOrderLine
from ._generated import ProjectSpecificRate as ProjectSpecificRate
from ._generated import ProjectSubContract as ProjectSubContract
from ._generated import PurchaseOrder as PurchaseOrder
from ._generated import PurchaseOrderIncomingInvoiceRelation as PurchaseOrderIncomingInvoiceRelation
from ._generated import Reminder as Reminder
from ._generated import RemunerationType as RemunerationType
from ._generated import ResultBudget as ResultBudget
from ._generated import SalaryType as SalaryType
from ._generated import SalesModule as SalesModule
from ._generated import StandardTime as StandardTime
from ._generated import Stocktaking as Stocktaking
from ._generated import Supplier as Supplier
from ._generated import SupplierInvoice as SupplierInvoice
from ._generated import SupplierProduct as SupplierProduct
from ._generated import Task as Task
from ._generated import TimeClock as TimeClock
from ._generated import TimesheetAllocated as TimesheetAllocated
from ._generated import TimesheetEntry as TimesheetEntry
from ._generated import (
    TimesheetProjectSalaryTypeSpecification as TimesheetProjectSalaryTypeSpecification,
)
from ._generated import TimesheetSalaryTypeSpecification as TimesheetSalaryTypeSpecification
from ._generated import TravelCostCategory as TravelCostCategory
from ._generated import TravelExpense as TravelExpense
from ._generated import TravelExpenseRate as TravelExpenseRate
from ._generated import TravelExpenseRateCategory as TravelExpenseRateCategory
from ._generated import TravelExpenseRateCategoryGroup as TravelExpenseRateCategoryGroup
from ._generated import TravelExpenseZone as TravelExpenseZone
from ._generated import TravelPaymentType as TravelPaymentType
from ._generated import VatReturnsComment as VatReturnsComment
from ._generated import VatReturnsVatCodeComment as VatReturnsVatCodeComment
from ._generated import VatTermSizeSettings as VatTermSizeSettings
from ._generated import VatType as VatType
from ._generated import Voucher as Voucher
from ._generated import VoucherMessage as VoucherMessage
from ._generated import VoucherStatus as VoucherStatus
from ._generated import VoucherType as VoucherType
from ._generated import Week as Week
from ._generated import WorkingHoursScheme as WorkingHoursScheme
from ._types import DateText as DateText

__all__ = [
    "LIST_MODELS",
    "MODELS",
    "AccommodationAllowance",
    "Account",
    "AccountingDimensionName",
    "AccountingDimensionValue",
    "AccountingPeriod",
    "Activity",
    "AnnualAccount",
    "Asset",
    "BalanceSheetAccount",
    "Bank",
    "BankReconciliation",
    "BankReconciliationMatch",
    "BankReconciliationPaymentType",
    "BankStatement",
    "BankTransaction",
    "BusinessActivityType",
    "CloseGroup",
    "CompanyHoliday",
    "CompanyHolidays",
    "CompanyStandardTime",
    "Contact",
    "Cost",
    "CostParticipant",
    "Country",
    "Currency",
    "Customer",
    "CustomerCategory",
    "DateText",
    "DeliveryAddress",
    "Department",
    "Deviation",
    "DiscountGroup",
    "Division",
    "Employee",
    "EmployeeCategory",
    "Employment",
    "EmploymentDetails",
    "EmploymentType",
    "Entitlement",
    "ExternalProduct",
    "GlobalPension",
    "GoodsReceipt",
    "GoodsReceiptLine",
    "HourlyCostAndRate",
    "Inventories",
    "Inventory",
    "InventoryLocation",
    "Invoice",
    "LeaveOfAbsence",
    "LeaveOfAbsenceType",
    "LedgerAccount",
    "MileageAllowance",
    "Municipality",
    "NextOfKin",
    "OccupationCode",
    "Order",
    "OrderGroup",
    "OrderLine",
    "Passenger",
    "PaymentType",
    "PaymentTypeOut",
    "Payslip",
    "PensionScheme",
    "PerDiemCompensation",
    "Posting",
    "Product",
    "ProductGroup",
    "ProductGroupRelation",
    "ProductInventoryLocation",
    "ProductLine",
    "ProductPrice",
    "ProductUnit",
    "ProductUnitMaster",
    "Project",
    "ProjectCategory",
    "ProjectControlForm",
    "ProjectControlFormType",
    "ProjectHourlyRate",
    "ProjectInvoiceDetails",
    "ProjectOrderLine",
    "ProjectSpecificRate",
    "ProjectSubContract",
    "PurchaseOrder",
    "PurchaseOrderIncomingInvoiceRelation",
    "Ref",
    "Reminder",
    "RemunerationType",
    "ResultBudget",
    "SalaryType",
    "SalesModule",
    "StandardTime",
    "Stocktaking",
    "Supplier",
    "SupplierInvoice",
    "SupplierProduct",
    "Task",
    "TimeClock",
    "TimesheetAllocated",
    "TimesheetEntry",
    "TimesheetProjectSalaryTypeSpecification",
    "TimesheetSalaryTypeSpecification",
    "TravelCostCategory",
    "TravelExpense",
    "TravelExpenseRate",
    "TravelExpenseRateCategory",
    "TravelExpenseRateCategoryGroup",
    "TravelExpenseZone",
    "TravelPaymentType",
    "VatReturnsComment",
    "VatReturnsVatCodeComment",
    "VatTermSizeSettings",
    "VatType",
    "Voucher",
    "VoucherMessage",
    "VoucherStatus",
    "VoucherType",
    "Week",
    "WorkingHoursScheme",
]
