"""The fields= value and the typed columns derived from a Struct."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tripletex_async import RESOURCES, Ref
from tripletex_async.engine._fields import fields_for, row_shape
from tripletex_async.sinks import Column

UNSET = msgspec.UNSET
U = msgspec.UnsetType


class Name(msgspec.Struct, kw_only=True):
    id: int | U = UNSET
    name: str | U | None = UNSET


class Line(msgspec.Struct, kw_only=True):
    id: int | U = UNSET
    product: Name | U | None = UNSET
    count: float | U | None = UNSET


class Order(msgspec.Struct, kw_only=True):
    id: int | U = UNSET
    number: str | U | None = UNSET
    isClosed: bool | U | None = UNSET  # noqa: N815
    customer: Ref | U | None = UNSET
    contact: Name | U | None = UNSET
    orderLines: list[Line] | U = UNSET  # noqa: N815
    tags: list[str] | U = UNSET
    data: str | U = UNSET


def test_nested_structs_become_sub_selections() -> None:
    """A Ref is asked by bare name, other Structs and lists of them as name(...)."""
    assert fields_for(Order) == (
        "id,number,isClosed,customer,contact(id,name),"
        "orderLines(id,product(id,name),count),tags,data"
    )


def test_extra_fields_are_added_once() -> None:
    """Fields the engine needs are prepended only when the Struct lacks them."""
    assert fields_for(Name, extra=["id", "date"]) == "date,id,name"


def test_columns_are_scalars_and_reference_ids() -> None:
    """Scalars take their API name in snake_case, references become <name>_id, lists are
    left out; each column knows where its value is in the JSON."""
    shape = row_shape(Order)
    assert shape.columns == (
        Column("number", "text"),
        Column("is_closed", "boolean", ("isClosed",)),
        Column("customer_id", "integer", ("customer", "id")),
        Column("contact_id", "integer", ("contact", "id")),
    )


def test_unset_and_null_values_become_none() -> None:
    """A field not requested and a JSON null both give an empty column."""
    order = msgspec.json.decode(b'{"id": 1, "number": null, "customer": {"id": 7}}', type=Order)
    assert row_shape(Order).values(order) == (None, None, 7, None)


@given(st.text(min_size=1), st.booleans(), st.integers(1, 2**53))
def test_values_follow_column_order(number: str, closed: bool, customer: int) -> None:
    """Typed values come out in the order of the columns."""
    order = Order(id=1, number=number, isClosed=closed, customer=Ref(customer))
    assert row_shape(Order).values(order) == (number, closed, customer, None)


class _PlacedLine(msgspec.Struct, kw_only=True):
    id: int | None = None
    position: int | None = None
    order: Ref | None = None
    text: str | None = None


class _PlacedOrder(msgspec.Struct, kw_only=True):
    id: int
    orderLines: list[_PlacedLine] | None = None  # noqa: N815 - Tripletex's name


def test_a_nested_field_named_like_a_child_tables_own_column_is_renamed() -> None:
    """A nested object's ``position`` is ``position_`` in its child table (the table's own
    ``position`` is the object's place in the list); a reference back to the record is
    left out (the parent key holds it)."""
    [child] = RESOURCES["order"].with_model(_PlacedOrder).table().children
    assert [c.name for c in child.columns] == ["position_", "text"]
