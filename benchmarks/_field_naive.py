"""The naive contender of ``portfolio.py --scenario field``: the integration guides' loop
over every resource of every client company, run in the contender's subprocess; and the
count of what a field contender stored.

It asks the same queries as the engine (`Resource.query`: the same ``fields``, sorting,
partitions and fixed params), so both read the same rows at the same per-row cost, and
writes the engine's table layout (``_workload.py``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from _simulator import today
from _workload import dict_values, insert_sql, row_maker, sqlite_ddl

from tripletex_async import DEFAULT_RESOURCES, RESOURCES, Resource, Window, default_date_range
from tripletex_async.engine._windows import UNDATED, plan_windows
from tripletex_async.sinks import Row

__all__ = ["count_field_records", "run_naive_field"]


def run_naive_field(api: str, consumer: str, employee: str, target: str, size: int) -> None:
    """The integration guides' loop over a whole portfolio: ``requests``, one query after
    the other, pages of ``size``, ``json``, a commit per page.

    Each resource's required date params cover the engine's default range a calendar
    year at a time; a year over the 10,000-row cap (422) is halved until it fits. On a
    429 it sleeps until the window resets (2 s when the header is missing).
    """
    import requests

    http = requests.Session()
    body = {
        "consumerToken": consumer,
        "employeeToken": employee,
        "expirationDate": (today() + timedelta(days=1)).isoformat(),
    }
    created = _send(http, "POST", f"{api}/token/session/:create", json=body)
    token = created.json()["value"]["token"]
    db = sqlite3.connect(target)
    tables = [_Table.of(res) for res in (RESOURCES[n] for n in DEFAULT_RESOURCES)]
    for table in tables:
        for statement in sqlite_ddl(table.res):
            db.execute(statement)
    start, end = default_date_range(today())
    for company in _companies(http, api, token, size):
        auth = (str(company), token)
        for table in tables:
            res = table.res
            for part in res.partitions:
                for window in plan_windows(start, end) if res.dated else [UNDATED]:
                    params = res.query(part, window, size)
                    for page in _pages(http, f"{api}/{res.name}", auth, res, params, window):
                        table.store(db, company, page)
    db.close()


def _companies(http: Any, api: str, token: str, size: int) -> list[int]:
    url = f"{api}/company/%3EwithLoginAccess"
    out: list[int] = []
    while True:
        params = {"fields": "id", "from": len(out), "count": size}
        page = _send(http, "GET", url, params=params, auth=("0", token)).json()["values"]
        out += [int(c["id"]) for c in page]
        if len(page) < size:
            return out


def _send(http: Any, method: str, url: str, **kw: Any) -> Any:
    """One call; a 429 sleeps until the window resets and tries again."""
    while True:
        response = http.request(method, url, **kw)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("x-rate-limit-reset") or 2))


def _pages(
    http: Any,
    url: str,
    auth: tuple[str, str],
    res: Resource,
    params: dict[str, Any],
    window: Window,
) -> Iterator[list[dict[str, Any]]]:
    """The pages of one query until a short one; a window over the cap in halves."""
    size, offset = int(params["count"]), 0
    while True:
        response = _send(http, "GET", url, params={**params, "from": offset}, auth=auth)
        halves = window.split() if response.status_code == 422 and not offset else None
        if halves is not None and response.json().get("code") == 23000:
            low, high = res.date_params or ("", "")
            for half in halves:
                narrower = {**params, low: half.key[0], high: half.key[1]}
                yield from _pages(http, url, auth, res, narrower, half)
            return
        response.raise_for_status()
        page: list[dict[str, Any]] = json.loads(response.content)["values"]
        yield page
        if len(page) < size:
            return
        offset += size


@dataclass(frozen=True, slots=True)
class _Table:
    """How the naive loop writes one resource: the engine's table layout."""

    res: Resource
    insert: str
    values: Callable[[dict[str, Any]], tuple[object, ...]]
    make: Callable[[int, int, str, object, tuple[object, ...]], Row]

    @classmethod
    def of(cls, res: Resource) -> _Table:
        return cls(res, insert_sql(res), dict_values(res), row_maker(res))

    def store(self, db: sqlite3.Connection, company: int, page: list[dict[str, Any]]) -> None:
        """``INSERT OR REPLACE`` the page, ``json.dumps`` per record; commit."""
        make, values = self.make, self.values
        rows = [make(company, r["id"], json.dumps(r), r.get("version"), values(r)) for r in page]
        db.executemany(self.insert, rows)
        db.commit()


def count_field_records(path: str, resources: Sequence[str] = DEFAULT_RESOURCES) -> int:
    """Rows in every resource table of a SQLite file (tables it lacks count 0), under the
    engine's table names or the baselines' (version 3: the API path, see `_workload`)."""
    with sqlite3.connect(path) as db:
        have = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        total = 0
        for res in (RESOURCES[n] for n in resources or DEFAULT_RESOURCES):
            for name in {res.table().name, res.table().folder} & have:
                total += int(db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
    return total
