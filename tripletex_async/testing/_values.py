"""Small value generators shared by the record builders.

They take the collection's `random.Random` and draw with ``rng.random()`` and indexing,
which is several times faster than ``rng.choice``/``rng.randint``; the builders call them
tens of times per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TypeVar

from . import _norsk as no

__all__ = [
    "any_of",
    "landline",
    "mobile",
    "money",
    "person_name",
    "private_email",
    "street_address",
]

T = TypeVar("T")


def any_of(rng: Random, items: Sequence[T]) -> T:
    """A uniformly drawn item (``rng.choice`` without its overhead)."""
    return items[int(rng.random() * len(items))]


def money(rng: Random, low: float, high: float) -> float:
    """An amount in [low, high) rounded to øre."""
    return round(low + rng.random() * (high - low), 2)


def mobile(rng: Random) -> str:
    """A Norwegian mobile number as people type it (``+47`` and 8 digits from 4 or 9)."""
    lead = "4" if rng.random() < 0.6 else "9"
    return f"+47 {lead}{int(rng.random() * 10_000_000):07d}"


def landline(rng: Random) -> str:
    """A Norwegian landline number in groups of two."""
    n = 21_000_000 + int(rng.random() * 58_000_000)
    return f"{n // 1_000_000} {n // 10_000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d}"


def person_name(rng: Random) -> tuple[str, str, str]:
    """(first name, last name, ``first.last`` e-mail local part in ASCII)."""
    first, first_slug = any_of(rng, no.FIRST_NAMES)
    last, last_slug = any_of(rng, no.LAST_NAMES)
    return first, last, f"{first_slug}.{last_slug}"


def private_email(rng: Random, local: str) -> str:
    """A private e-mail address at a common provider."""
    return f"{local}@{any_of(rng, no.FREEMAIL)}"


def street_address(rng: Random) -> tuple[str, str, str]:
    """(street and number, postal code, city)."""
    postal_code, city = any_of(rng, no.CITIES)
    return f"{any_of(rng, no.STREETS)} {1 + int(rng.random() * 120)}", postal_code, city
