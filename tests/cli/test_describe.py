"""``tripletex-async describe``: the data dictionary, on the terminal and as Markdown."""

from __future__ import annotations

from pathlib import Path

from .conftest import Run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_markdown_is_the_committed_data_dictionary(run: Run) -> None:
    """docs/tables.md, which the README links, is what describe prints today (no drift):
    regenerate it with ``tripletex-async describe --format markdown > docs/tables.md``."""
    result = run("describe", "--format", "markdown")
    assert result.code == 0
    assert result.out == DOCS.read_text(encoding="utf-8")


def test_a_table_lists_its_columns_types_and_descriptions(run: Run) -> None:
    """One resource: its snake_case table, internal and typed columns with their types in
    PostgreSQL, SQLite and DuckDB, Tripletex's description where the spec has one."""
    result = run("describe", "ledger/posting", "--format", "markdown")
    assert result.code == 0
    lines = result.out.splitlines()
    assert "## ledger_posting" in lines
    assert "| `amount` | numeric | REAL | DECIMAL(38,10) | The record's amount. |" in lines
    assert any(line.startswith("| `amount_minor` |  | INTEGER |  | SQLite only") for line in lines)
    assert any(line.startswith("| `voucher_id` | bigint | INTEGER | BIGINT |") for line in lines)
    assert any(line.startswith("| `date` | date | DATE | DATE |") for line in lines)
    assert any("KID, customer identification" in line for line in lines)  # the spec's text
    assert "## invoice" not in lines


def test_an_unknown_resource_is_one_line_and_exit_2(run: Run) -> None:
    """A typo names itself and the known resources; nothing is printed on stdout."""
    result = run("describe", "ledger/postings")
    assert result.code == 2
    assert result.out == ""
    assert "unknown resource(s) ledger/postings" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_resources_lists_every_list_endpoint_and_which_are_synced(run: Run) -> None:
    """``resources`` shows each endpoint to sync with its group and kind; the default
    set is marked, the rest not."""
    result = run("resources", "--group", "bank", "--group", "invoicing")
    assert result.code == 0
    assert "bank/statement/transaction" in result.out
    assert "child" in result.out
    lines = result.out.splitlines()
    assert any("customer " in line and "yes" in line for line in lines)
    assert any(
        line.split("│")[1].strip() == "bank" and "yes" not in line for line in lines if "│" in line
    )
    assert "salary" not in result.out


def test_resources_excluded_says_why_each_is_not_synced(run: Run) -> None:
    """``--excluded`` lists the endpoints never synced, each with its reason."""
    result = run("resources", "--excluded", "--group", "ledger")
    assert result.code == 0
    assert "/ledger/postingByDate" in result.out
    assert "in date order" in result.out


def test_resources_rejects_an_unknown_kind_in_one_line(run: Run) -> None:
    """A typo is exit 2 and one line naming the choices."""
    result = run("resources", "--kind", "chil")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "plain" in result.err
