"""What a record builder knows about the company it generates for.

A `CompanyContext` turns (resource, index) into ids and ``{"id", "url"}`` references,
hands out dates and ``changes`` lists, and computes the few values that two collections
must agree on (an order's customer, an order line's price) as pure functions of the
index, so that neither collection has to be generated to build the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any, TypeVar

from . import _norsk as no
from ._calendar import WORKDAY_END, WORKDAY_START, Calendar, DayDistribution
from ._plan import CompanyPlan

__all__ = ["CompanyContext", "CompanyIdentity", "Ref", "make_identity", "mix"]

Ref = dict[str, Any]
_MASK = (1 << 64) - 1
_WORKDAY = WORKDAY_END - WORKDAY_START
#: Dated records get their updates within this many days of their date.
_EDIT_WINDOW = 45

T = TypeVar("T")


def _nth(items: Sequence[T], h: int) -> T:
    """The item that the low 16 bits of hash ``h`` select."""
    return items[(h & 0xFFFF) % len(items)]


def mix(x: int) -> int:
    """SplitMix64: a well-spread 64-bit hash, for values that must be pure functions."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@dataclass(frozen=True, slots=True)
class CompanyIdentity:
    """Name and contact details of one client company."""

    name: str
    #: ASCII form of the name, for e-mail domains.
    slug: str
    company_type: str
    organization_number: str
    postal_code: str
    city: str
    street: str
    phone: str


def make_identity(
    seed: int, company_id: int, office: tuple[str, str] | None = None
) -> CompanyIdentity:
    """A realistic Norwegian company, the same for the same (seed, company).

    ``office`` fixes the trade (name, slug) and makes it an AS, for the accountant.
    """
    rng = Random(f"{seed}:{company_id}:identity")
    place, place_slug = rng.choice(no.PLACES)
    drawn = rng.choice(no.TRADES)
    trade, trade_slug = office or drawn
    suffix, company_type = ("AS", "AS") if office else rng.choice(no.COMPANY_FORMS)
    postal_code, city = rng.choice(no.CITIES)
    return CompanyIdentity(
        name=f"{place} {trade} {suffix}",
        slug=f"{place_slug}{trade_slug}",
        company_type=company_type,
        organization_number=no.organization_number(company_id),
        postal_code=postal_code,
        city=city,
        street=f"{rng.choice(no.STREETS)} {rng.randint(1, 120)}",
        phone=f"{rng.randint(21, 79)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
        f"{rng.randint(10, 99)}",
    )


class CompanyContext:
    """Ids, references, dates and shared values for one company's records."""

    __slots__ = (
        "_days",
        "_first",
        "_prefix",
        "_shared",
        "calendar",
        "company_id",
        "counts",
        "identity",
        "plan",
        "salt",
        "year",
    )

    def __init__(
        self,
        plan: CompanyPlan,
        first_ids: Mapping[str, int],
        host: str,
        calendar: Calendar,
        identity: CompanyIdentity,
        seed: int,
    ) -> None:
        self.plan = plan
        self.company_id = plan.company_id
        self.counts = plan.counts
        self.calendar = calendar
        self.year = calendar.year
        self._days: DayDistribution | None = None
        self.identity = identity
        self.salt = mix(seed * 1_000_003 + plan.company_id)
        self._first = dict(first_ids)
        self._prefix = {path: f"{host}/v2/{path}/" for path in first_ids}
        self._shared: dict[str, dict[int, Ref]] = {path: {} for path in first_ids}

    @property
    def days(self) -> DayDistribution:
        """How this company's dated records spread over the year (built on first use)."""
        if self._days is None:
            rng = Random(f"{self.salt}:days")
            self._days = DayDistribution(self.calendar, rng)
        return self._days

    # -- ids and references ------------------------------------------------------------

    def first_id(self, resource: str) -> int:
        """Id of the company's record 0 of ``resource``."""
        return self._first[resource]

    def url_prefix(self, resource: str) -> str:
        """``{host}/v2/{resource}/``: a record's url is this plus its id."""
        return self._prefix[resource]

    def ref(self, resource: str, index: int) -> Ref | None:
        """Reference to record ``index`` of ``resource``; None if there is no such record.

        References are shared between the records that hold them (every customer points
        at the same NOK ``{"id", "url"}`` dict): a third less memory for big portfolios.
        Records are therefore read-only; replace a reference, never edit it in place.
        """
        cache = self._shared[resource]
        found = cache.get(index)
        if found is None:
            if not 0 <= index < self.counts[resource]:
                return None
            rid = self._first[resource] + index
            found = cache[index] = {"id": rid, "url": f"{self._prefix[resource]}{rid}"}
        return found

    def refs(self, resource: str, indices: range) -> list[Ref]:
        """References to a run of records (children of one parent)."""
        first, prefix = self._first[resource], self._prefix[resource]
        return [{"id": first + i, "url": f"{prefix}{first + i}"} for i in indices]

    def pick(self, resource: str, rng: Random, none_share: float = 0.0) -> Ref | None:
        """A random existing record of ``resource``, or None (with ``none_share`` odds)."""
        n = self.counts[resource]
        if n == 0 or rng.random() < none_share:
            return None
        return self.ref(resource, int(rng.random() * n))

    # -- dates and changes -------------------------------------------------------------

    def dated_day(self, index: int, total: int) -> int:
        """Calendar day of the ``index``-th of ``total`` dated records (in the year)."""
        return self.days.day(index, total)

    def history_day(self, rng: Random) -> int:
        """A day from the start of the history to the end of the year (master data)."""
        return int(rng.random() * (self.calendar.year_end + 1))

    def changes(self, rng: Random, day: int, last_day: int) -> tuple[list[dict[str, Any]], int]:
        """A CREATE on ``day`` and up to two later UPDATEs (not after ``last_day``).

        Returns the changes and the matching ``version`` (the number of updates).
        """
        r = rng.random
        stamp = self.calendar.timestamp
        n_emp = self.counts["employee"]
        # Without employees (only by a size override) changes name employee 0, not the
        # first employee of the next company.
        emp = self._first["employee"] if n_emp else 0
        out = [
            {
                "employeeId": emp + int(r() * n_emp),
                "timestamp": stamp(day, WORKDAY_START + int(r() * _WORKDAY)),
                "changeType": "CREATE",
            }
        ]
        u = r()
        for _ in range(0 if u < 0.55 else 1 if u < 0.85 else 2):
            if day >= last_day:
                break
            day += 1 + int(r() * (last_day - day))
            out.append(
                {
                    "employeeId": emp + int(r() * n_emp),
                    "timestamp": stamp(day, WORKDAY_START + int(r() * _WORKDAY)),
                    "changeType": "UPDATE",
                }
            )
        return out, len(out) - 1

    def head(
        self, resource: str, index: int, rng: Random, day: int | None = None
    ) -> dict[str, Any]:
        """``id``, ``version``, ``changes`` and ``url`` of a record, in the spec's order.

        Master data (``day`` None) was created at some point in the history; dated records
        on their date, and edited within the following weeks of the same year.
        """
        rid = self._first[resource] + index
        year_end = self.calendar.year_end
        if day is None:
            changes, version = self.changes(rng, self.history_day(rng), year_end)
        else:
            changes, version = self.changes(rng, day, min(day + _EDIT_WINDOW, year_end))
        return {
            "id": rid,
            "version": version,
            "changes": changes,
            "url": f"{self._prefix[resource]}{rid}",
        }

    # -- values two collections agree on -----------------------------------------------

    def hashed(self, kind: int, index: int) -> int:
        """A pure 64-bit hash of (company, kind of value, index)."""
        return mix(self.salt ^ (kind << 48) ^ index)

    def order_customer(self, order: int) -> int:
        """Customer index of an order (invoices of the order bill the same customer)."""
        return self.hashed(1, order) % max(1, self.counts["customer"])

    def order_day(self, order: int) -> int:
        """Calendar day of an order's ``orderDate``."""
        return self.days.day(order, max(1, self.counts["order"]))

    def product_price(self, product: int) -> float:
        """A product's price excluding VAT in NOK: the table price, varied per product."""
        base = no.PRODUCTS[product % len(no.PRODUCTS)][1]
        return round(base * (0.8 + (self.hashed(2, product) % 400) / 1000), 2)

    def line_values(self, line: int) -> tuple[int, float, float, float]:
        """(product index, count, unit price excluding VAT, discount %) of an order line."""
        h = self.hashed(3, line)
        product = h % max(1, self.counts["product"])
        count = float(1 + (h >> 20) % 12)
        discount = 10.0 if (h >> 40) % 8 == 0 else 0.0
        return product, count, self.product_price(product), discount

    def party_name(self, resource: str, index: int) -> tuple[str, str, bool, str]:
        """(name, e-mail, is a private person, ASCII slug) of a customer or supplier.

        Pure, because orders and projects show their customer's name.
        """
        h = self.hashed(4 if resource == "customer" else 5, index)
        private_share = 31 if resource == "customer" else 8  # of 256: 12 % and 3 %
        if h & 0xFF < private_share:
            # Each choice reads its own 16 bits of the hash (8-23, 24-39, 40-55).
            first, first_slug = _nth(no.FIRST_NAMES, h >> 8)
            last, last_slug = _nth(no.LAST_NAMES, h >> 24)
            slug = f"{first_slug}.{last_slug}"
            return f"{first} {last}", f"{slug}@{_nth(no.FREEMAIL, h >> 40)}", True, slug
        place, place_slug = _nth(no.PLACES, h >> 8)
        trade, trade_slug = _nth(no.TRADES, h >> 24)
        suffix = _nth(no.COMPANY_FORMS, h >> 40)[0]
        slug = f"{place_slug}{trade_slug}"
        return f"{place} {trade} {suffix}", f"post@{slug}.no", False, slug

    def employee_name(self, index: int) -> tuple[str, str, str]:
        """(first name, last name, ASCII ``first.last``) of an employee (pure)."""
        h = self.hashed(6, index)
        first, first_slug = _nth(no.FIRST_NAMES, h)
        last, last_slug = _nth(no.LAST_NAMES, h >> 16)
        return first, last, f"{first_slug}.{last_slug}"

    def product_vat(self, product: int) -> int:
        """Index into ``VAT_TYPES`` of a product's VAT type."""
        return no.PRODUCTS[product % len(no.PRODUCTS)][2]
