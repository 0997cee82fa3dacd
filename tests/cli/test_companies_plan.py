"""``companies`` lists what a token reaches; ``plan`` counts first pages and estimates."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qsl

import pytest

from tripletex_async.cli._plan_model import Probe, ResourcePlan
from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES
from tripletex_async.engine._windows import Window
from tripletex_async.testing import FakeConfig, RateLimit

from .conftest import DATES, Run, Served, expected_counts

pytestmark = pytest.mark.usefixtures("tokens_env")


@pytest.fixture
def fake_config() -> FakeConfig:
    """A rate limit, so the budget has something to learn and plan something to use."""
    return FakeConfig(rate_limit=RateLimit(limit=5000, period=10))


def test_companies_table(run: Run, served: Served) -> None:
    """One row per client company: id, name and organisation number."""
    result = run("companies", "--base-url", served.api_url)
    assert result.code == 0, result.err
    for client in served.fake.portfolio.clients:
        line = next(line for line in result.out.splitlines() if str(client["id"]) in line)
        assert client["name"] in line
        assert client["organizationNumber"] in line


def test_companies_json(run: Run, served: Served) -> None:
    """--json gives the same companies as data, with the token's own company."""
    result = run("companies", "--base-url", served.api_url, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["token_company_id"] == served.fake.credentials.company_id
    assert [c["id"] for c in data["companies"]] == served.fake.portfolio.company_ids()
    assert data["companies"][0]["organization_number"]


def test_plan_counts_match_the_simulator(run: Run, served: Served) -> None:
    """Small companies fit a first page: every count is exact and costs one request."""
    result = run("plan", "--base-url", served.api_url, "--all-companies", "--json", *DATES)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    for resource in DEFAULT_RESOURCES:
        rows = [r for r in data["resources"] if r["resource"] == resource]
        counts = {r["company_id"]: r["at_least"] for r in rows if r["at_least"]}
        assert counts == expected_counts(served.fake, resource), resource
        assert all(r["exact"] and r["requests_estimate"] == r["windows"] for r in rows)


def test_plan_asks_what_the_sync_would_ask(run: Run, served: Served) -> None:
    """Each probe has the sync's fields, sorting, page size and date params."""
    args = ["--all-companies", "--resources", "invoice", "--page-size", "7", *DATES]
    assert run("plan", "--base-url", served.api_url, *args).code == 0
    probes = [r for r in served.requests if r.raw_path.endswith("/invoice")]
    windows = 3  # 2024, 2025, 2026: cut at year boundaries
    assert len(probes) == windows * len(served.fake.portfolio.company_ids())
    for probe in probes:
        query = dict(parse_qsl(probe.query))
        assert query["fields"] == RESOURCES["invoice"].fields()
        assert (query["count"], query["from"], query["sorting"]) == ("7", "0", "id")
        assert query["invoiceDateFrom"] < query["invoiceDateTo"]


def test_plan_full_first_page_is_a_lower_bound(run: Run, served: Served) -> None:
    """With a page smaller than the data, counts are "at least" plus a labelled estimate."""
    args = ["--all-companies", "--resources", "ledger/posting", "--page-size", "10", *DATES]
    result = run("plan", "--base-url", served.api_url, *args)
    assert result.code == 0, result.err
    assert "≥" in result.out
    assert "≈" in result.out
    assert "fullResultSize" in result.out


def test_plan_estimates_time_from_the_learned_rate_limit(run: Run, served: Served) -> None:
    """The budget learned from X-Rate-Limit-* headers gives the time estimate."""
    result = run("plan", "--base-url", served.api_url, "--all-companies", "--json", *DATES)
    data = json.loads(result.out)
    assert data["budget"]["limit"] == 5000
    assert 0 < data["budget"]["period"] <= 10  # the longest reset seen so far
    assert data["estimate"]["seconds_by_rate_limit"] is not None
    assert data["estimate"]["requests_estimate"] >= len(data["resources"])
    table = run("plan", "--base-url", served.api_url, "--all-companies", *DATES)
    assert "rate limit learned from X-Rate-Limit-* headers (5000 requests per" in table.out


def test_plan_of_unknown_company_exits_2(run: Run, served: Served) -> None:
    """A company the token does not reach is one error line naming it, exit 2."""
    result = run(
        "plan", "--base-url", served.api_url, "--company", "999", "--resources", "customer"
    )
    assert result.code == 2
    assert result.err.startswith("error: this token does not reach company 999 ")
    assert len(result.err.splitlines()) == 1


def test_plan_of_a_refused_resource_exits_1(
    run: Run, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resource the company refuses (a missing module) is reported as failed, exit 1."""
    company = served.fake.portfolio.company_ids()[0]
    served.refuse(monkeypatch, company, "customer")
    args = ["--company", str(company), "--resources", "customer"]
    result = run("plan", "--base-url", served.api_url, *args)
    assert result.code == 1
    assert "403" in result.out
    assert "could not be probed" in result.err


def test_plan_probes_1000_rows_and_estimates_the_syncs_own_pages() -> None:
    """Without --page-size a probe asks 1000 rows; a full one of a window of ~1500 is
    one request where a sync asks for 10,000."""
    window = Window(date(2025, 1, 1), date(2026, 1, 1))
    probe = Probe(1, "ledger/posting", window, records=1000, full=True, hint=1500)
    plan = ResourcePlan(1, "ledger/posting")
    plan.add(probe, 10_000)
    assert (plan.requests_at_least, plan.requests_estimate) == (1, 1)
    plan.add(probe, 1000)
    assert (plan.requests_at_least, plan.requests_estimate) == (3, 3)


def test_plan_counts_a_child_list_by_its_parents(run: Run, served: Served) -> None:
    """A child list costs one request per parent plus the reads of their ids (one per
    partition of the parent: open and closed projects), and its rows are not counted."""
    args = ["--all-companies", "--resources", "project/orderline", "--json", *DATES]
    result = run("plan", "--base-url", served.api_url, *args)
    assert result.code == 0, result.err
    for row in json.loads(result.out)["resources"]:
        projects = len(served.fake.records(row["company_id"], "project"))
        assert row["requests_at_least"] == row["requests_estimate"] == projects + 2
        assert not row["exact"]
