"""Read and write an endpoint that has no sync resource, through the same session and budget.

Runs against the in-process simulator when TRIPLETEX_BASE_URL is not set, so it needs no
account:  python examples/any_endpoint.py
"""

from __future__ import annotations

import os

import anyio
import msgspec

from tripletex_async import Ref, TripletexClient
from tripletex_async.testing import (
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    generate_portfolio,
)


class Country(msgspec.Struct):
    """The fields we want of a country; the rest of the object is ignored."""

    id: int
    name: str | None = None
    isoAlpha2Code: str | None = None  # noqa: N815 - Tripletex's name


class OrderLine(msgspec.Struct):
    """An order line as Tripletex answers a POST."""

    id: int
    version: int
    description: str | None = None
    order: Ref | None = None


async def main() -> None:
    """List countries, then add an order line to an existing order and read it back."""
    fake = None
    options: dict[str, object] = {}
    if not os.environ.get("TRIPLETEX_BASE_URL"):
        fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=2, scale=0.05)))
        options = {
            "consumer_token": fake.credentials.consumer_token,
            "employee_token": fake.credentials.employee_token,
            "base_url": "http://simulator/v2",
            "transport": FakeTransport(fake),
        }
    async with TripletexClient(**options) as client:  # type: ignore[arg-type]
        company = (await client.companies())[-1]
        view = client.company(company.id)

        countries = await view.get_list(
            "/country", Country, params={"fields": "id,name,isoAlpha2Code", "count": 5}
        )
        print("countries:", ", ".join(f"{c.name} ({c.isoAlpha2Code})" for c in countries.values))

        orders = await view.get_list(
            "/order",
            Ref,
            params={"orderDateFrom": "2000-01-01", "orderDateTo": "2100-01-01", "count": 1},
        )
        line = await view.post(
            "/order/orderline",
            json={
                "order": {"id": orders.values[0].id},
                "description": "Konsulenttimer",
                "count": 2,
            },
            type=dict[str, OrderLine],
        )
        created = line["value"]
        again = await view.get_value(f"/order/orderline/{created.id}", OrderLine)
        print(
            f"order line {again.id} on order {again.order.id if again.order else '?'}:",
            again.description,
        )
        stats = client.statistics()
        print(
            f"requests={stats.requests} sessions={stats.sessions_created} "
            f"retries={stats.retries} 429s={stats.rate_limited}"
        )


if __name__ == "__main__":
    anyio.run(main)
