"""The summary a sync prints on stdout: per resource, per company, failures, one total line.

Tables go through rich. On a terminal rich fits them to its width; into a pipe or a file
they get a generous fixed width instead of rich's default 80, so no cell is cut short in
a log file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table

from ..client._connection import ConnectionStatistics
from ..engine._registry import group_of
from ..engine._report import ResourceReport, SyncReport
from ._progress import budget_text

__all__ = ["console_for", "print_summary", "simple_table"]

#: Companies listed one by one in the summary; beyond this the JSON report has them.
MAX_COMPANY_ROWS = 50
#: Characters of an error message in the failures table.
MAX_ERROR = 300
_PIPE_WIDTH = 200


def console_for(out: TextIO) -> Console:
    """A rich console on ``out``: plain text and wide when ``out`` is not a terminal."""
    terminal = out.isatty()
    return Console(
        file=out,
        width=None if terminal else _PIPE_WIDTH,
        highlight=False,
        no_color=not terminal,
        soft_wrap=False,
    )


def simple_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> Table:
    """A table whose numeric columns are right-aligned, numbers with thousands separators
    (pass ids as strings: they are names, not quantities)."""
    rows = [list(row) for row in rows]
    table = Table(title=title, title_justify="left")
    for index, name in enumerate(columns):
        cells = [row[index] for row in rows if row[index] not in ("", None)]
        numeric = bool(cells) and all(_numeric(cell) for cell in cells)
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    return table


def _numeric(value: object) -> bool:
    """A number, or text that shows one (``≥ 1,000``, ``≈ 5,400``)."""
    if isinstance(value, str):
        return value.lstrip("≥≈ ").replace(",", "").isdigit()
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def print_summary(
    report: SyncReport, stats: ConnectionStatistics, console: Console, *, where: str | None = None
) -> None:
    """Everything a person wants to see after a sync, on ``console``; ``where`` names the
    sink."""
    console.print(_by_resource(report))
    if len(report.companies) > 1:
        console.print(_by_company(report))
    failed = [r for r in report if r.status == "failed"]
    if failed:
        console.print(_failures(failed))
    for line in not_enabled_lines(report):
        console.print(line)
    console.print(_total_line(report, stats))
    deferred = report.total().deferred
    if deferred:
        console.print(
            f"{deferred:,} windows left for the next run (--max-requests or --deadline was"
            " reached); what was fetched is committed"
        )
    if where is not None:
        console.print(f"stored in {where}")


def _by_resource(report: SyncReport) -> Table:
    groups: dict[str, list[ResourceReport]] = defaultdict(list)
    for r in report:
        groups[r.resource].append(r)
    columns = ["resource", "companies", "records", "pages", "windows", "unchanged (304)"]
    columns += ["splits", "requests", "429s", "retries", "failed"]
    rows = [
        [name, len(rs), *_sums(rs, "records", "pages", "windows", "unchanged", "splits"),
         *_sums(rs, "requests", "rate_limited", "retries"), sum(r.status == "failed" for r in rs)]
        for name, rs in groups.items()
    ]  # fmt: skip
    total = report.total()
    rows.append(
        ["total", len(report.companies), total.records, total.pages, total.windows,
         total.unchanged, total.splits, total.requests, total.rate_limited, total.retries,
         len([r for r in report if r.status == "failed"])]
    )  # fmt: skip
    return simple_table("by resource", columns, rows)


def _by_company(report: SyncReport) -> Table:
    groups: dict[int, list[ResourceReport]] = defaultdict(list)
    for r in report:
        groups[r.company_id].append(r)
    columns = ["company", "records", "requests", "unchanged (304)", "failed", "status"]
    rows: list[list[object]] = []
    for company, rs in list(groups.items())[:MAX_COMPANY_ROWS]:
        failed = sum(r.status == "failed" for r in rs)
        status = "failed" if failed else _company_status(rs)
        rows.append([str(company), *_sums(rs, "records", "requests", "unchanged"), failed, status])
    if len(groups) > MAX_COMPANY_ROWS:
        more = len(groups) - MAX_COMPANY_ROWS
        rows.append([f"+{more} more (see --report-json)", "", "", "", "", ""])
    return simple_table("by company", columns, rows)


def _company_status(reports: list[ResourceReport]) -> str:
    """``done``; ``deferred`` when a bound left some of it for the next run; ``-`` while
    it runs or after an interruption. Resources it has not enabled count as done."""
    if all(r.status in ("done", "not_enabled") for r in reports):
        return "done"
    if all(r.status in ("done", "deferred", "not_enabled") for r in reports):
        return "deferred"
    return "-"


def not_enabled_lines(report: SyncReport) -> list[str]:
    """One line per resource group some companies have not enabled (403): which
    resources, in how many companies, the first few ids. Not errors."""
    found: dict[str, tuple[set[str], list[int]]] = {}
    for r in report:
        if r.status == "not_enabled":
            group = group_of(r.resource) or r.resource
            resources, companies = found.setdefault(group, (set(), []))
            resources.add(r.resource)
            if r.company_id not in companies:
                companies.append(r.company_id)
    lines = []
    for group, (resources, companies) in found.items():
        ids = ", ".join(str(c) for c in companies[:5]) + (", ..." if len(companies) > 5 else "")
        noun = "company" if len(companies) == 1 else "companies"
        lines.append(
            f"not enabled (403, not an error): {group} ({', '.join(sorted(resources))}) "
            f"in {len(companies)} {noun} ({ids})"
        )
    return lines


def _failures(failed: list[ResourceReport]) -> Table:
    rows = []
    for r in failed:
        error = r.errors[0] if r.errors else "failed"
        more = f" (+{len(r.errors) - 1} more)" if len(r.errors) > 1 else ""
        rows.append([str(r.company_id), r.resource, error[:MAX_ERROR] + more])
    table = simple_table("failures", ["company", "resource", "first error"], rows)
    table.columns[-1].max_width = 120  # long messages wrap inside the cell
    return table


def _sums(reports: list[ResourceReport], *names: str) -> list[int]:
    return [sum(int(getattr(r, name)) for r in reports) for name in names]


def _total_line(report: SyncReport, stats: ConnectionStatistics) -> str:
    total = report.total()
    rate = total.records / report.seconds if report.seconds > 0 else 0.0
    failed = report.failed_companies
    companies = len(report.companies)
    noun = "company" if companies == 1 else "companies"
    partly = len({r.company_id for r in report if r.status == "deferred"})
    if failed:
        outcome = f"{len(failed)} of {companies} failed"
    elif partly:
        outcome = f"{companies - partly} of {companies} synced, {partly} in part"
    else:
        outcome = "all synced"
    return (
        f"{companies} {noun}, {outcome}: {total.records:,} records in "
        f"{report.seconds:.1f}s ({rate:,.0f}/s); {stats.requests:,} requests, "
        f"{total.unchanged:,} unchanged windows (304), {stats.rate_limited:,} rate-limited "
        f"(429), {stats.retries:,} retries; budget: {budget_text(stats.budget)}"
    )
