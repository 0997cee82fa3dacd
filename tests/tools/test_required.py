"""``required.json``: committed as the tool makes it from the Swagger 2 spec, and the
required fields of the objects issue 19 names."""

from __future__ import annotations

from typing import Any

from tools import distil_required
from tools.distil_spec import render
from tripletex_async._spec import required_json
from tripletex_async.testing._write_checks import required_fields


def test_required_json_is_what_the_tool_makes_of_the_spec(swagger: dict[str, Any]) -> None:
    """The committed file equals the tool's output (regenerate with ``python -m
    tools.distil_required SWAGGER.json``)."""
    text = render(distil_required.build(swagger))
    assert text == required_json().decode()


def test_required_fields_of_the_issues_objects() -> None:
    """Customer and Supplier need a name, Order its customer and dates, Voucher its date,
    description and postings; OrderLine and Posting have no required list."""
    required = required_fields()
    assert required["Customer"] == required["Supplier"] == ("name",)
    assert required["Order"] == ("customer", "deliveryDate", "orderDate")
    assert required["Voucher"] == ("date", "description", "postings")
    assert "OrderLine" not in required
    assert "Posting" not in required
