"""What a write may be, as Tripletex judges it: everything the simulator's POST and PUT refuse.

`check` is what Tripletex refuses (422): 16000 for a body it cannot map (a nested field
the model lacks, a reference that is not an object), 18000 listing every missing
required field (``required.json``, from the Swagger 2 spec), reference to an object the
company does not have, and voucher whose postings do not sum to zero.

It also holds the vocabulary both halves of a write share (`Record`, `Lookup`, the
value objects a write may create in place, a parent's child links); what a write fills
in is `_write_defaults`. The back door (`FakeTripletex.add`/``update``) never refuses:
tests set up odd states with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import msgspec

from .._spec import required_json
from ._errors import ApiFailure, validation_failed
from ._resources import CHILD_LINKS, MODEL_COLLECTIONS, RESOURCES, ChildLink
from ._schema import FieldSchema, load_models

__all__ = [
    "NESTED_VALUES",
    "Lookup",
    "Record",
    "Records",
    "check",
    "links_of",
    "required_fields",
]

Record = dict[str, Any]

NULL = "Kan ikke være null."
EMPTY = "Feltet må fylles ut."
ID_ON_CREATE = "ID kan ikke settes når man oppretter et objekt."
UNKNOWN = "Feltet eksisterer ikke i objektet."
WRONG_TYPE = "Verdien er ikke av korrekt type for dette feltet."
# The real wordings of these two are unconfirmed (no sample in FACTS.md).
NOT_FOUND = "Objektet finnes ikke."
UNBALANCED = "Bilaget er ikke i balanse: summen av posteringene må være 0."

#: Reference targets a write may create in place (a customer's new postal address):
#: value objects owned by the record naming them. Any other reference needs an ``id``.
NESTED_VALUES = frozenset({"Address", "DeliveryAddress"})


class Records(Protocol):
    """The objects of one collection of one company (a `Collection`)."""

    by_id: dict[int, Record]

    def ordered(self) -> list[Record]:
        """All objects sorted by id."""
        ...


#: One company's collection by path.
Lookup = Callable[[str], Records]


class _RequiredFile(msgspec.Struct, frozen=True):
    required: dict[str, list[str]]


@functools.cache
def required_fields() -> Mapping[str, tuple[str, ...]]:
    """Model -> the fields a POST must carry (``required.json``; cached, immutable)."""
    loaded = msgspec.json.decode(required_json(), type=_RequiredFile)
    return MappingProxyType({m: tuple(f) for m, f in loaded.required.items()})


def links_of(resource: str) -> list[tuple[str, ChildLink]]:
    """(child collection, link) of every collection whose records name a ``resource`` parent."""
    return [(child, link) for child, link in CHILD_LINKS.items() if link.parent == resource]


@dataclass(slots=True)
class _Problems:
    mapping: list[tuple[str, str]] = field(default_factory=list)
    validation: list[tuple[str, str]] = field(default_factory=list)


def check(resource: str, data: Record, lookup: Lookup, *, creating: bool) -> None:
    """Raise the 422 Tripletex answers to ``data`` written to ``resource``, if any.

    16000 "Request mapping failed" comes first; else 18000 "Validering feilet." names
    every missing required field, unknown reference and unbalanced voucher at once. On
    a PUT (``creating`` false) a required field may be left out, not emptied.
    """
    problems = _Problems()
    _check_object(resource, data, lookup, problems, "", creating=creating)
    for child, link in links_of(resource):
        _check_children(child, link, data.get(link.children_field), lookup, problems, creating)
    if resource == "ledger/voucher":
        _check_balance(data.get("postings"), problems)
    if problems.mapping:
        raise ApiFailure(422, 16000, "Request mapping failed", validation=problems.mapping)
    if problems.validation:
        raise validation_failed(problems.validation, 18000)


def _check_object(
    resource: str,
    data: Record,
    lookup: Lookup,
    out: _Problems,
    prefix: str,
    *,
    creating: bool,
    skip: str | None = None,
) -> None:
    model = load_models()[RESOURCES[resource].model]
    for name in required_fields().get(model.name, ()):
        if name in data or creating:
            message = _missing(data.get(name))
            if message is not None:
                out.validation.append((prefix + name, message))
    children = {link.children_field for _, link in links_of(resource)}
    for name, value in data.items():
        spec = model.field(name)
        if spec is None:
            out.mapping.append((prefix + name, UNKNOWN))
        elif spec.kind in ("ref", "ref_array") and name not in children and name != skip:
            _check_ref(spec, prefix + name, value, lookup, out)


def _missing(value: object) -> str | None:
    if value is None:
        return NULL
    if value == "" or value == []:
        return EMPTY
    return None


def _check_ref(spec: FieldSchema, name: str, value: object, lookup: Lookup, out: _Problems) -> None:
    if value is None:
        return
    if spec.kind == "ref_array" and not isinstance(value, list):
        out.mapping.append((name, WRONG_TYPE))
        return
    target = spec.target or ""
    path = MODEL_COLLECTIONS.get(target)
    for ref in value if isinstance(value, list) else [value]:
        if not isinstance(ref, dict):
            out.mapping.append((name, WRONG_TYPE))
            continue
        rid = ref.get("id")
        if rid is None:
            if path is not None and target in NESTED_VALUES:
                _check_object(path, ref, lookup, out, name + ".", creating=True)
            elif path is not None:
                out.validation.append((name + ".id", EMPTY))
        elif not isinstance(rid, int) or isinstance(rid, bool):
            out.mapping.append((name + ".id", WRONG_TYPE))
        elif path is not None and rid not in lookup(path).by_id:
            out.validation.append((name + ".id", NOT_FOUND))


def _check_children(
    child: str,
    link: ChildLink,
    items: object,
    lookup: Lookup,
    out: _Problems,
    creating: bool,
) -> None:
    name = link.children_field
    if items is None:
        return
    if not isinstance(items, list):
        out.mapping.append((name, WRONG_TYPE))
        return
    for item in items:
        if not isinstance(item, dict):
            out.mapping.append((name, WRONG_TYPE))
        elif "id" in item:
            if creating:
                out.validation.append((name + ".id", ID_ON_CREATE))
            elif item["id"] not in lookup(child).by_id:
                out.validation.append((name + ".id", NOT_FOUND))
        else:
            # The parent is the record being written: whatever the child names is replaced.
            _check_object(
                child, item, lookup, out, name + ".", creating=True, skip=link.parent_field
            )


def _check_balance(postings: object, out: _Problems) -> None:
    """New postings must sum to zero, by gross amount as Tripletex books them."""
    if not isinstance(postings, list):
        return
    total = 0
    for posting in postings:
        if not isinstance(posting, dict) or "id" in posting:
            continue
        amount = _gross(posting)
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            out.mapping.append(("postings.amountGross", WRONG_TYPE))
            return
        total += round(amount * 100)
    if total:
        out.validation.append(("postings", f"{UNBALANCED} Differanse: {total / 100:.2f}."))


def _gross(posting: Record) -> object:
    """A posting's gross amount: ``amountGross``, else ``amount`` (Tripletex uses only the
    gross; a body with only ``amount`` is taken to mean it)."""
    gross = posting.get("amountGross")
    return posting.get("amount", 0.0) if gross is None else gross
