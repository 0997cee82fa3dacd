"""Simulator: rows lists hide unless asked (spec defaults of isInactive, includeContacts,
isClosed; tripletex-api2#101), and the FakeConfig option that turns the defaults off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tripletex_async.testing import FakeConfig, PortfolioConfig, generate_portfolio

from .fakekit import OSLO, Kit, kit

pytestmark = pytest.mark.anyio

#: One company with enough rows that every kind of hidden row occurs.
HIDING = generate_portfolio(
    PortfolioConfig(
        seed=5,
        companies=1,
        empty_companies=0,
        heavy_companies=0,
        scale=0.05,
        sizes={"customer": 700, "supplier": 150, "employee": 200, "project": 120, "department": 60},
    )
)
#: Three months before the kit clock's 2026-03-10, at midnight in Oslo.
RECENT = datetime(2025, 12, 10, tzinfo=OSLO)


async def _ids(k: Kit, path: str, **params: Any) -> set[int]:
    response = await k.get(f"/{path}", count=10_000, **params)
    assert response.status_code == 200, response.text
    return {v["id"] for v in response.json()["values"]}


def _where(k: Kit, path: str, field: str, value: bool) -> set[int]:
    """Ids of the stored records whose boolean ``field`` is ``value`` (never empty)."""
    ids = {r["id"] for r in k.fake.records(k.company, path) if r[field] is value}
    assert ids, f"the portfolio needs {path} with {field}={value}"
    return ids


def _closed_at(k: Kit, project: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(project["changes"][-1]["timestamp"])


@pytest.mark.parametrize("path", ["customer", "supplier"])
async def test_inactive_parties_are_hidden_by_default(path: str) -> None:
    """Without isInactive, /customer and /supplier list only active records."""
    async with kit(portfolio=HIDING) as k:
        assert await _ids(k, path) == _where(k, path, "isInactive", False)


@pytest.mark.parametrize("path", ["customer", "supplier"])
@pytest.mark.parametrize("value", [True, False])
async def test_is_inactive_selects_one_kind_of_party(path: str, value: bool) -> None:
    """isInactive=true lists only inactive records, isInactive=false only active ones."""
    async with kit(portfolio=HIDING) as k:
        got = await _ids(k, path, isInactive=str(value).lower())
        assert got == _where(k, path, "isInactive", value)


async def test_deactivated_customer_disappears_from_the_next_list() -> None:
    """A customer made inactive is gone from the default list at once (no stale page)."""
    async with kit(portfolio=HIDING) as k:
        target = min(_where(k, "customer", "isInactive", False))
        assert target in await _ids(k, "customer")
        k.fake.update(k.company, "customer", target, {"isInactive": True})
        assert target not in await _ids(k, "customer")


async def test_contacts_are_hidden_from_employees_by_default() -> None:
    """Without includeContacts, /employee leaves out contacts."""
    async with kit(portfolio=HIDING) as k:
        assert await _ids(k, "employee") == _where(k, "employee", "isContact", False)


async def test_include_contacts_lists_every_employee() -> None:
    """includeContacts=true lists contacts and employees."""
    async with kit(portfolio=HIDING) as k:
        got = await _ids(k, "employee", includeContacts="true")
        assert got == {r["id"] for r in k.fake.records(k.company, "employee")}


async def test_only_contacts_lists_only_contacts() -> None:
    """onlyContacts=true lists the contacts alone."""
    async with kit(portfolio=HIDING) as k:
        got = await _ids(k, "employee", onlyContacts="true")
        assert got == _where(k, "employee", "isContact", True)


@pytest.mark.parametrize("params", [{}, {"isClosed": "false"}])
async def test_closed_projects_are_hidden_unless_asked_for(params: dict[str, str]) -> None:
    """Without isClosed, or with isClosed=false, /project lists only open projects."""
    async with kit(portfolio=HIDING) as k:
        assert await _ids(k, "project", **params) == _where(k, "project", "isClosed", False)


async def test_is_closed_true_lists_every_closed_project() -> None:
    """isClosed=true lists all closed projects, however long ago they were closed."""
    async with kit(portfolio=HIDING) as k:
        got = await _ids(k, "project", isClosed="true")
        assert got == _where(k, "project", "isClosed", True)


@pytest.mark.parametrize("params", [{}, {"isClosed": "false"}])
async def test_include_recently_closed_adds_projects_closed_in_the_last_three_months(
    params: dict[str, str],
) -> None:
    """includeRecentlyClosed=true adds the projects whose last change is within 3 months."""
    async with kit(portfolio=HIDING) as k:
        projects = k.fake.records(k.company, "project")
        recent = {p["id"] for p in projects if p["isClosed"] and _closed_at(k, p) >= RECENT}
        assert recent, "the portfolio needs a project closed in the last three months"
        got = await _ids(k, "project", includeRecentlyClosed="true", **params)
        assert got == _where(k, "project", "isClosed", False) | recent


async def test_projects_closed_long_ago_stay_hidden_with_include_recently_closed() -> None:
    """A project closed more than three months ago is not brought back."""
    async with kit(portfolio=HIDING) as k:
        projects = k.fake.records(k.company, "project")
        old = {p["id"] for p in projects if p["isClosed"] and _closed_at(k, p) < RECENT}
        assert old
        got = await _ids(k, "project", includeRecentlyClosed="true")
        assert not got & old


async def test_project_closed_now_counts_as_recently_closed() -> None:
    """Closing a project through the simulator dates the close by its clock."""
    async with kit(portfolio=HIDING) as k:
        target = min(_where(k, "project", "isClosed", False))
        k.fake.update(k.company, "project", target, {"isClosed": True})
        assert target not in await _ids(k, "project")
        assert target in await _ids(k, "project", includeRecentlyClosed="true")


@pytest.mark.parametrize(
    ("params", "kinds"),
    [({}, {True, False}), ({"isInactive": "true"}, {True}), ({"isInactive": "false"}, {False})],
)
async def test_departments_list_both_kinds_unless_is_inactive_given(
    params: dict[str, str], kinds: set[bool]
) -> None:
    """/department has no default: both kinds, or the one isInactive names."""
    async with kit(portfolio=HIDING) as k:
        departments = k.fake.records(k.company, "department")
        wanted = {d["id"] for d in departments if d["isInactive"] in kinds}
        assert _where(k, "department", "isInactive", True)
        assert await _ids(k, "department", **params) == wanted


@pytest.mark.parametrize("path", ["customer", "supplier", "employee", "project"])
async def test_default_filters_off_lists_every_row(path: str) -> None:
    """With FakeConfig(default_filters=False), a list without filters has every record."""
    async with kit(FakeConfig(default_filters=False), portfolio=HIDING) as k:
        assert await _ids(k, path) == {r["id"] for r in k.fake.records(k.company, path)}


async def test_explicit_filter_still_applies_with_default_filters_off() -> None:
    """default_filters=False drops the defaults, not the filters a query gives."""
    async with kit(FakeConfig(default_filters=False), portfolio=HIDING) as k:
        got = await _ids(k, "customer", isInactive="true")
        assert got == _where(k, "customer", "isInactive", True)


async def test_records_keeps_returning_hidden_rows() -> None:
    """FakeTripletex.records has inactive customers: it is the whole truth, unfiltered."""
    async with kit(portfolio=HIDING) as k:
        everything = {r["id"] for r in k.fake.records(k.company, "customer")}
        assert _where(k, "customer", "isInactive", True) < everything


async def test_hiding_filters_are_part_of_the_checksum_query() -> None:
    """The digest of the default list does not answer 304 for isInactive=true."""
    async with kit(portfolio=HIDING) as k:
        digest = (await k.conditional("/customer", "x")).json()["versionDigest"]
        assert (await k.conditional("/customer", digest)).status_code == 304
        other = await k.conditional("/customer", digest, isInactive="true")
    assert other.status_code == 200
    assert other.json()["versionDigest"] != digest


def test_default_portfolio_has_rows_that_lists_hide() -> None:
    """The default portfolio has inactive customers and suppliers, contacts, closed projects."""
    portfolio = generate_portfolio()
    found = {"customer": 0, "supplier": 0, "employee": 0, "project": 0}
    fields = {"customer": "isInactive", "supplier": "isInactive"}
    fields |= {"employee": "isContact", "project": "isClosed"}
    for company in portfolio.company_ids():
        for path, field in fields.items():
            found[path] += sum(bool(r[field]) for r in portfolio.records(company, path))
    assert all(found.values()), found
