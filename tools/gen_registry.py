"""Developer tool: classify every GET list endpoint of the Tripletex spec, writing
``tripletex_async/_spec/registry.json`` and ``docs/endpoints.md``.

Run it when the spec changes::

    python -m tools.gen_registry path/to/tripletex-openapi-original.json

A list endpoint is a ``GET`` path taking ``from`` and ``count`` (176 in spec 2.74). Each
is one of:

- ``plain``: no required query parameter (or only ones whose value a sync knows, such as
  ``includeNonApproved=true``): read whole, like ``/customer`` today;
- ``dated``: a required from/to date pair (``invoiceDateFrom``/``invoiceDateTo``): read in
  windows, like ``/invoice``;
- ``child``: a required parent id (``bankStatementId``): read once per record of the
  parent resource;
- ``snapshot``: a report as of a date or for a period (``/ledger/openPost?date=``,
  ``/balanceSheet``): stored with that date in its key;
- ``excluded``: not synced, with the reason (a search or wildcard form of another list, a
  dashboard, a deprecated endpoint, a parameter no sync can know).

Automatic rules decide what the spec makes plain (no required parameter; a required pair
of dates; ``deprecated``); the tables below decide the rest, and an endpoint neither
covers stops the tool with its name: a new list path in a new spec is never silently
synced or silently skipped.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._spec_file import spec_from_args

__all__ = [
    "CHILDREN",
    "EXCLUDED",
    "SNAPSHOTS",
    "Unclassified",
    "build",
    "group_of",
    "main",
    "render_docs",
]

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "tripletex_async" / "_spec" / "registry.json"
DOCS = ROOT / "docs" / "endpoints.md"

#: Query params every list takes; never "required" in the sense of a sync.
PAGING = frozenset({"from", "count", "sorting", "fields"})

#: Not synced, and why. Reasons are for people reading docs/endpoints.md.
EXCLUDED: dict[str, str] = {
    "/accountantDashboard/news": "dashboard: news for accountants, not company data",
    "/accountantDashboard/news/tags": "dashboard: tags of the accountants' news",
    "/accountingOffice/reconciliations/{reconciliationId}/control": (
        "needs an accounting office's reconciliation id, which no list gives"
    ),
    "/activity/>forTimeSheet": "the activities of /activity that one project offers a timesheet",
    "/asset/{id}/postings": "the postings of /ledger/posting on one asset",
    "/balance/reconciliation/{reconciliationId}/account/{accountId}/vouchers": (
        "needs an open balance reconciliation's id and account, which no list gives"
    ),
    "/bank/reconciliation/internal/autoposting/suggestions": (
        "internal: suggestions of the bank reconciliation screen"
    ),
    "/bank/reconciliation/internal/match": "internal: matches of the bank reconciliation screen",
    "/bank/reconciliation/internal/paymentType": (
        "internal: payment types of the bank reconciliation screen (/bank/reconciliation/"
        "paymentType is synced)"
    ),
    "/bank/reconciliation/match/query": "wildcard search over /bank/reconciliation/match",
    "/company/>withLoginAccess": (
        "the companies a token reaches: what the engine reads to find them, not company data"
    ),
    "/department/query": "wildcard search over /department",
    "/documentArchive/account/{id}": "document files of one object: fetched on demand, not synced",
    "/documentArchive/customer/{id}": "document files of one object: fetched on demand, not synced",
    "/documentArchive/dynamicControlForm/{id}": (
        "document files of one object: fetched on demand, not synced"
    ),
    "/documentArchive/employee/{id}": "document files of one object: fetched on demand, not synced",
    "/documentArchive/product/{id}": "document files of one object: fetched on demand, not synced",
    "/documentArchive/project/{id}": "document files of one object: fetched on demand, not synced",
    "/documentArchive/supplier/{id}": "document files of one object: fetched on demand, not synced",
    "/employee/entitlement/client": (
        "the accountant's own entitlements in client companies, not company data"
    ),
    "/employee/searchForEmployeesAndContacts": "search over /employee and /contact",
    "/event/subscription": "webhook subscriptions: configuration (tripletex-async webhooks)",
    "/incomingInvoice/search": "search view of supplier invoices (/supplierInvoice is synced)",
    "/ledger/accountingDimensionName/search": "search over /ledger/accountingDimensionName",
    "/ledger/postingByDate": "the postings of /ledger/posting, in date order",
    "/ledger/voucher/>externalVoucherNumber": "one voucher looked up by its external number",
    "/ledger/voucher/>voucherReception": "the vouchers of the reception inbox screen",
    "/municipality/query": "wildcard search over /municipality",
    "/product/group/query": "wildcard search over /product/group",
    "/product/unit/query": "wildcard search over /product/unit",
    "/project/>forTimeSheet": "the projects of /project that one employee may log time on",
    "/project/batchPeriod/budgetStatusByProjectIds": (
        "a report for given project ids, derived from what is synced"
    ),
    "/project/batchPeriod/invoicingReserveByProjectIds": (
        "a report for given project ids, derived from what is synced"
    ),
    "/project/orderline/query": (
        "wildcard search; what it returns without a query is not documented "
        "(/project/orderline is synced per project)"
    ),
    "/project/subcontract/query": (
        "wildcard search; what it returns without a query is not documented "
        "(/project/subcontract is synced per project)"
    ),
    "/project/{id}/period/monthlyStatus": "a report per project and month, derived from timesheets",
    "/resultbudget/department/{id}": "the budgets of /resultbudget for one department",
    "/resultbudget/employee/{id}": "the budgets of /resultbudget for one employee",
    "/resultbudget/product/{id}": "the budgets of /resultbudget for one product",
    "/resultbudget/project/{id}": "the budgets of /resultbudget for one project",
    "/supplierCustomer/search": "search over /supplier and /customer",
    "/supportDashboard/bankruptAndExcludedCustomers": "dashboard for Tripletex's support",
    "/timesheet/entry/>recentActivities": "the activities one employee used lately (a UI list)",
    "/timesheet/entry/>recentProjects": "the projects one employee used lately (a UI list)",
    "/timesheet/month/byMonthNumberList": (
        "needs employee ids and months: a per-employee monthly status report"
    ),
    "/transportType": "needs a transport supplier code; reference data of a BETA feature",
    "/employee/employment/employmentType/maritimeEmploymentType": (
        "needs a maritime type code no list gives"
    ),
    "/yearEnd/{yearEndReportId}/researchAndDevelopment2024": (
        "needs a year-end report id, which no list gives"
    ),
}

#: Child lists: the required parameter naming the parent, and the parent's list path.
CHILDREN: dict[str, tuple[str, str]] = {
    "/bank/statement/transaction": ("bankStatementId", "/bank/statement"),
    "/inventory/stocktaking/productline": ("stocktakingId", "/inventory/stocktaking"),
    "/product/productPrice": ("productId", "/product"),
    "/project/controlForm": ("projectId", "/project"),
    "/project/orderline": ("projectId", "/project"),
    "/project/subcontract": ("projectId", "/project"),
    "/project/task": ("projectId", "/project"),
    "/purchaseOrder/deviation": ("purchaseOrderId", "/purchaseOrder"),
    "/purchaseOrder/goodsReceiptLine": ("purchaseOrderId", "/purchaseOrder"),
    "/travelExpense/costParticipant/{costId}/costParticipants": ("costId", "/travelExpense/cost"),
}

#: Reports as of a date (one param) or for a period (a from/to pair).
SNAPSHOTS: dict[str, tuple[str, ...]] = {
    "/balanceSheet": ("dateFrom", "dateTo"),
    "/ledger": ("dateFrom", "dateTo"),
    "/ledger/openPost": ("date",),
    "/ledger/posting/openPost": ("date",),
    # Stock per product over a period ("dateTo ... to and incl."): a report, no dated rows.
    "/inventory/inventories": ("dateFrom", "dateTo"),
}

#: The record field a dated list's date pair filters on, where it is not the pair's stem
#: (``orderDateFrom`` -> ``orderDate``) or ``date``; a dotted path reaches into a reference.
DATE_FIELDS: dict[str, str] = {
    "/reminder": "reminderDate",
    "/invoice/details": "invoice.invoiceDate",
}

#: The natural key of a record whose schema has no ``id`` (a report's rows, a module's
#: name): the field, a dotted path into a reference for ``account.id``.
KEYS: dict[str, str] = {
    "BalanceSheetAccount": "account.id",
    "LedgerAccount": "account.id",
    "Inventories": "product.id",
    "SalesModule": "name",
    "VatReturnsVatCodeComment": "vatCode",
    "VatReturnsComment": "technicalName",
}

#: Required params whose value a sync knows, sent with every page.
FIXED: dict[str, dict[str, str]] = {
    "/ledger/voucher/>nonPosted": {"includeNonApproved": "true"},
}

#: Groups by path prefix, the longest prefix first; the issue's ten groups.
GROUPS: tuple[tuple[str, str], ...] = (
    ("/balanceSheet", "reports"),
    ("/ledger/openPost", "reports"),
    ("/ledger/posting/openPost", "reports"),
    ("/ledger/vatType", "reference data"),
    ("/ledger", "ledger"),
    ("/voucherStatus", "ledger"),
    ("/voucherMessage", "ledger"),
    ("/vatReturns", "ledger"),
    ("/vatTermSizeSettings", "ledger"),
    ("/yearEnd", "ledger"),
    ("/resultbudget", "ledger"),
    ("/asset", "ledger"),
    ("/balance", "ledger"),
    ("/accountingOffice", "ledger"),
    ("/invoice", "invoicing"),
    ("/order", "invoicing"),
    ("/reminder", "invoicing"),
    ("/customer", "invoicing"),
    ("/supplier", "invoicing"),
    ("/supplierInvoice", "invoicing"),
    ("/supplierCustomer", "invoicing"),
    ("/incomingInvoice", "invoicing"),
    ("/contact", "invoicing"),
    ("/deliveryAddress", "invoicing"),
    ("/crm", "invoicing"),
    ("/salary", "salary"),
    ("/pension", "salary"),
    ("/employee/employment", "salary"),
    ("/travelExpense", "travel"),
    ("/transportType", "travel"),
    ("/bank", "bank"),
    ("/project", "project"),
    ("/activity", "project"),
    ("/timesheet", "project"),
    ("/product", "product"),
    ("/inventory", "product"),
    ("/purchaseOrder", "product"),
    ("/pickupPoint", "product"),
    ("/employee", "employee"),
    ("/department", "employee"),
    ("/division", "employee"),
    ("/company", "employee"),
    ("/country", "reference data"),
    ("/currency", "reference data"),
    ("/municipality", "reference data"),
    ("/event", "reference data"),
    ("/documentArchive", "reference data"),
    ("/accountantDashboard", "reference data"),
    ("/supportDashboard", "reference data"),
)

_DATE_PAIR = re.compile(r"^(?P<stem>.*?)(?P<side>From|To)$")


class Unclassified(Exception):
    """A list endpoint none of the rules or tables classifies."""


@dataclass(frozen=True)
class Endpoint:
    """One list endpoint as the registry stores it."""

    path: str
    name: str
    kind: str
    group: str
    summary: str
    model: str
    beta: bool = False
    changed_since: bool = False
    date_params: tuple[str, ...] = ()
    parent: tuple[str, str] | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    #: Boolean query params with a default in the spec. Some hide rows unless asked
    #: (``/customer``'s ``isInactive: false``), others only narrow when set
    #: (``withDeviationOnly``): the data a sync's partitions are decided from.
    boolean_defaults: Mapping[str, bool] = field(default_factory=dict)
    #: ``dated``: the record field (dotted into a reference) the date pair filters on.
    date_field: str = ""
    #: Whether the pair's "to" includes its day (Tripletex's usual "to" excludes it).
    to_inclusive: bool = False
    #: The natural key of a record whose schema has no ``id`` (see `KEYS`).
    key: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "group": self.group,
            "summary": self.summary,
            "model": self.model,
        }
        if self.beta:
            out["beta"] = True
        if self.changed_since:
            out["changed_since"] = True
        if self.date_params:
            out["date_params"] = list(self.date_params)
        if self.parent:
            out["parent"] = {"param": self.parent[0], "path": self.parent[1]}
        if self.params:
            out["params"] = dict(self.params)
        if self.boolean_defaults:
            out["boolean_defaults"] = dict(self.boolean_defaults)
        if self.date_field:
            out["date_field"] = self.date_field
        if self.to_inclusive:
            out["to_inclusive"] = True
        if self.key:
            out["key"] = self.key
        if self.reason:
            out["reason"] = self.reason
        return out


#: Paths whose group is not their prefix's: ``/ledger`` is the general ledger report.
EXACT_GROUPS: dict[str, str] = {"/ledger": "reports"}


def group_of(path: str) -> str:
    """The resource group of ``path`` (by its longest listed prefix)."""
    if path in EXACT_GROUPS:
        return EXACT_GROUPS[path]
    for prefix, group in GROUPS:
        if path == prefix or path.startswith(prefix + "/"):
            return group
    raise Unclassified(f"{path}: no resource group for this path")


def _params(spec: Mapping[str, Any], op: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for param in op.get("parameters", []):
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        out.append(param)
    return out


def _model(spec: Mapping[str, Any], op: Mapping[str, Any]) -> str:
    """The item schema of a list response (``ListResponseInvoice`` -> ``Invoice``)."""
    content = op.get("responses", {}).get("200", {}).get("content", {})
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"].get(name, {})
        items = schema.get("properties", {}).get("values", {}).get("items", {})
        if "$ref" in items:
            return str(items["$ref"].rsplit("/", 1)[-1])
        return str(name).removeprefix("ListResponse")
    return ""


def _name(path: str) -> str:
    """The resource name of a path: without its leading ``/``, ``>`` and path params
    (``/travelExpense/costParticipant/{costId}/costParticipants`` ->
    ``travelExpense/costParticipant/costParticipants``)."""
    steps = [s.replace(">", "") for s in path.strip("/").split("/") if not s.startswith("{")]
    return "/".join(steps)


def _summary(op: Mapping[str, Any]) -> str:
    text = str(op.get("summary") or op.get("description") or "").strip()
    text = re.sub(r"^\[(BETA|DEPRECATED)\]\s*", "", text)
    return text.splitlines()[0].strip() if text else ""


def _date_pair(names: list[str], formats: Mapping[str, str]) -> tuple[str, str] | None:
    """A from/to pair of date params among ``names`` (``dateFrom``/``dateTo``)."""
    if len(names) != 2:
        return None
    sides: dict[str, str] = {}
    stems = set()
    for name in names:
        match = _DATE_PAIR.match(name)
        if match is None or formats.get(name) not in ("", "date"):
            return None
        sides[match["side"]] = name
        stems.add(match["stem"])
    if set(sides) != {"From", "To"} or len(stems) != 1:
        return None
    return sides["From"], sides["To"]


def classify(spec: Mapping[str, Any], path: str, op: Mapping[str, Any]) -> Endpoint:
    """The registry entry of one list endpoint; `Unclassified` when no rule decides."""
    params = _params(spec, op)
    query = {p["name"]: p for p in params if p.get("in") == "query"}
    required = sorted(n for n, p in query.items() if p.get("required") and n not in PAGING)
    formats = {n: str(p.get("schema", {}).get("format", "")) or "" for n, p in query.items()}
    summary = str(op.get("summary") or "")
    beta = summary.startswith("[BETA]")
    deprecated = bool(op.get("deprecated")) or summary.startswith("[DEPRECATED]")
    base = Endpoint(
        path=path,
        name=_name(path),
        kind="plain",
        group=group_of(path),
        summary=_summary(op),
        model=_model(spec, op),
        beta=beta,
        changed_since="changedSince" in query,
        boolean_defaults={
            name: bool(p["schema"]["default"])
            for name, p in sorted(query.items())
            if p.get("schema", {}).get("type") == "boolean" and "default" in p.get("schema", {})
        },
    )
    if path in EXCLUDED:
        return replace(base, kind="excluded", reason=EXCLUDED[path])
    if deprecated:
        return replace(base, kind="excluded", reason="deprecated in the spec")
    fields = spec["components"]["schemas"].get(base.model, {}).get("properties", {})
    if "id" not in fields:
        if base.model not in KEYS:
            raise Unclassified(f"{path}: {base.model} has no id, and no key in KEYS")
        base = replace(base, key=KEYS[base.model])
    if path in CHILDREN:
        return replace(base, kind="child", parent=CHILDREN[path])
    if path in SNAPSHOTS:
        report = SNAPSHOTS[path]
        inclusive = len(report) == 2 and _inclusive(query[report[1]])
        return replace(base, kind="snapshot", date_params=report, to_inclusive=inclusive)
    if "{" in path:
        raise Unclassified(f"{path}: a path parameter, and no child or exclusion rule")
    fixed = FIXED.get(path, {})
    left = [name for name in required if name not in fixed]
    if not left:
        return replace(base, params=fixed)
    pair = _date_pair(left, {n: formats.get(n, "") for n in left})
    if pair is not None:
        stem = pair[0].removesuffix("From")
        found = DATE_FIELDS.get(path) or next((f for f in (stem, "date") if f in fields), "")
        if not found:
            raise Unclassified(f"{path}: no record field for {pair[0]}, and none in DATE_FIELDS")
        return replace(
            base,
            kind="dated",
            date_params=pair,
            params=fixed,
            date_field=found,
            to_inclusive=_inclusive(query[pair[1]]),
        )
    raise Unclassified(f"{path}: required {', '.join(left)}, and no rule for them")


def _inclusive(param: Mapping[str, Any]) -> bool:
    """Whether a "to" date param includes its day: its description says "incl" and
    not "exclu" (most say "To and excluding")."""
    text = str(param.get("description", "")).lower()
    return "incl" in text and "exclu" not in text


def list_paths(spec: Mapping[str, Any]) -> list[str]:
    """Every GET path taking ``from`` and ``count``."""
    out = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        names = {p["name"] for p in _params(spec, op) if p.get("in") == "query"}
        if {"from", "count"} <= names:
            out.append(path)
    return sorted(out)


def build(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The registry: every list endpoint classified (raises `Unclassified` otherwise)."""
    endpoints = [classify(spec, p, spec["paths"][p]["get"]) for p in list_paths(spec)]
    # A parent is read whole for its ids (`fields=id`): a plain list.
    problems = [
        f"{e.path}: parent {e.parent[1]} is not a plain synced list"
        for e in endpoints
        if e.parent and not any(o.path == e.parent[1] and o.kind == "plain" for o in endpoints)
    ]
    names = [e.name for e in endpoints if e.kind != "excluded"]
    problems += [
        f"{name}: two endpoints have this name" for name in set(names) if names.count(name) > 1
    ]
    if problems:
        raise Unclassified("; ".join(problems))
    return {
        "spec_version": str(spec.get("info", {}).get("version", "")),
        "endpoints": [e.to_json() for e in endpoints],
    }


def render_docs(registry: Mapping[str, Any]) -> str:
    """``docs/endpoints.md``: the synced endpoints by group and kind, and the excluded ones
    with their reasons."""
    from tripletex_async import DEFAULT_RESOURCES

    endpoints = registry["endpoints"]
    synced = [e for e in endpoints if e["kind"] != "excluded"]
    excluded = [e for e in endpoints if e["kind"] == "excluded"]
    default = set(DEFAULT_RESOURCES)
    lines = [
        "# Tripletex list endpoints",
        "",
        "Generated by `python -m tools.gen_registry` from Tripletex's OpenAPI spec "
        f"{registry['spec_version']}: every `GET` path taking `from` and `count` "
        f"({len(endpoints)}): {len(synced)} synced (`--resources all`), of which "
        f"{len(default)} are the default set (a run without `--resources`), and "
        f"{len(excluded)} not synced, each with its reason. Do not edit.",
        "",
        "Kinds: *plain* (read whole), *dated* (read in windows of the date pair), *child* "
        "(read once per record of the parent list), *snapshot* (a report as of a date or "
        "for a period).",
        "",
        "## To sync",
        "",
        "| group | endpoint | kind | parameters | model | default | what it is |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in sorted(synced, key=lambda e: (e["group"], e["path"])):
        extra = ", ".join(e.get("date_params", []))
        if "parent" in e:
            extra = f"`{e['parent']['param']}` of `{e['parent']['path']}`"
        if "params" in e:
            fixed = ", ".join(f"{k}={v}" for k, v in e["params"].items())
            extra = f"{extra}, {fixed}" if extra else fixed
        beta = " (BETA)" if e.get("beta") else ""
        now = "yes" if e["name"] in default else ""
        lines.append(
            f"| {e['group']} | `{e['path']}`{beta} | {e['kind']} | {extra} | {e['model']} "
            f"| {now} | {_cell(e['summary'])} |"
        )
    lines += ["", "## Not synced", "", "| endpoint | why |", "|---|---|"]
    for e in excluded:
        lines.append(f"| `{e['path']}` | {_cell(e['reason'])} |")
    return "\n".join(lines) + "\n"


#: The README's generated resource table sits between these lines.
README_START = "<!-- resources: generated by python -m tools.gen_registry -->"
README_END = "<!-- /resources -->"
README = ROOT / "README.md"


def render_readme_table(registry: Mapping[str, Any]) -> str:
    """The README's table of what is synced: per group, its resources by kind, the
    default set in bold (between `README_START` and `README_END`, markers included)."""
    from tripletex_async import DEFAULT_RESOURCES

    groups: dict[str, dict[str, list[str]]] = {}
    for e in registry["endpoints"]:
        if e["kind"] != "excluded":
            name = f"**{e['name']}**" if e["name"] in DEFAULT_RESOURCES else e["name"]
            groups.setdefault(e["group"], {}).setdefault(e["kind"], []).append(name)
    order = ("ledger", "invoicing", "salary", "travel", "bank", "project", "product",
             "employee", "reference data", "reports")  # fmt: skip
    head = "| group | plain | dated | child | snapshot |"
    lines = [README_START, "", head, "|---|---|---|---|---|"]
    for group in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        kinds = groups[group]
        cells = [", ".join(kinds.get(k, [])) for k in ("plain", "dated", "child", "snapshot")]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", README_END])


def with_readme_table(readme: str, table: str) -> str:
    """``readme`` with its generated table replaced by ``table``."""
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)
    return readme[:start] + table + readme[end:]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(registry: Mapping[str, Any]) -> str:
    """The registry as committed: one endpoint per line, keys sorted."""
    rows = ",\n".join(
        "    " + json.dumps(e, sort_keys=True, ensure_ascii=False) for e in registry["endpoints"]
    )
    return (
        "{\n"
        f'  "spec_version": {json.dumps(registry["spec_version"])},\n'
        f'  "endpoints": [\n{rows}\n  ]\n'
        "}\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Write the registry and the docs from the spec at ``argv[0]``."""
    spec = spec_from_args(argv, "gen_registry")
    if spec is None:
        return 2
    try:
        registry = build(spec)
    except Unclassified as exc:
        print(f"unclassified list endpoint: {exc}", file=sys.stderr)
        return 1
    REGISTRY.write_text(render(registry), encoding="utf-8")
    DOCS.write_text(render_docs(registry), encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    README.write_text(with_readme_table(readme, render_readme_table(registry)), encoding="utf-8")
    print(f"{len(registry['endpoints'])} endpoints -> {REGISTRY.name}, {DOCS.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
