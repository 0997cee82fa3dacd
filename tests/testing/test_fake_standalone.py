"""Simulator: standalone companies, reached by their own employee token only, and the
portfolio's budgets (the token pairs a user could register)."""

from __future__ import annotations

import pytest

from tripletex_async.testing import Budget, Credentials, PortfolioConfig, generate_portfolio

from .fakekit import kit

pytestmark = pytest.mark.anyio

PORTFOLIO = generate_portfolio(
    PortfolioConfig(seed=11, companies=2, standalone=3, scale=0.03, heavy_companies=0)
)


def _creds(budget: Budget) -> Credentials:
    """The tokens of a company budget, as `Kit.session` takes them."""
    company = budget.companies[0]
    return Credentials(budget.consumer_token, budget.employee_token, company, False)


async def test_login_access_lists_only_the_clients() -> None:
    """/company/>withLoginAccess lists the accountant's clients, no standalone company."""
    async with kit(portfolio=PORTFOLIO) as k:
        response = await k.get("/company/>withLoginAccess", company=0, fields="id")
    listed = [c["id"] for c in response.json()["values"]]
    assert listed == PORTFOLIO.company_ids()
    assert not set(listed) & set(PORTFOLIO.standalone_ids())


async def test_accountant_gets_403_on_a_standalone_company() -> None:
    """The accountant's session is 403/9000 on a standalone company, as on any company
    its token does not reach; on a client it reads."""
    async with kit(portfolio=PORTFOLIO) as k:
        alone = await k.get("/customer", company=PORTFOLIO.standalone_ids()[0])
        client = await k.get("/customer", company=PORTFOLIO.company_ids()[0])
    assert (alone.status_code, alone.json()["code"]) == (403, 9000)
    assert client.status_code == 200


async def test_accountant_cannot_subscribe_to_a_standalone_company() -> None:
    """Webhook subscriptions of a company the accountant does not reach are 403 too."""
    async with kit(portfolio=PORTFOLIO) as k:
        company = PORTFOLIO.standalone_ids()[0]
        response = await k.http.get("/event/subscription", headers=k.auth(company))
    assert response.status_code == 403


async def test_standalone_token_reads_its_own_company_only() -> None:
    """A standalone company's token reads its company (username 0 or its id), 403 elsewhere."""
    async with kit(portfolio=PORTFOLIO, session=False) as k:
        budget = k.fake.budgets()[1]
        own = budget.companies[0]
        await k.session(_creds(budget))
        statuses = [
            (await k.get("/customer", company=c)).status_code
            for c in (0, own, PORTFOLIO.company_ids()[0], PORTFOLIO.standalone_ids()[1])
        ]
        who = await k.get("/token/session/>whoAmI", company=0)
    assert statuses == [200, 200, 403, 403]
    assert who.json()["value"]["companyId"] == own


async def test_budgets_are_the_accountant_then_one_per_standalone_company() -> None:
    """budgets(): the accountant's pair reaching the clients, then one pair per standalone
    company reaching only it, all with the accountant's consumer token."""
    async with kit(portfolio=PORTFOLIO, session=False) as k:
        budgets = k.fake.budgets()
    accountant, *alone = budgets
    creds = k.fake.credentials
    assert (accountant.kind, accountant.label) == ("accountant", "accountant")
    assert (accountant.consumer_token, accountant.employee_token) == (
        creds.consumer_token,
        creds.employee_token,
    )
    assert list(accountant.companies) == PORTFOLIO.company_ids()
    assert [b.companies for b in alone] == [(c,) for c in PORTFOLIO.standalone_ids()]
    assert [b.label for b in alone] == [f"company-{c}" for c in PORTFOLIO.standalone_ids()]
    assert {b.kind for b in alone} == {"company"}
    assert {b.consumer_token for b in budgets} == {creds.consumer_token}
    assert len({b.employee_token for b in budgets}) == len(budgets)


async def test_budget_repr_hides_the_tokens() -> None:
    """A Budget's repr shows label, kind and companies, never a token."""
    async with kit(portfolio=PORTFOLIO, session=False) as k:
        budget = k.fake.budgets()[1]
    assert budget.employee_token not in repr(budget)
    assert budget.consumer_token not in repr(budget)
    assert budget.label in repr(budget)
