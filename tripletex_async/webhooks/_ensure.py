"""`ensure_subscriptions`: make a wanted set of webhook subscriptions exist, idempotently,
and note them in the receiver's registry."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..client._client import CompanyView, TripletexClient
from ..client._errors import ConfigurationError
from ..client._log import Log, Redactor
from ._subscriptions import (
    ACTIVE,
    Registration,
    Subscription,
    SubscriptionRegistry,
    Subscriptions,
    SubscriptionSpec,
    shown_url,
)

__all__ = ["EnsureReport", "ensure_subscriptions"]


@dataclass(frozen=True, slots=True)
class EnsureReport:
    """What `ensure_subscriptions` found and did in one company."""

    company_id: int
    created: tuple[Subscription, ...] = ()
    #: Changed fields, auth header name or secrets (as they are now).
    updated: tuple[Subscription, ...] = ()
    unchanged: tuple[Subscription, ...] = ()
    #: Were disabled and set ACTIVE again (``reenable=True``).
    reenabled: tuple[Subscription, ...] = ()
    #: Wanted, but disabled by Tripletex (too many errors, say) and left so.
    disabled: tuple[Subscription, ...] = ()

    @property
    def ok(self) -> bool:
        """Every wanted subscription is active."""
        return not self.disabled

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a report or a command line: ids, events and statuses."""

        def rows(subs: tuple[Subscription, ...]) -> list[dict[str, Any]]:
            return [{"id": s.id, "event": s.event, "status": s.status} for s in subs]

        return {
            "company_id": self.company_id,
            **{
                name: rows(getattr(self, name))
                for name in ("created", "updated", "unchanged", "reenabled", "disabled")
            },
        }


@dataclass(slots=True)
class _Plan:
    create: list[SubscriptionSpec] = field(default_factory=list)
    update: dict[int, dict[str, Any]] = field(default_factory=dict)
    reenable: set[int] = field(default_factory=set)
    unchanged: list[Subscription] = field(default_factory=list)
    disabled: list[Subscription] = field(default_factory=list)

    def report(
        self, company_id: int, created: list[Subscription], changed: list[Subscription]
    ) -> EnsureReport:
        return EnsureReport(
            company_id,
            created=tuple(created),
            updated=tuple(s for s in changed if set(self.update[s.id]) - {"status"}),
            unchanged=tuple(self.unchanged),
            reenabled=tuple(s for s in changed if s.id in self.reenable),
            disabled=tuple(self.disabled),
        )


async def ensure_subscriptions(
    view: TripletexClient | CompanyView,
    wanted: Iterable[SubscriptionSpec],
    *,
    registry: SubscriptionRegistry,
    reenable: bool = False,
) -> EnsureReport:
    """Make the ``wanted`` subscriptions exist in ``view``'s company, and report.

    ``registry`` is the receiver's (its `EventQueue`): every wanted subscription is noted
    there (company, event, fields), which is how the receiver learns whose data a
    delivery carries. It is required: a subscription the receiver does not know is
    answered 404 on every delivery, and Tripletex disables it after ten.

    A subscription is matched by event and target URL: a missing one is created; a
    matched one is updated when its fields or auth header name differ, or when its
    secrets differ from those last sent; anything else is left alone, so a rerun changes
    nothing. Disabled ones (``DISABLED_TOO_MANY_ERRORS``, ...) are reported, and set
    ``ACTIVE`` again with ``reenable``.
    """
    if registry is None:
        raise ConfigurationError(
            "ensure_subscriptions needs registry= (the receiver's EventQueue): a "
            "subscription the receiver does not know is refused on every delivery"
        )
    specs = {(s.event, s.target_url): s for s in _unique(wanted)}
    company_id = await _company_of(view)
    api = Subscriptions(view)
    known = await registry.registrations(company_id)
    plan = _Plan()
    existing = _first_of_each(await api.list_all())
    for key, spec in specs.items():
        current = existing.get(key)
        if current is None:
            plan.create.append(spec)
        else:
            secrets_changed = _secrets_changed(spec, known.get(current.id), registry)
            _plan_existing(plan, spec, current, secrets_changed, reenable)
    created = await api.create_many(plan.create)
    changed = await api.update_many(plan.update)
    _log(company_id, specs.values(), created, [*changed, *plan.disabled])
    now = [*created, *changed, *plan.unchanged, *plan.disabled]
    await registry.register(
        [_registration(company_id, specs[s.event, s.target_url], s, registry) for s in now]
    )
    return plan.report(company_id, created, changed)


def _first_of_each(subs: list[Subscription]) -> dict[tuple[str, str], Subscription]:
    """Existing subscriptions by (event, target URL); the oldest of duplicates."""
    out: dict[tuple[str, str], Subscription] = {}
    for sub in sorted(subs, key=lambda s: s.id):
        out.setdefault((sub.event, sub.target_url), sub)
    return out


def _secrets_changed(
    spec: SubscriptionSpec, known: Registration | None, registry: SubscriptionRegistry
) -> bool:
    if known is None:
        return True
    return not hmac.compare_digest(known.secrets, registry.fingerprint(spec.secrets()))


def _plan_existing(
    plan: _Plan,
    spec: SubscriptionSpec,
    current: Subscription,
    secrets_changed: bool,
    reenable: bool,
) -> None:
    changes: dict[str, Any] = {}
    if (
        secrets_changed
        or (current.fields or "") != spec.fields
        or (current.auth_header_name or None) != (spec.auth_header_name or None)
    ):
        changes.update(spec.body())
    if current.disabled and reenable:
        changes["status"] = ACTIVE
        plan.reenable.add(current.id)
    elif current.disabled:
        plan.disabled.append(current)
    if changes:
        plan.update[current.id] = changes
    elif not current.disabled:
        plan.unchanged.append(current)


def _log(
    company_id: int,
    specs: Iterable[SubscriptionSpec],
    created: list[Subscription],
    touched: list[Subscription],
) -> None:
    log = Log(Redactor(_revealed(specs)), company_id=company_id)
    for sub in created:
        log.info(
            "subscription_created",
            id=sub.id,
            event_name=sub.event,
            target=shown_url(sub.target_url),
        )
    for sub in touched:
        what = "subscription_disabled" if sub.disabled else "subscription_updated"
        log.info(what, id=sub.id, event_name=sub.event, status=sub.status)


def _registration(
    company_id: int, spec: SubscriptionSpec, sub: Subscription, registry: SubscriptionRegistry
) -> Registration:
    secrets = registry.fingerprint(spec.secrets())
    return Registration(sub.id, company_id, spec.event, spec.fields, secrets)


def _unique(wanted: Iterable[SubscriptionSpec]) -> list[SubscriptionSpec]:
    specs: dict[tuple[str, str], SubscriptionSpec] = {}
    for spec in wanted:
        key = (spec.event, spec.target_url)
        if key in specs and specs[key] != spec:
            raise ConfigurationError(
                f"two different subscriptions wanted for {spec.event} to "
                f"{shown_url(spec.target_url)}"
            )
        specs[key] = spec
    return list(specs.values())


async def _company_of(view: TripletexClient | CompanyView) -> int:
    """The company a view acts for; the token owner's real id for company 0."""
    if isinstance(view, CompanyView) and view.company_id:
        return view.company_id
    who = await view.who_am_i()
    return who.owner_company()


def _revealed(specs: Iterable[SubscriptionSpec]) -> list[str]:
    """Every secret of ``specs`` (and a target URL's credentials), for the redactor."""
    out: list[str] = []
    for spec in specs:
        out += [s.reveal() for s in (spec.auth_header_value, spec.hmac_secret) if s is not None]
        parts = urlsplit(spec.target_url)
        out += [p for p in (parts.password, parts.username) if p]
    return out
