"""The simulator as other people's Tripletex code meets it: plain HTTP over loopback, the
requests of Tripletex's own guide and examples as they write them, no client of ours.

Each test is what an integration does first: log in (the legacy PUT with query params,
and the JSON POST), ask who it is, page a list with ``count=5000`` and checksums, filter,
create and read back. A client built from real answers must get the same shapes here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tripletex_async.client._clock import OSLO
from tripletex_async.testing import (
    Credentials,
    FakeTripletex,
    PortfolioConfig,
    ServerThread,
    generate_portfolio,
)


@pytest.fixture(scope="module")
def fake() -> FakeTripletex:
    """An accounting office with three clients, one of them with 5,000+ postings."""
    config = PortfolioConfig(
        seed=19, companies=3, scale=0.3, heavy_companies=1, heavy_postings=6000
    )
    return FakeTripletex(generate_portfolio(config))


@pytest.fixture(scope="module")
def api(fake: FakeTripletex) -> Iterator[str]:
    """The simulator on a loopback port: its ``/v2`` base URL."""
    with ServerThread(fake.handle) as server:
        yield server.api_url


def tomorrow() -> str:
    """The first ``expirationDate`` Tripletex accepts (it must be later than today)."""
    return (datetime.now(OSLO).date() + timedelta(days=1)).isoformat()


def basic(username: int, token: str) -> dict[str, str]:
    """``Authorization: Basic base64("<company id or 0>:<session token>")``."""
    pair = base64.b64encode(f"{username}:{token}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def session(api: str, tokens: Credentials) -> str:
    """The guide's login: ``PUT /token/session/:create`` with query params (its bash
    example, jq ``.value.token``)."""
    answer = httpx.put(
        f"{api}/token/session/:create",
        params={
            "consumerToken": tokens.consumer_token,
            "employeeToken": tokens.employee_token,
            "expirationDate": tomorrow(),
        },
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["value"]["token"]
    return token


@pytest.fixture(scope="module")
def own(fake: FakeTripletex, api: str) -> tuple[int, dict[str, str]]:
    """A regular employee token of one client company, used as the guide does: username
    0. Its company id and auth header."""
    company = fake.portfolio.company_ids()[0]
    return company, basic(0, session(api, fake.company_credentials(company)))


def test_the_json_post_login_gives_201_and_a_token(fake: FakeTripletex, api: str) -> None:
    """The preferred ``POST /token/session/:create`` with a JSON body: 201, ``value.token``."""
    tokens = fake.credentials
    body = {
        "consumerToken": tokens.consumer_token,
        "employeeToken": tokens.employee_token,
        "expirationDate": tomorrow(),
    }
    answer = httpx.post(f"{api}/token/session/:create", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["value"]["token"]


def test_who_am_i_percent_encoded_as_the_bash_example(
    api: str, own: tuple[int, dict[str, str]]
) -> None:
    """``curl "$apiHost/v2/token/session/%3EwhoAmI"``: the company behind username 0."""
    company, auth = own
    answer = httpx.get(f"{api}/token/session/%3EwhoAmI", headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["value"]["company"]["id"] == company


def test_an_accountant_reads_a_client_by_its_id_as_username(fake: FakeTripletex, api: str) -> None:
    """The accountant's token lists its clients; each client's id is the username."""
    token = session(api, fake.credentials)
    clients = httpx.get(f"{api}/company/>withLoginAccess", headers=basic(0, token)).json()
    client = clients["values"][0]["id"]
    answer = httpx.get(f"{api}/customer", params={"count": 5}, headers=basic(client, token))
    assert answer.status_code == 200, answer.text
    assert {"fullResultSize", "from", "count", "versionDigest", "values"} <= set(answer.json())


def _all_pages(api: str, path: str, auth: dict[str, str], **params: Any) -> list[Any]:
    """A client's paging loop: ``from`` += ``count`` until a short page."""
    out: list[Any] = []
    while True:
        query = {**params, "from": len(out), "count": 5000}
        page = httpx.get(f"{api}{path}", params=query, headers=auth, timeout=30)
        assert page.status_code == 200, page.text
        values = page.json()["values"]
        out += values
        if len(values) < 5000:
            return out


def test_paging_with_count_5000_reads_every_posting_once(fake: FakeTripletex, api: str) -> None:
    """The heavy client's postings of its busy year, 5,000 at a time: each exactly once."""
    token = session(api, fake.credentials)
    heavy = max(
        fake.portfolio.company_ids(), key=lambda c: fake.portfolio.count(c, "ledger/posting")
    )
    year = date.fromisoformat(fake.records(heavy, "ledger/posting")[0]["date"]).year
    rows = _all_pages(
        api, "/ledger/posting", basic(heavy, token), fields="id,date,amount",
        dateFrom=f"{year}-01-01", dateTo=f"{year + 1}-01-01", sorting="id",
    )  # fmt: skip
    want = [r["id"] for r in fake.records(heavy, "ledger/posting") if r["date"][:4] == str(year)]
    assert len(rows) > 5000
    assert sorted(r["id"] for r in rows) == sorted(want)


def test_the_checksum_example_gets_a_304_then_a_new_digest_after_a_change(
    fake: FakeTripletex, api: str, own: tuple[int, dict[str, str]]
) -> None:
    """API2's checksum example: any ``If-None-Match`` gives a digest; the same request
    with it is 304; after a change it is 200 with another digest."""
    company, auth = own
    url = f"{api}/product"
    first = httpx.get(url, headers={**auth, "If-None-Match": "0"})
    digest = first.json()["versionDigest"]
    assert digest != "'If-None-Match' header not specified"
    again = httpx.get(url, headers={**auth, "If-None-Match": digest})
    assert again.status_code == 304
    fake.add(company, "product", {"name": "Ny vare"})
    changed = httpx.get(url, headers={**auth, "If-None-Match": digest})
    assert changed.status_code == 200
    assert changed.json()["versionDigest"] != digest


def test_without_if_none_match_the_digest_is_tripletexs_sentence(
    api: str, own: tuple[int, dict[str, str]]
) -> None:
    """Without the header, ``versionDigest`` is literally what Tripletex says there."""
    _, auth = own
    body = httpx.get(f"{api}/department", headers=auth).json()
    assert body["versionDigest"] == "'If-None-Match' header not specified"


def test_filters_narrow_the_list(
    fake: FakeTripletex, api: str, own: tuple[int, dict[str, str]]
) -> None:
    """``/order?customerId=`` and ``/ledger/account?number=1920`` answer only those."""
    company, auth = own
    customer = fake.records(company, "order")[0]["customer"]["id"]
    orders = httpx.get(
        f"{api}/order",
        params={"customerId": customer, "orderDateFrom": "2000-01-01", "orderDateTo": "2100-01-01",
                "fields": "id,customer"},
        headers=auth,
    ).json()["values"]  # fmt: skip
    assert orders
    assert {o["customer"]["id"] for o in orders} == {customer}
    accounts = httpx.get(
        f"{api}/ledger/account", params={"number": 1920, "fields": "id,number"}, headers=auth
    ).json()["values"]
    assert [a["number"] for a in accounts] == [1920]


def test_a_created_customer_reads_back_as_tripletex_fills_it(
    api: str, own: tuple[int, dict[str, str]]
) -> None:
    """``POST /customer {name}``, then ``GET /customer/{id}``: the server's fields are
    there (number, displayName, currency, flags), not only what was sent."""
    _, auth = own
    created = httpx.post(f"{api}/customer", json={"name": "Fjelltopp AS"}, headers=auth)
    assert created.status_code == 201, created.text
    value = created.json()["value"]
    back = httpx.get(f"{api}/customer/{value['id']}", headers=auth).json()["value"]
    assert back["name"] == "Fjelltopp AS"
    assert isinstance(back["customerNumber"], int)
    assert back["displayName"]
    assert back["currency"]["id"]
    assert back["isCustomer"] is True


def test_an_order_with_lines_reads_back_with_them_as_the_faq_asks(
    fake: FakeTripletex, api: str, own: tuple[int, dict[str, str]]
) -> None:
    """``POST /order`` with ``orderLines``, then ``GET /order/{id}?fields=id,orderLines(*)``
    (Tripletex's FAQ's read-back): the lines are objects with ids."""
    company, auth = own
    customer = fake.records(company, "customer")[0]["id"]
    today = datetime.now(OSLO).date().isoformat()
    body = {
        "customer": {"id": customer},
        "orderDate": today,
        "deliveryDate": today,
        "orderLines": [
            {"description": "Konsulenttime", "count": 2, "unitPriceExcludingVatCurrency": 950}
        ],
    }
    created = httpx.post(f"{api}/order", json=body, headers=auth)
    assert created.status_code == 201, created.text
    order = created.json()["value"]["id"]
    back = httpx.get(f"{api}/order/{order}", params={"fields": "id,orderLines(*)"}, headers=auth)
    assert back.status_code == 200, back.text
    lines = back.json()["value"]["orderLines"]
    assert [line["description"] for line in lines] == ["Konsulenttime"]
    assert all(isinstance(line["id"], int) for line in lines)


def test_a_customer_without_a_name_is_refused_naming_the_field(
    api: str, own: tuple[int, dict[str, str]]
) -> None:
    """``name`` is required: 422/18000 with a validation message for it."""
    _, auth = own
    answer = httpx.post(f"{api}/customer", json={}, headers=auth)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == 18000
    assert "name" in {m["field"] for m in body["validationMessages"]}


def test_a_path_the_simulator_does_not_model_says_so(
    api: str, own: tuple[int, dict[str, str]]
) -> None:
    """A spec path without a simulation is not a 404 "object not found"."""
    _, auth = own
    answer = httpx.get(f"{api}/incomingInvoice/1", headers=auth)
    assert answer.status_code != 404
    assert "not simulated" in answer.text
