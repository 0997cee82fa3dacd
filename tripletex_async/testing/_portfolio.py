"""A deterministic, generated accounting office: the data the simulator serves.

An accountant's token reaches ``companies`` client companies; ``standalone`` further
companies are reachable only by their own employee token (customers of the same
integration who are nobody's client: the accountant's token gets 403 on them and
``/company/>withLoginAccess`` does not list them). Each company has every collection
of ``RESOURCES``: the hand-built ones of a size spread around a typical small Norwegian
business, the ones generated from the spec's schemas with 3 to 20 records (children: 0
to 3 for each of up to 12 parents); one company (by default) is empty and one is heavy
in the ledger. Empty means no business data (no customers, orders, invoices, postings,
...), not nothing: like every real Tripletex company it has the basics (`BASICS`).
Records are generated per
(company, collection) on first access and cached; sizes, ids and references are known
before that, so a summary of a thousand companies costs no record at all.

Same config, same bytes: every collection draws from its own random stream, seeded by
``(seed, company, resource)``, and values two collections share are pure functions of
the records' indices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from random import Random
from types import MappingProxyType
from typing import Any

from ._calendar import Calendar
from ._context import CompanyContext, make_identity
from ._plan import (
    BASE_SIZES,
    DERIVED,
    CompanyPlan,
    LayoutTables,
    Role,
    first_ids,
    plan_company,
)
from ._records import accountant_record, build_collection, client_record, company_record
from ._records_generic import generated_records
from ._resources import CORE_RESOURCES, RESOURCES
from ._spec_plan import MAX_COMPANIES, SpecPlan

__all__ = ["BASICS", "Portfolio", "PortfolioConfig", "generate_portfolio"]

Record = dict[str, Any]

#: What every company has, the empty one too: the shared reference tables (currencies,
#: countries, VAT types, the chart of accounts) as big as in any company, one employee
#: (the administrator who owns the API token) and the addresses of the company and of
#: that employee. Tripletex sets these up when a company is created.
BASICS: Mapping[str, int | None] = MappingProxyType(
    {
        "currency": None,
        "country": None,
        "ledger/vatType": None,
        "ledger/account": None,
        "employee": 1,
        "address": 2,
    }
)

#: Company ids are 7-digit, like Tripletex's.
_COMPANY_IDS = range(1_000_000, 10_000_000)
_OFFICE = ("Regnskapsbyrå", "regnskapsbyra")


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    """What to generate. Every field has a default that gives a small, typical office."""

    seed: int = 1
    #: Client companies of the accountant.
    companies: int = 5
    #: Companies that only their own employee token reaches, not the accountant's. They
    #: are all ``normal`` (neither empty nor heavy) and get ids after the clients' in
    #: every id band, so adding them changes none of the clients' records.
    standalone: int = 0
    #: Dated records (orders, invoices, vouchers, ...) fall in this calendar year.
    year: int = 2025
    #: Multiplies the base size of every collection.
    scale: float = 1.0
    #: This many clients have no business data, only the basics (`BASICS`).
    empty_companies: int = 1
    #: This many clients have at least ``heavy_postings`` postings in ``year``.
    heavy_companies: int = 1
    heavy_postings: int = 12_000
    #: Exact sizes per resource path for every non-empty company, e.g. {"customer": 10_000}.
    #: A child collection (``order/orderline``, ``ledger/posting``) sets its parent's size.
    sizes: Mapping[str, int] | None = field(default=None, hash=False)
    #: Host part of reference urls, without scheme.
    host: str = "api-test.tripletex.tech"

    def __post_init__(self) -> None:
        if not 1 <= self.companies <= MAX_COMPANIES:
            raise ValueError(f"companies must be from 1 to {MAX_COMPANIES:,}")
        if not 0 <= self.standalone <= MAX_COMPANIES - self.companies:
            raise ValueError(f"standalone must be >= 0, with companies at most {MAX_COMPANIES:,}")
        if min(self.empty_companies, self.heavy_companies, self.heavy_postings) < 0:
            raise ValueError("empty_companies, heavy_companies and heavy_postings must be >= 0")
        if self.empty_companies + self.heavy_companies > self.companies:
            raise ValueError("empty_companies + heavy_companies must not exceed companies")
        if self.scale < 0:
            raise ValueError("scale must be >= 0")
        if "://" in self.host or "/" in self.host or not self.host:
            raise ValueError("host is a bare host name, e.g. 'api-test.tripletex.tech'")
        if not 1900 <= self.year <= 9000:
            raise ValueError("year out of range")
        sizes = dict(self.sizes or {})
        _check_sizes(sizes)
        # A private copy: the caller's dict may change, the config must not.
        object.__setattr__(self, "sizes", MappingProxyType(sizes))


def _check_sizes(sizes: Mapping[str, int]) -> None:
    for resource, size in sizes.items():
        if resource not in CORE_RESOURCES or resource == "address":
            raise ValueError(f"sizes: {resource!r} is not a resource with its own size")
        if size < 0:
            raise ValueError(f"sizes: {resource!r} must be >= 0")
    for child, parent in DERIVED.items():
        if child in sizes and parent in sizes:
            raise ValueError(f"sizes: give {child!r} or {parent!r}, not both")


class Portfolio:
    """The accountant, its clients, the standalone companies, and every company's
    collections (generated lazily)."""

    def __init__(self, config: PortfolioConfig) -> None:
        self.config = config
        self._calendar = Calendar(config.year)
        accountant_id, ids, roles = _draw_companies(config)
        alone = _draw_standalone(config, {accountant_id, *ids})
        # Clients first: their indices, and so their record ids, do not depend on
        # ``standalone``.
        normal: list[Role] = ["normal"] * len(alone)
        plans = _plan_companies(config, ids + alone, roles + normal)
        self._plans: dict[int, CompanyPlan] = {p.company_id: p for p in plans}
        self._client_ids = ids
        self._is_client = frozenset(ids)
        self._standalone_ids = alone
        self._first_ids = first_ids(plans)
        self._contexts: dict[int, CompanyContext] = {}
        self._spec_plans: dict[int, SpecPlan] = {}
        self._records: dict[tuple[int, str], list[Record]] = {}
        office = make_identity(config.seed, accountant_id, _OFFICE)
        #: The accounting office's ``Company``; its token reaches every client.
        self.accountant: Record = accountant_record(
            office, self._calendar, config.host, accountant_id
        )
        #: ``Client`` objects of ``/company/>withLoginAccess``, sorted by id.
        self.clients: list[Record] = [client_record(self._context(cid), config.host) for cid in ids]

    def company_ids(self) -> list[int]:
        """Ids of the client companies, ascending."""
        return list(self._client_ids)

    def standalone_ids(self) -> list[int]:
        """Ids of the companies only their own employee token reaches, ascending."""
        return list(self._standalone_ids)

    def has_company(self, company_id: int) -> bool:
        """Whether ``company_id`` is a company with data: a client or a standalone one."""
        return company_id in self._plans

    def is_client(self, company_id: int) -> bool:
        """Whether the accountant's token reaches ``company_id``."""
        return company_id in self._is_client

    def resources(self) -> list[str]:
        """The hand-built collections' paths, including those without a list endpoint.

        The summary counts these; the collections generated from the spec's schemas
        (`stored_resources` lists every collection) are small and left out.
        """
        return list(CORE_RESOURCES)

    def role(self, company_id: int) -> Role:
        """``normal``, ``empty`` (only the basics) or ``heavy`` (many postings)."""
        return self._plan(company_id).role

    def company(self, company_id: int) -> Record:
        """The ``Company`` of a client (``GET /company/{id}``), as its ``Client`` shows."""
        return company_record(self._context(company_id), self.config.host)

    def count(self, company_id: int, resource: str) -> int:
        """How many records ``records`` returns, without generating them."""
        if _known(resource) in CORE_RESOURCES:
            return self._plan(company_id).counts[resource]
        return self._spec_plan(company_id).count(resource)

    def id_range(self, company_id: int, resource: str) -> range:
        """The ids of the company's records of ``resource`` (dense, ascending); empty
        for records without ``id`` (``company/salesmodules``)."""
        if _known(resource) in CORE_RESOURCES:
            first = self._first_ids[resource][self._plan(company_id).index]
        elif RESOURCES[resource].key is None:
            first = self._spec_plan(company_id).first_id(resource)
        else:
            return range(0)
        return range(first, first + self.count(company_id, resource))

    def parent_ids(self, company_id: int, resource: str) -> dict[int, int]:
        """Child id -> parent id of a generated child collection, as generated (for the
        children whose schema has no field naming the parent)."""
        plan = self._spec_plan(company_id)
        link = RESOURCES[_known(resource)].parent
        if link is None or resource in CORE_RESOURCES:
            return {}
        first, parent_first = plan.first_id(resource), plan.first_id(link.parent)
        return {
            first + child: parent_first + parent
            for parent, children in plan.spans(resource)
            for child in children
        }

    def records(self, company_id: int, resource: str) -> list[Record]:
        """The company's records of ``resource``, sorted by id (generated on first call).

        The list and its records are cached and shared, and records share their nested
        ``{"id", "url"}`` references: copy a record before changing it, and replace a
        reference rather than edit it. Not locked: two threads asking at once may both
        build the (identical) collection.
        """
        key = (company_id, _known(resource))
        cached = self._records.get(key)
        if cached is None:
            if resource in CORE_RESOURCES:
                ctx = self._context(company_id)
                cached = build_collection(ctx, resource, self.config.seed)
            else:
                rng = Random(f"{self.config.seed}:{company_id}:{resource}")
                cached = generated_records(self._spec_plan(company_id), resource, rng)
            self._records[key] = cached
        return cached

    def summary(self) -> list[tuple[int, str, dict[str, int]]]:
        """(company id, name, records per resource) for every client, then every
        standalone company, without generating."""
        return [
            (cid, self._context(cid).identity.name, dict(plan.counts))
            for cid, plan in self._plans.items()
        ]

    def _plan(self, company_id: int) -> CompanyPlan:
        plan = self._plans.get(company_id)
        if plan is None:
            raise KeyError(f"no company {company_id} in the portfolio")
        return plan

    def _spec_plan(self, company_id: int) -> SpecPlan:
        plan = self._spec_plans.get(company_id)
        if plan is None:
            plan = SpecPlan(self._context(company_id), self.config.host)
            self._spec_plans[company_id] = plan
        return plan

    def _context(self, company_id: int) -> CompanyContext:
        ctx = self._contexts.get(company_id)
        if ctx is None:
            plan = self._plan(company_id)
            seed = self.config.seed
            firsts = {r: ids[plan.index] for r, ids in self._first_ids.items()}
            identity = make_identity(seed, company_id)
            ctx = CompanyContext(plan, firsts, self.config.host, self._calendar, identity, seed)
            self._contexts[company_id] = ctx
        return ctx


def _known(resource: str) -> str:
    if resource not in RESOURCES or RESOURCES[resource].kind == "snapshot":
        raise KeyError(f"unknown resource {resource!r}")
    return resource


def _draw_companies(config: PortfolioConfig) -> tuple[int, list[int], list[Role]]:
    """(accountant id, sorted client ids, role of each client)."""
    rng = Random(f"{config.seed}:companies")
    drawn = rng.sample(_COMPANY_IDS, config.companies + 1)
    ids = sorted(drawn[1:])
    order = list(range(config.companies))
    rng.shuffle(order)
    roles: list[Role] = ["normal"] * config.companies
    for index in order[: config.empty_companies]:
        roles[index] = "empty"
    for index in order[config.empty_companies :][: config.heavy_companies]:
        roles[index] = "heavy"
    return drawn[0], ids, roles


def _draw_standalone(config: PortfolioConfig, taken: set[int]) -> list[int]:
    """Sorted ids of the standalone companies, none of them in ``taken``; from a stream
    of their own, so that the clients' draw is the same with or without them."""
    if not config.standalone:
        return []
    rng = Random(f"{config.seed}:standalone")
    drawn = rng.sample(_COMPANY_IDS, config.standalone + len(taken))
    return sorted([i for i in drawn if i not in taken][: config.standalone])


def _plan_companies(
    config: PortfolioConfig, ids: list[int], roles: list[Role]
) -> list[CompanyPlan]:
    """The sizes of every company's collections, in the order of ``ids``."""
    tables = LayoutTables.for_seed(config.seed)
    sizes = config.sizes or {}
    plans = [
        plan_company(
            config.seed,
            index,
            company_id,
            roles[index],
            tables=tables,
            scale=config.scale,
            sizes=sizes,
            heavy_postings=config.heavy_postings,
        )
        for index, company_id in enumerate(ids)
    ]
    return [_with_basics(p, config) if p.role == "empty" else p for p in plans]


def _with_basics(plan: CompanyPlan, config: PortfolioConfig) -> CompanyPlan:
    """An empty company's plan with `BASICS`: reference tables of the size every company
    has (their base size times ``scale``, or the configured size), nothing else."""
    sizes = config.sizes or {}
    counts = dict(plan.counts)
    for resource, fixed in BASICS.items():
        if fixed is None:
            fixed = sizes.get(resource, max(1, round(BASE_SIZES[resource] * config.scale)))
        counts[resource] = fixed
    return replace(plan, counts=MappingProxyType(counts))


def generate_portfolio(config: PortfolioConfig | None = None) -> Portfolio:
    """A portfolio for ``config`` (default config if None); records come on demand."""
    return Portfolio(config if config is not None else PortfolioConfig())
