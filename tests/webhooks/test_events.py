"""Events to resources, and whether a subscription's fields cover a model (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripletex_async import RESOURCES
from tripletex_async.webhooks import SUBJECTS, WEBHOOK_RESOURCES
from tripletex_async.webhooks._events import Route, covers, parse_fields, route


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("customer.create", Route("customer", "upsert")),
        ("account.update", Route("ledger/account", "upsert")),
        ("voucher.delete", Route("ledger/voucher", "delete")),
        ("invoice.charged", Route("invoice", "upsert")),
        ("invoice.create", None),
        ("customer.charged", None),
        ("notification.sent", None),
        ("voucherstatus.ready", None),
        ("closeGroup.create", None),
    ],
)
def test_route_maps_subjects_to_resources(event: str, expected: Route | None) -> None:
    """Subjects name resources (account is ledger/account); unknown events route nowhere."""
    assert route(event) == expected


def test_every_subject_is_a_known_resource() -> None:
    """The resources webhooks keep are resources the engine syncs."""
    assert set(SUBJECTS.values()) == set(WEBHOOK_RESOURCES) <= set(RESOURCES)


@pytest.mark.parametrize("name", WEBHOOK_RESOURCES)
def test_a_resource_s_own_fields_cover_its_model(name: str) -> None:
    """Subscribing with Resource.fields() makes payloads writable as they are."""
    resource = RESOURCES[name]
    assert covers(resource.fields(), resource)


def test_star_covers_a_model_without_expansions() -> None:
    """``*`` (or empty, Tripletex's default) gives every field, references unexpanded."""
    assert covers("*", RESOURCES["customer"])
    assert covers("", RESOURCES["customer"])


def test_star_does_not_cover_expanded_lines() -> None:
    """Orders expand their lines, which ``*`` leaves as references."""
    assert not covers("*", RESOURCES["order"])


def test_narrow_fields_do_not_cover() -> None:
    """A subscription asking for a few fields needs a fetch."""
    assert not covers("id,version,name", RESOURCES["customer"])


def test_unbalanced_fields_do_not_cover() -> None:
    """A fields expression that does not parse is treated as not covering."""
    assert not covers("id,customer(id", RESOURCES["customer"])


def test_parse_nested_fields() -> None:
    """Nested selections parse into nested dictionaries."""
    assert parse_fields("id, lines(id,product(*)),name") == {
        "id": None,
        "lines": {"id": None, "product": {"*": None}},
        "name": None,
    }


_names = st.text(alphabet="abcxyz", min_size=1, max_size=4)
_selection = st.recursive(
    st.dictionaries(_names, st.none(), min_size=1, max_size=4),
    lambda inner: st.dictionaries(_names, st.none() | inner, min_size=1, max_size=4),
    max_leaves=12,
)


def _render(selection: dict[str, object]) -> str:
    return ",".join(
        name if child is None else f"{name}({_render(child)})"  # type: ignore[arg-type]
        for name, child in selection.items()
    )


@given(_selection)
def test_parse_inverts_render(selection: dict[str, object]) -> None:
    """Any rendered selection parses back to itself."""
    assert parse_fields(_render(selection)) == selection
