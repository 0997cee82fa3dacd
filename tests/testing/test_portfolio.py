"""The generated portfolio: deterministic, consistent, and shaped as configured."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tripletex_async.testing import _portfolio
from tripletex_async.testing._portfolio import Portfolio, PortfolioConfig, generate_portfolio
from tripletex_async.testing._resources import RESOURCES

from .fakekit import refs

SMALL = PortfolioConfig(seed=3, companies=4, scale=0.05, heavy_companies=0)
#: Dated resources filtering on a field of their own (not one of a referenced record).
DATED = [r for r, info in RESOURCES.items() if info.date_field and "." not in info.date_field]


@pytest.fixture(scope="module")
def small() -> Portfolio:
    return generate_portfolio(SMALL)


@pytest.fixture(scope="module")
def heavy() -> Portfolio:
    return generate_portfolio(
        PortfolioConfig(seed=5, companies=2, scale=0.05, empty_companies=0, heavy_companies=1)
    )


def _company(portfolio: Portfolio, role: str) -> int:
    return next(c for c in portfolio.company_ids() if portfolio.role(c) == role)


def _dump(portfolio: Portfolio, order: list[tuple[int, str]]) -> dict[tuple[int, str], bytes]:
    return {key: json.dumps(portfolio.records(*key)).encode() for key in order}


def test_same_config_gives_identical_records_in_any_access_order() -> None:
    """Two portfolios of one config agree byte for byte, whatever is generated first."""
    first, second = generate_portfolio(SMALL), generate_portfolio(SMALL)
    keys = [(c, r) for c in first.company_ids() for r in first.resources()]
    assert _dump(first, keys) == _dump(second, keys[::-1])
    assert first.clients == second.clients
    assert first.accountant == second.accountant


def test_different_seeds_give_different_data() -> None:
    """The seed matters: another seed gives other companies and records."""
    other = generate_portfolio(PortfolioConfig(seed=4, companies=4, scale=0.05))
    assert other.company_ids() != generate_portfolio(SMALL).company_ids()


def test_ids_are_unique_per_resource_across_companies(small: Portfolio) -> None:
    """No two records of one resource share an id, in any company."""
    for resource in small.resources():
        ids = [r["id"] for c in small.company_ids() for r in small.records(c, resource)]
        assert len(ids) == len(set(ids)), resource


def test_ids_stay_below_the_simulators_own_numbering(small: Portfolio) -> None:
    """Generated ids are positive and below 2,000,000,000, where created objects start."""
    for company in small.company_ids():
        for resource in small.resources():
            ids = small.id_range(company, resource)
            assert not ids or (ids.start > 0 and ids.stop < 2_000_000_000)


def test_records_are_sorted_by_id_and_match_id_range(small: Portfolio) -> None:
    """records() is in id order and covers exactly id_range()."""
    company = _company(small, "normal")
    for resource in small.resources():
        ids = [r["id"] for r in small.records(company, resource)]
        assert ids == list(small.id_range(company, resource))


def test_references_resolve_inside_the_same_company(small: Portfolio) -> None:
    """Every reference in every record names a record of the same company."""
    for company in small.company_ids():
        known = {r: set(small.id_range(company, r)) for r in small.resources()}
        for resource in small.resources():
            for record in small.records(company, resource):
                for ref in refs({k: v for k, v in record.items() if k != "changes"}):
                    path = ref["url"].split("/v2/", 1)[1].rsplit("/", 1)[0]
                    assert ref["id"] in known[path], (resource, record["id"], ref)


def test_client_references_resolve_in_their_company(small: Portfolio) -> None:
    """A client's address and currency are records of that client company, the empty
    company's too."""
    for client in small.clients:
        assert client["address"]["id"] in small.id_range(client["id"], "address")
        assert client["currency"]["id"] in small.id_range(client["id"], "currency")


def test_empty_company_has_no_business_data(small: Portfolio) -> None:
    """The empty company has nothing but the basics: no customer, order, posting, ..."""
    company = _company(small, "empty")
    for resource in small.resources():
        if resource not in _portfolio.BASICS:
            assert small.count(company, resource) == 0, resource
            assert small.records(company, resource) == [], resource
    for resource in RESOURCES:
        if RESOURCES[resource].generated and RESOURCES[resource].kind != "snapshot":
            assert small.count(company, resource) == 0, resource


def test_empty_company_has_the_basics(small: Portfolio) -> None:
    """The empty company has currencies, countries, VAT types, accounts, an employee and
    addresses, as many reference rows as a normal company."""
    empty, normal = _company(small, "empty"), _company(small, "normal")
    for resource in ("currency", "country", "ledger/vatType", "ledger/account"):
        assert small.count(empty, resource) == small.count(normal, resource) >= 1
    assert small.count(empty, "employee") == 1
    assert small.count(empty, "address") == 2
    assert small.records(empty, "currency")[0]["code"] == "NOK"
    employee = small.records(empty, "employee")[0]
    assert employee["address"]["id"] in small.id_range(empty, "address")


def test_other_companies_have_every_collection(small: Portfolio) -> None:
    """Non-empty companies have at least one record of each resource."""
    for company in small.company_ids():
        if small.role(company) != "empty":
            assert all(small.count(company, r) >= 1 for r in small.resources())


def test_heavy_company_has_enough_postings_in_the_year(heavy: Portfolio) -> None:
    """The heavy company has at least heavy_postings postings dated in the year."""
    postings = heavy.records(_company(heavy, "heavy"), "ledger/posting")
    in_year = [p for p in postings if p["date"].startswith("2025-")]
    assert len(in_year) >= 12_000


def test_heavy_company_spreads_postings_over_days_and_months(heavy: Portfolio) -> None:
    """Some month exceeds 1,000 postings but no single day reaches 10,000."""
    postings = heavy.records(_company(heavy, "heavy"), "ledger/posting")
    per_day = Counter(p["date"] for p in postings)
    per_month = Counter(p["date"][:7] for p in postings)
    assert max(per_day.values()) <= 10_000
    assert max(per_month.values()) > 1_000


def test_dated_records_fall_inside_the_year(small: Portfolio) -> None:
    """Each dated resource's date field lies in [year-01-01, year+1-01-01)."""
    for company in small.company_ids():
        for resource in DATED:
            field = RESOURCES[resource].date_field
            assert field is not None
            dates = {r[field] for r in small.records(company, resource)}
            assert all("2025-01-01" <= d < "2026-01-01" for d in dates), resource


def test_count_needs_no_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """count() and summary() answer without building a single record."""
    calls: list[str] = []

    def spy(ctx: object, resource: str, seed: int) -> list[dict[str, Any]]:
        calls.append(resource)
        return []

    monkeypatch.setattr(_portfolio, "build_collection", spy)
    portfolio = generate_portfolio(PortfolioConfig(companies=1_000, empty_companies=10))
    portfolio.summary()
    portfolio.count(portfolio.company_ids()[0], "customer")
    assert calls == []


def test_count_equals_the_number_of_records() -> None:
    """count() asked first agrees with len(records()) asked afterwards."""
    portfolio = generate_portfolio(SMALL)
    keys = [(c, r) for c in portfolio.company_ids() for r in portfolio.resources()]
    counts = {key: portfolio.count(*key) for key in keys}
    assert counts == {key: len(portfolio.records(*key)) for key in keys}


def test_summary_lists_every_client_with_its_counts(small: Portfolio) -> None:
    """summary() has one row per client: id, name and per-resource counts."""
    rows = small.summary()
    assert [row[0] for row in rows] == small.company_ids()
    for company, name, counts in rows:
        assert name == next(c["name"] for c in small.clients if c["id"] == company)
        assert counts == {r: small.count(company, r) for r in small.resources()}


def test_urls_have_host_and_path_but_no_scheme() -> None:
    """A record's url is {host}/v2/{path}/{id}, without http(s)://."""
    portfolio = generate_portfolio(PortfolioConfig(seed=2, scale=0.05, host="tripletex.no"))
    company = _company(portfolio, "normal")
    for resource in portfolio.resources():
        for record in portfolio.records(company, resource)[:5]:
            assert record["url"] == f"tripletex.no/v2/{resource}/{record['id']}"
    assert portfolio.clients[0]["url"].startswith("tripletex.no/v2/company/")


def test_vouchers_balance(small: Portfolio) -> None:
    """The postings of every voucher sum to zero and list it as their voucher."""
    company = _company(small, "normal")
    postings = {p["id"]: p for p in small.records(company, "ledger/posting")}
    for voucher in small.records(company, "ledger/voucher"):
        rows = [postings[ref["id"]] for ref in voucher["postings"]]
        assert len(rows) >= 2
        assert round(sum(p["amount"] for p in rows), 2) == 0
        assert {p["voucher"]["id"] for p in rows} == {voucher["id"]}
        assert {p["date"] for p in rows} == {voucher["date"]}


def test_orders_and_lines_point_at_each_other(small: Portfolio) -> None:
    """An order lists exactly the lines whose order is that order (1 to 5 of them)."""
    company = _company(small, "normal")
    lines = small.records(company, "order/orderline")
    by_order = Counter(line["order"]["id"] for line in lines)
    for order in small.records(company, "order"):
        listed = [ref["id"] for ref in order["orderLines"]]
        assert 1 <= len(listed) <= 5
        assert by_order[order["id"]] == len(listed)


def test_invoices_bill_their_orders_customer_and_lines(small: Portfolio) -> None:
    """An invoice has its order's customer, and its amount is the sum of its lines."""
    company = _company(small, "normal")
    orders = {o["id"]: o for o in small.records(company, "order")}
    lines = {line["id"]: line for line in small.records(company, "order/orderline")}
    for invoice in small.records(company, "invoice"):
        order = orders[invoice["orders"][0]["id"]]
        assert invoice["customer"] == order["customer"]
        total = sum(lines[ref["id"]]["amountExcludingVatCurrency"] for ref in order["orderLines"])
        assert invoice["amountExcludingVat"] == pytest.approx(total, abs=0.01)


def test_changes_are_ordered_with_oslo_offsets(small: Portfolio) -> None:
    """changes start with CREATE, rise in time, carry Oslo's offset, and set version."""
    oslo = ZoneInfo("Europe/Oslo")
    company = _company(small, "normal")
    for resource in ("customer", "ledger/voucher"):
        for record in small.records(company, resource):
            changes = record["changes"]
            assert [c["changeType"] for c in changes] == ["CREATE"] + ["UPDATE"] * (
                len(changes) - 1
            )
            stamps = [datetime.fromisoformat(c["timestamp"]) for c in changes]
            assert stamps == sorted(stamps)
            for stamp in stamps:
                assert stamp.utcoffset() == stamp.replace(tzinfo=oslo).utcoffset()
            assert record["version"] == len(changes) - 1


def test_size_override_is_exact_for_non_empty_companies() -> None:
    """sizes={"customer": n} gives exactly n customers in every non-empty company."""
    config = PortfolioConfig(seed=9, companies=3, scale=0.05, sizes={"customer": 37})
    portfolio = generate_portfolio(config)
    for company in portfolio.company_ids():
        expected = 0 if portfolio.role(company) == "empty" else 37
        assert portfolio.count(company, "customer") == expected


def test_posting_override_sets_exact_postings_and_whole_vouchers() -> None:
    """sizes={"ledger/posting": n} gives n postings in vouchers of at least two."""
    config = PortfolioConfig(
        seed=9, companies=1, empty_companies=0, heavy_companies=0, scale=0.05,
        sizes={"ledger/posting": 1_001},
    )  # fmt: skip
    portfolio = generate_portfolio(config)
    company = portfolio.company_ids()[0]
    assert len(portfolio.records(company, "ledger/posting")) == 1_001
    vouchers = portfolio.records(company, "ledger/voucher")
    assert all(len(v["postings"]) >= 2 for v in vouchers)


def test_clients_are_sorted_with_valid_organization_numbers(small: Portfolio) -> None:
    """Clients come sorted by id with 9-digit MOD11-valid organisation numbers."""
    ids = [c["id"] for c in small.clients]
    assert ids == sorted(ids) == small.company_ids()
    for client in small.clients:
        digits = [int(d) for d in client["organizationNumber"]]
        weighted = sum(d * w for d, w in zip(digits, (3, 2, 7, 6, 5, 4, 3, 2), strict=False))
        assert len(digits) == 9
        assert (11 - weighted % 11) % 11 == digits[8]


def test_accountant_is_an_accounting_office_outside_the_clients(small: Portfolio) -> None:
    """The accountant is a Company marked accountantOrSimilar, not one of its clients."""
    assert small.accountant["accountantOrSimilar"] is True
    assert small.accountant["id"] not in small.company_ids()


def test_unknown_company_or_resource_is_a_key_error(small: Portfolio) -> None:
    """Asking for a company or resource the portfolio lacks raises KeyError."""
    with pytest.raises(KeyError):
        small.records(1, "customer")
    with pytest.raises(KeyError):
        small.count(small.company_ids()[0], "nosuch")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"companies": 2, "empty_companies": 2, "heavy_companies": 1},
        {"scale": -1.0},
        {"host": "https://tripletex.no"},
        {"sizes": {"address": 3}},
        {"sizes": {"order": 3, "order/orderline": 9}},
        {"sizes": {"customer": -1}},
        {"standalone": -1},
    ],
)
def test_invalid_config_is_rejected(kwargs: dict[str, Any]) -> None:
    """Contradictory or malformed configs raise ValueError at construction."""
    with pytest.raises(ValueError, match=r"."):
        PortfolioConfig(**kwargs)


def test_standalone_companies_leave_the_clients_unchanged() -> None:
    """Adding standalone companies changes no client, record or accountant."""
    with_them = generate_portfolio(replace(SMALL, standalone=3))
    without = generate_portfolio(SMALL)
    keys = [(c, r) for c in without.company_ids() for r in ("customer", "ledger/posting")]
    assert with_them.company_ids() == without.company_ids()
    assert with_them.clients == without.clients
    assert with_them.accountant == without.accountant
    assert _dump(with_them, keys) == _dump(without, keys)


def test_standalone_companies_are_further_companies_with_data() -> None:
    """``standalone`` companies of their own ids, not clients, each with normal data."""
    portfolio = generate_portfolio(replace(SMALL, standalone=3))
    alone = portfolio.standalone_ids()
    assert len(alone) == 3
    assert alone == sorted(alone)
    assert not set(alone) & {*portfolio.company_ids(), portfolio.accountant["id"]}
    assert all(portfolio.has_company(c) and not portfolio.is_client(c) for c in alone)
    assert all(portfolio.role(c) == "normal" and portfolio.records(c, "customer") for c in alone)
    assert [row[0] for row in portfolio.summary()] == portfolio.company_ids() + alone


def test_standalone_companies_are_deterministic_by_seed() -> None:
    """Same seed, same standalone companies and records; another seed, others."""
    first = generate_portfolio(replace(SMALL, standalone=2))
    second = generate_portfolio(replace(SMALL, standalone=2))
    other = generate_portfolio(replace(SMALL, seed=4, standalone=2))
    keys = [(c, "customer") for c in first.standalone_ids()]
    assert first.standalone_ids() == second.standalone_ids() != other.standalone_ids()
    assert _dump(first, keys) == _dump(second, keys)


def test_scale_applies_to_standalone_companies() -> None:
    """A standalone company's collections grow with ``scale`` as a client's do."""
    small = generate_portfolio(replace(SMALL, standalone=1))
    big = generate_portfolio(replace(SMALL, standalone=1, scale=0.5))
    company = small.standalone_ids()[0]
    assert big.count(company, "customer") > 5 * small.count(company, "customer")
