"""Which resource an event is about, what a subscription's ``fields`` deliver, and the
subscriptions that keep a sink current.

Tripletex names events ``<subject>.<verb>`` (``GET /event`` lists them); the subject is
not always the resource's path (``account`` is ``ledger/account``, ``voucher`` is
``ledger/voucher``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ..client._errors import ConfigurationError
from ..engine._resources import Resource, resolve_resources
from ._subscriptions import SubscriptionSpec
from ._verify import WebhookAuth

__all__ = [
    "SUBJECTS",
    "WEBHOOK_RESOURCES",
    "Route",
    "covers",
    "known_resources",
    "parse_fields",
    "route",
    "subscription_specs",
]

#: Event subject -> resource (API path).
SUBJECTS: Mapping[str, str] = {
    "customer": "customer",
    "supplier": "supplier",
    "employee": "employee",
    "order": "order",
    "product": "product",
    "account": "ledger/account",
    "project": "project",
    "contact": "contact",
    "voucher": "ledger/voucher",
    "invoice": "invoice",
}
#: Verbs that mean "this object now looks like this"; ``delete`` removes it.
_UPSERTS = frozenset({"create", "update", "charged"})
#: The resources webhooks can keep current (every subject above).
WEBHOOK_RESOURCES: tuple[str, ...] = tuple(SUBJECTS.values())

#: A parsed ``fields`` expression: name -> sub-selection (``None``: not expanded).
Selection = dict[str, "Selection | None"]


@dataclass(frozen=True, slots=True)
class Route:
    """What an event means for the sink."""

    resource: str
    action: Literal["upsert", "delete"]


def route(event: str) -> Route | None:
    """The resource and action of an event; ``None`` for events that change no resource
    the engine knows (``notification.sent``, ``voucherstatus.ready``, ...)."""
    subject, _, verb = event.partition(".")
    resource = SUBJECTS.get(subject)
    if resource is None:
        return None
    if verb == "delete":
        return Route(resource, "delete")
    if verb in _UPSERTS and (subject == "invoice") == (verb == "charged"):
        return Route(resource, "upsert")
    return None


def _events_of(resource: str) -> list[str]:
    subject = next(s for s, r in SUBJECTS.items() if r == resource)
    if subject == "invoice":
        return ["invoice.charged"]
    return [f"{subject}.{verb}" for verb in ("create", "update", "delete")]


def subscription_specs(
    target_url: str,
    auth: WebhookAuth,
    *,
    resources: Iterable[str | Resource] = WEBHOOK_RESOURCES,
) -> list[SubscriptionSpec]:
    """The subscriptions that keep ``resources`` current through one receiver.

    Creates and updates ask for the resource's own ``fields()``, so a delivery's
    ``value`` is exactly what a sync would fetch and is written without a request;
    deletions carry no value and ask for ``id`` only.
    """
    out: list[SubscriptionSpec] = []
    for resource in known_resources(resources).values():
        for event in _events_of(resource.name):
            fields = "id" if event.endswith(".delete") else resource.fields()
            out.append(
                SubscriptionSpec(
                    event,
                    target_url,
                    fields,
                    auth_header_name=auth.header_name,
                    auth_header_value=auth.header_value,
                    hmac_secret=auth.hmac_secret,
                )
            )
    return out


def parse_fields(text: str) -> Selection:
    """Parse a ``fields`` expression (``id,customer(id,name),orderLines(*)``); an empty
    one is ``*``. Raises ValueError on unbalanced parentheses."""
    text = text.replace(" ", "")
    if not text:
        return {"*": None}
    selection, end = _level(text, 0)
    if end != len(text):
        raise ValueError(f"unbalanced parentheses in fields at {end}")
    return selection


def _level(text: str, pos: int) -> tuple[Selection, int]:
    out: Selection = {}
    while pos < len(text) and text[pos] != ")":
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        name, child = text[start:pos], None
        if pos < len(text) and text[pos] == "(":
            child, pos = _level(text, pos + 1)
            if pos >= len(text):
                raise ValueError("unbalanced parentheses in fields")
            pos += 1
        if name:
            out[name] = child
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return out, pos


def covers(delivered: str, resource: Resource) -> bool:
    """Whether payloads of a subscription asking for ``delivered`` hold every field the
    resource's model asks for (then ``value`` can be written as it is)."""
    try:
        have = parse_fields(delivered)
    except ValueError:
        return False
    return _covers(have, parse_fields(resource.fields()))


def _covers(have: Selection, need: Selection) -> bool:
    for name, child in need.items():
        if name not in have:
            # ``*`` is every field, references unexpanded ({id, url}).
            if child is None and "*" in have:
                continue
            return False
        got = have[name]
        if child is None:
            if got is not None and "*" not in got:
                return False
        elif got is None or not _covers(got, child):
            return False
    return True


def known_resources(resources: Iterable[str | Resource] | None) -> dict[str, Resource]:
    """The resources a receiver writes, by name (default: every one webhooks can keep)."""
    chosen = resolve_resources(WEBHOOK_RESOURCES if resources is None else resources)
    unknown = [r.name for r in chosen if r.name not in SUBJECTS.values()]
    if unknown:
        raise ConfigurationError(f"Tripletex has no webhook events for {', '.join(unknown)}")
    return {r.name: r for r in chosen}
