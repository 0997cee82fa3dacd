"""Simulator: every path of the spec answers something honest.

Served paths behave; a spec path (and method) the simulator does not serve is its own
501/0 "not simulated: METHOD /path"; a method the spec lacks on a path is Tripletex's
400/4000 "HTTP 405 Method Not Allowed"; a path outside the spec is 404/6000.
"""

from __future__ import annotations

from typing import Any

import pytest

from tripletex_async.testing._errors import NOT_SIMULATED
from tripletex_async.testing._lookups import ITEM_LISTS
from tripletex_async.testing._resources import RESOURCES
from tripletex_async.testing._spec_paths import match_route

from .fakekit import PORTFOLIO, Kit, kit

pytestmark = pytest.mark.anyio

ERROR_KEYS = [
    "status",
    "code",
    "message",
    "link",
    "developerMessage",
    "validationMessages",
    "requestId",
]


def _status(response: Any) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


def _path(url: str) -> str:
    """``/x/{id}`` of a record's ``url`` (``host/v2/x/{id}``)."""
    return "/" + url.split("/v2/", 1)[1]


@pytest.mark.parametrize("path", ["/nonsense", "/customer/5/nonsense", "/company/1/2/3"])
async def test_path_outside_the_spec_is_404_6000(path: str) -> None:
    """A path no spec path matches is Tripletex's 404/6000 "Object not found"."""
    async with kit() as k:
        response = await k.get(path)
    assert _status(response) == (404, 6000)


async def test_get_company_is_400_4000_method_not_allowed() -> None:
    """GET /company (the spec has only PUT) is 400/4000 "HTTP 405 Method Not Allowed"."""
    async with kit() as k:
        response = await k.get("/company")
    assert _status(response) == (400, 4000)
    assert response.json()["message"] == "HTTP 405 Method Not Allowed"


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/invoice/1"), ("POST", "/bank/1")])
async def test_method_the_spec_lacks_is_400_4000(method: str, path: str) -> None:
    """A method the spec does not have on a path is 400/4000, not 501."""
    async with kit() as k:
        response = await k.http.request(method, path, headers=k.auth(k.company))
    assert _status(response) == (400, 4000)


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/ledger/vatSettings", "/ledger/vatSettings"),
        ("GET", "/timesheet/settings", "/timesheet/settings"),
        ("GET", "/invoice/17/pdf", "/invoice/{invoiceId}/pdf"),
        ("PUT", "/company", "/company"),
    ],
)
async def test_spec_path_not_simulated_is_501_naming_it(
    method: str, path: str, template: str
) -> None:
    """An unserved spec path is 501/0 "not simulated: METHOD /template"."""
    async with kit() as k:
        response = await k.http.request(method, path, headers=k.auth(k.company))
    assert _status(response) == NOT_SIMULATED
    assert response.json()["message"] == f"not simulated: {method} {template}"


async def test_not_simulated_has_tripletex_error_shape() -> None:
    """The 501 body has Tripletex's error keys, in order, and the request id."""
    async with kit() as k:
        response = await k.get("/ledger/vatSettings")
    body = response.json()
    assert list(body) == ERROR_KEYS
    assert body["requestId"] == response.headers["x-tlx-request-id"]


@pytest.mark.parametrize(("path", "value"), [("/company/whoAmI", "whoAmI"), ("/bank/x", "x")])
async def test_word_in_a_number_parameter_is_422_21000(path: str, value: str) -> None:
    """A word where the spec has a number parameter is 422/21000 "Expected number"."""
    async with kit() as k:
        response = await k.get(path)
    assert _status(response) == (422, 21000)
    assert f'"{value}"' in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ledger/posting/openPost", {"date": "2025-06-30"}),
        ("/ledger/voucher/>nonPosted", {"includeNonApproved": "true"}),
    ],
)
async def test_literal_spec_path_is_its_list_not_an_id(path: str, params: dict[str, str]) -> None:
    """/ledger/posting/openPost and /ledger/voucher/>nonPosted are lists, not ids."""
    async with kit() as k:
        response = await k.get(path, **params)
    assert response.status_code == 200
    assert "values" in response.json()


def _lookups_in_spec() -> list[str]:
    """Item paths of served lists whose ``/{path}/{id}`` the spec has a GET for."""
    return sorted(
        path
        for path in ITEM_LISTS
        if (m := match_route(f"{path}/1")) is not None
        and m.template == f"{path}/{{id}}"
        and "GET" in m.methods
    )


async def test_every_record_is_served_at_its_url() -> None:
    """GET on a record's url answers that record, for every served list with ids."""
    served = _lookups_in_spec()
    assert len(served) > 90
    async with kit() as k:
        for path in served:
            for info in ITEM_LISTS[path]:
                records = k.fake.records(k.company, info.path)
                if not records:
                    continue
                record = records[0]
                response = await k.get(_path(record["url"]))
                assert response.status_code == 200, (info.path, response.text)
                assert response.json()["value"]["id"] == record["id"], info.path


async def test_generated_record_by_id_honours_fields() -> None:
    """GET /bank/statement/{id}?fields=id,version answers just those fields."""
    async with kit() as k:
        record = k.fake.records(k.company, "bank/statement")[0]
        response = await k.get(f"/bank/statement/{record['id']}", fields="id,version")
    assert response.json()["value"] == {"id": record["id"], "version": record["version"]}


async def test_non_posted_voucher_is_found_at_ledger_voucher_id() -> None:
    """A voucher of /ledger/voucher/>nonPosted is found at its url, /ledger/voucher/{id}."""
    async with kit() as k:
        record = k.fake.records(k.company, "ledger/voucher/>nonPosted")[0]
        response = await k.get(f"/ledger/voucher/{record['id']}")
    assert response.json()["value"]["id"] == record["id"]


async def test_unknown_id_of_a_generated_list_is_404() -> None:
    """An id no record of the list has is 404/6000 (found vs. not simulated: distinct)."""
    async with kit() as k:
        response = await k.get("/bank/statement/999")
    assert _status(response) == (404, 6000)


async def test_served_list_without_a_spec_item_path_stays_404() -> None:
    """/municipality/{id} is not in the spec: 404/6000 as Tripletex answers."""
    assert RESOURCES["municipality"].generated
    async with kit() as k:
        record = k.fake.records(k.company, "municipality")[0]
        response = await k.get(f"/municipality/{record['id']}")
    assert _status(response) == (404, 6000)


async def test_company_by_id_is_the_client_the_accountant_lists() -> None:
    """GET /company/{id} as that client is its Company: the Client without customerCompanyId."""
    async with kit() as k:
        response = await k.get(f"/company/{k.company}")
        clients = (await k.get("/company/>withLoginAccess", company=0)).json()["values"]
    client = next(c for c in clients if c["id"] == k.company)
    del client["customerCompanyId"]
    assert response.json()["value"] == client


async def test_company_token_reads_its_own_company_with_username_0() -> None:
    """A client company's own token reads /company/{its id} with Basic username 0."""
    async with kit(session=False) as k:
        creds = k.fake.company_credentials(k.company)
        created = await k.http.post(
            "/token/session/:create",
            json={
                "consumerToken": creds.consumer_token,
                "employeeToken": creds.employee_token,
                "expirationDate": "2026-03-12",
            },
        )
        k.token = created.json()["value"]["token"]
        response = await k.get(f"/company/{k.company}", company=0, fields="id,name")
    assert response.status_code == 200
    assert response.json()["value"]["id"] == k.company


async def test_company_by_another_id_is_404() -> None:
    """GET /company/{id} for a company other than the one acted for is 404/6000."""
    async with kit() as k:
        other = next(c for c in PORTFOLIO.company_ids() if c != k.company)
        response = await k.get(f"/company/{other}")
    assert _status(response) == (404, 6000)


async def test_posting_rules_name_accounts_of_the_chart() -> None:
    """/ledger/postingRules refers to the company's own 1500 and 2400 accounts."""
    async with kit() as k:
        fields = "accountReceivableCustomersId(number),accountDebtVendorsId(number)"
        response = await k.get("/ledger/postingRules", fields=fields)
    assert response.json()["value"] == {
        "accountReceivableCustomersId": {"number": 1500},
        "accountDebtVendorsId": {"number": 2400},
    }


async def test_posting_rules_refuse_an_unknown_field() -> None:
    """fields=nonsense on /ledger/postingRules is 400/11000 as on any object."""
    async with kit() as k:
        response = await k.get("/ledger/postingRules", fields="nonsense")
    assert _status(response) == (400, 11000)


def _last(k: Kit, *, closed: bool) -> dict[str, Any]:
    rows = k.fake.records(k.company, "bank/reconciliation")
    account = rows[0]["account"]["id"]
    mine = [r for r in rows if r["account"]["id"] == account and (r["isClosed"] or not closed)]
    return max(mine, key=lambda r: r["id"])


@pytest.mark.parametrize(("path", "closed"), [(">last", False), (">lastClosed", True)])
async def test_last_reconciliation_is_the_newest_of_the_account(path: str, closed: bool) -> None:
    """/bank/reconciliation/>last(Closed)?accountId= is that account's highest id."""
    async with kit() as k:
        rows = k.fake.records(k.company, "bank/reconciliation")
        with_closed = next(r for r in rows if r["isClosed"])
        k.fake.update(k.company, "bank/reconciliation", rows[0]["id"], {"isClosed": True})
        expected = _last(k, closed=closed)
        account = expected["account"]["id"]
        response = await k.get(f"/bank/reconciliation/{path}", accountId=account)
    assert with_closed
    assert response.json()["value"]["id"] == expected["id"]


async def test_last_reconciliation_without_account_id_is_422() -> None:
    """/bank/reconciliation/>last without accountId is 422/15000 naming it."""
    async with kit() as k:
        response = await k.get("/bank/reconciliation/>last")
    assert _status(response) == (422, 15000)
    assert response.json()["validationMessages"][0]["field"] == "accountId"


async def test_last_reconciliation_of_an_account_without_any_is_404() -> None:
    """An account with no reconciliation has no last one: 404/6000."""
    async with kit() as k:
        response = await k.get("/bank/reconciliation/>last", accountId=1)
    assert _status(response) == (404, 6000)


async def test_who_am_i_with_post_is_400_4000() -> None:
    """POST /token/session/>whoAmI (a GET-only path) is 400/4000, not an answer."""
    async with kit() as k:
        response = await k.http.post("/token/session/>whoAmI", headers=k.auth(0))
    assert _status(response) == (400, 4000)
