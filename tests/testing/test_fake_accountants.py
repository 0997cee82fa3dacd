"""Simulator: several accountants (`FakeConfig.accountants`), each an employee token of
the accounting office reaching and listing its own share of the clients."""

from __future__ import annotations

import pytest

from tripletex_async.testing import (
    Budget,
    Credentials,
    FakeConfig,
    FakeTripletex,
    PortfolioConfig,
    generate_portfolio,
)
from tripletex_async.testing._cli import build_parser, fake_config, main

from .fakekit import kit

pytestmark = pytest.mark.anyio

PORTFOLIO = generate_portfolio(
    PortfolioConfig(seed=11, companies=5, standalone=2, scale=0.03, heavy_companies=0)
)
THREE = FakeConfig(accountants=3)


def _creds(budget: Budget) -> Credentials:
    """The tokens of an accountant budget, as `Kit.session` takes them."""
    return Credentials(budget.consumer_token, budget.employee_token, 0, True)


async def test_budgets_split_the_clients_among_the_accountants() -> None:
    """budgets(): one accountant budget per token, their shares contiguous, disjoint and
    covering every client, before the standalone companies' budgets."""
    async with kit(THREE, portfolio=PORTFOLIO, session=False) as k:
        budgets = k.fake.budgets()
    accountants = [b for b in budgets if b.kind == "accountant"]
    assert [b.label for b in accountants] == ["accountant", "accountant#2", "accountant#3"]
    assert [len(b.companies) for b in accountants] == [1, 2, 2]
    assert [c for b in accountants for c in b.companies] == PORTFOLIO.company_ids()
    assert [b.kind for b in budgets[3:]] == ["company", "company"]
    assert accountants[0].employee_token == k.fake.credentials.employee_token


async def test_each_accountant_reaches_and_lists_only_its_share() -> None:
    """An accountant's session reads its clients, is 403/9000 on another's, and
    /company/>withLoginAccess lists its share only."""
    async with kit(THREE, portfolio=PORTFOLIO, session=False) as k:
        second = k.fake.budgets()[1]
        await k.session(_creds(second))
        listed = await k.get("/company/>withLoginAccess", company=0, fields="id")
        own = [(await k.get("/customer", company=c)).status_code for c in second.companies]
        other = await k.get("/customer", company=PORTFOLIO.company_ids()[0])
    assert [c["id"] for c in listed.json()["values"]] == list(second.companies)
    assert own == [200, 200]
    assert (other.status_code, other.json()["code"]) == (403, 9000)


async def test_one_accountant_by_default_draws_the_same_tokens() -> None:
    """The default is one accountant reaching every client, with the tokens drawn as
    before the option existed."""
    async with kit(portfolio=PORTFOLIO, session=False) as one:
        budgets = one.fake.budgets()
    async with kit(THREE, portfolio=PORTFOLIO, session=False) as three:
        split = three.fake.budgets()
    assert list(budgets[0].companies) == PORTFOLIO.company_ids()
    assert [b.employee_token for b in budgets] == [b.employee_token for b in (split[0], *split[3:])]


def test_more_accountants_than_clients_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """More accountants than clients: ValueError in-process, exit 2 on the command line."""
    with pytest.raises(ValueError, match="accountants"):
        FakeTripletex(PORTFOLIO, FakeConfig(accountants=6))
    with pytest.raises(SystemExit) as exited:
        main(["--companies", "2", "--accountants", "3", "--port", "0"])
    assert exited.value.code == 2
    assert "accountants" in capsys.readouterr().err


def test_accountants_flag() -> None:
    """--accountants sets the simulator's accountants; one by default."""
    assert fake_config(build_parser().parse_args([])).accountants == 1
    assert fake_config(build_parser().parse_args(["--accountants", "4"])).accountants == 4


async def test_each_accountant_of_the_office_is_its_own_employee() -> None:
    """whoAmI: the accountants share the office's company but not an employee id (in
    Tripletex employee ids are unique), so a client keys their runs apart."""
    async with kit(THREE, portfolio=PORTFOLIO, session=False) as k:
        seen = []
        for budget in k.fake.budgets()[:3]:
            await k.session(_creds(budget))
            who = (await k.get("/token/session/>whoAmI", company=0)).json()["value"]
            seen.append((who["companyId"], who["employeeId"]))
    assert len({company for company, _ in seen}) == 1
    assert len({employee for _, employee in seen}) == 3
