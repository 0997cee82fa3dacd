"""How each kind of resource is asked for and keyed: dated lists whose date lies in a
reference, child lists whose parent is a path param, reports as of a day or for a
period, and records with no ``id`` of their own."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import pytest

from tripletex_async.engine._resources import RESOURCES, WHOLE, Partition
from tripletex_async.engine._rows import RowBuilder, natural_id
from tripletex_async.engine._windows import Window


class _Decoders:
    """What `RowBuilder` needs of a connection: cached decoders."""

    def decoder(self, type_: Any) -> msgspec.json.Decoder[Any]:
        return msgspec.json.Decoder(type_)


def _rows(name: str, records: list[dict[str, Any]], stamp: str | None = None) -> list[Any]:
    build = RowBuilder(RESOURCES[name], _Decoders())  # type: ignore[arg-type]
    return build([msgspec.Raw(msgspec.json.encode(r)) for r in records], set(), stamp)


def test_a_report_as_of_a_day_is_asked_for_that_day() -> None:
    """``/ledger/openPost`` takes one ``date``: the window's day."""
    query = RESOURCES["ledger/openPost"].query(
        WHOLE, Window(date(2026, 12, 7), date(2026, 12, 8)), 100
    )
    assert query["date"] == "2026-12-07"
    assert "dateFrom" not in query
    assert "dateTo" not in query


def test_an_inclusive_to_date_is_the_windows_last_day() -> None:
    """``/inventory/inventories``'s dateTo includes its day: a year ends on 31 December."""
    query = RESOURCES["inventory/inventories"].query(
        WHOLE, Window(date(2025, 1, 1), date(2026, 1, 1)), 100
    )
    assert (query["dateFrom"], query["dateTo"]) == ("2025-01-01", "2025-12-31")


def test_an_exclusive_to_date_is_the_windows_end() -> None:
    """Most pairs exclude their "to": ``/reminder`` gets the window's end as is."""
    query = RESOURCES["reminder"].query(WHOLE, Window(date(2025, 1, 1), date(2026, 1, 1)), 100)
    assert (query["dateFrom"], query["dateTo"]) == ("2025-01-01", "2026-01-01")


def test_a_parent_in_the_path_leaves_the_query() -> None:
    """``/travelExpense/costParticipant/{costId}/costParticipants``: the parent id is a
    path param, not a query param."""
    resource = RESOURCES["travelExpense/costParticipant/costParticipants"]
    part = Partition("costId=42", {"costId": "42"})
    path, query = resource.locate(resource.query(part, Window(None, None), 100))
    assert path == "/travelExpense/costParticipant/42/costParticipants"
    assert "costId" not in query


def test_a_parent_in_the_query_stays_there() -> None:
    """``/product/productPrice?productId=``: one query per product."""
    resource = RESOURCES["product/productPrice"]
    assert resource.parent is not None
    assert (resource.parent.param, resource.parent.resource) == ("productId", "product")
    part = Partition("productId=7", {"productId": "7"})
    path, query = resource.locate(resource.query(part, Window(None, None), 100))
    assert (path, query["productId"]) == ("/product/productPrice", "7")


def test_a_date_inside_a_reference_is_asked_for() -> None:
    """``/invoice/details`` is windowed on its invoice's date: ``fields`` reaches it."""
    narrow = RESOURCES["invoice/details"].with_fields("id,feeAmount")
    assert set(narrow.fields().split(",")) == {"id", "feeAmount", "invoice(invoiceDate)"}


def test_a_date_inside_a_reference_is_the_rows_window_date() -> None:
    """The row's window date is read along the dotted path."""
    rows = _rows("invoice/details", [{"id": 3, "invoice": {"id": 9, "invoiceDate": "2026-02-01"}}])
    assert rows[0][:1] == (3,)
    assert rows[0][2] == "2026-02-01"


def test_a_record_without_an_id_is_keyed_by_its_natural_key() -> None:
    """``company/salesmodules`` rows are keyed by ``name``: a stable id from it."""
    rows = _rows("company/salesmodules", [{"name": "PRO"}, {"name": "AGRO"}])
    assert [r[0] for r in rows] == [natural_id("PRO"), natural_id("AGRO")]
    assert natural_id("PRO") != natural_id("AGRO")
    assert 0 <= natural_id("PRO") < 2**63


def test_a_report_row_is_keyed_by_its_key_and_the_reports_date() -> None:
    """The same account in two reports is two rows, each dated by its report."""
    record = {"account": {"id": 1920}, "balanceOut": 10}
    first = _rows("balanceSheet", [record], ("2025-01-01", "2025-01-01..2026-01-01"))[0]
    second = _rows("balanceSheet", [record], ("2026-01-01", "2026-01-01..2027-01-01"))[0]
    assert first[0] != second[0]
    assert (first[2], second[2]) == ("2025-01-01", "2026-01-01")
    assert first[0] == natural_id(1920, "2025-01-01..2026-01-01")


def test_reports_of_one_start_and_other_ends_are_other_rows() -> None:
    """A year's report and a quarter's, both from 1 January, are kept apart."""
    record = {"account": {"id": 1920}, "balanceOut": 10}
    year = _rows("balanceSheet", [record], ("2025-01-01", "2025-01-01..2026-01-01"))[0]
    quarter = _rows("balanceSheet", [record], ("2025-01-01", "2025-01-01..2025-04-01"))[0]
    assert year[0] != quarter[0]


def test_a_record_without_its_key_is_refused() -> None:
    """A report row with no account cannot be stored under any key."""
    with pytest.raises(msgspec.ValidationError, match="without its key"):
        _rows("balanceSheet", [{"balanceOut": 10}], ("2025-01-01", "2025-01-01..2026-01-01"))


def test_a_date_in_a_reference_is_merged_into_its_selection() -> None:
    """The default ``invoice/details`` asks its invoice bare (``{id, url}``): the date
    the windows filter on is asked within it, not dropped."""
    assert "invoice(id,url,invoiceDate)" in RESOURCES["invoice/details"].fields()


def test_a_key_in_a_reference_is_asked_for_when_narrowed_away() -> None:
    """A narrowed report still asks for the account its rows are keyed by."""
    assert RESOURCES["balanceSheet"].with_fields("balanceOut").fields() == "account(id),balanceOut"


def test_a_report_as_of_a_day_ahead_of_the_range_is_not_read() -> None:
    """A range wholly in the future has no day to report open posts for."""
    resource = RESOURCES["ledger/openPost"]
    assert resource.windows(date(2027, 1, 1), date(2028, 1, 1), date(2026, 12, 7)) == []


def test_a_report_as_of_a_day_is_today_within_the_range() -> None:
    """The run's last day, today at the latest."""
    resource = RESOURCES["ledger/openPost"]
    windows = resource.windows(date(2025, 1, 1), date(2028, 1, 1), date(2026, 12, 7))
    assert windows == [Window(date(2026, 12, 7), date(2026, 12, 8))]


def test_a_period_report_is_read_per_year_whatever_was_stored() -> None:
    """A quarter read once (a user's --date-to) does not re-cut the yearly reports."""
    resource = RESOURCES["balanceSheet"]
    quarter = Window(date(2025, 1, 1), date(2025, 4, 1))
    windows = resource.windows(date(2025, 1, 1), date(2027, 1, 1), date(2026, 12, 7), [quarter])
    assert windows == [
        Window(date(2025, 1, 1), date(2026, 1, 1)),
        Window(date(2026, 1, 1), date(2027, 1, 1)),
    ]


def test_rows_without_an_id_keep_the_lists_own_order() -> None:
    """``sorting=id`` is asked only of lists whose rows have an id."""
    assert "sorting" not in RESOURCES["balanceSheet"].query(
        WHOLE, Window(date(2025, 1, 1), date(2026, 1, 1)), 100
    )
    assert (
        RESOURCES["reminder"].query(WHOLE, Window(date(2025, 1, 1), date(2026, 1, 1)), 100)[
            "sorting"
        ]
        == "id"
    )
