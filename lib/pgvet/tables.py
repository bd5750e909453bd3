"""Findings tables a DBA can work with: every row is in the HTML (readable without JavaScript, in print
and in a mail preview), and the report's one script (templates/pgvet-report/report.js) makes each table
sortable by any column, searchable by a typed word, filterable by its `filters` columns, and paged.
A row with an `id` is an anchor: `#<finding key>` shows its page of the table and scrolls to it.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from .redact import redact
from .wording import metric_text

PAGE_ROWS = 25


@dataclass
class Column:
    name: str
    numeric: bool = False
    css: str = ""              # cells get class `<css>-<value>` (severity and status colours)
    raw: bool = False          # the cell value is HTML built by pgvet (links, <details>); not escaped


@dataclass
class Table:
    """Rows of cells; each cell is (shown text, sort value). `ids` anchor the rows."""

    columns: list[Column]
    rows: list[list[tuple[str, object]]] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    filters: tuple[str, ...] = ()
    caption: str = ""

    def add(self, cells: list, row_id: str | None = None) -> None:
        self.rows.append([c if isinstance(c, tuple) else (c, c) for c in cells])
        self.ids.append(row_id)

    def html(self) -> str:
        if not self.rows:
            return "<p><i>None.</i></p>"
        head = "".join(f'<th data-type="{"number" if c.numeric else "text"}" title="sort">{html.escape(c.name)}</th>'
                       for c in self.columns)
        body = "".join(self._row(cells, row_id) for cells, row_id in zip(self.rows, self.ids))
        filters = "".join(self._filter(name) for name in self.filters)
        tools = (f'<div class="pgvet-tools"><input type="search" class="pgvet-search" placeholder="Search '
                 f'{len(self.rows):,} rows" aria-label="search">{filters}<span class="pgvet-count"></span></div>')
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<div class="pgvet-table" data-page-rows="{PAGE_ROWS}">{tools}<table class="pgvet">{caption}'
                f'<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table><div class="pgvet-pager"></div></div>')

    def _row(self, cells, row_id) -> str:
        tds = []
        for column, (text, value) in zip(self.columns, cells):
            if column.numeric and isinstance(text, (int, float)) and not isinstance(text, bool):
                text = metric_text(column.name, text)
            shown = str(text) if column.raw else html.escape(redact(str(text if text is not None else "")))
            css = f' class="{column.css}-{html.escape(str(value))}"' if column.css else ""
            sort = f' data-value="{html.escape(str(value))}"' if column.numeric and value not in (None, "") else ""
            tds.append(f"<td{css}{sort}>{shown}</td>")
        anchor = f' id="{html.escape(row_id)}"' if row_id else ""
        return f"<tr{anchor}>{''.join(tds)}</tr>"

    def _filter(self, name: str) -> str:
        index = [c.name for c in self.columns].index(name)
        values = sorted({str(cells[index][1]) for cells in self.rows})
        options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
        return (f'<select class="pgvet-filter" data-column="{index}" aria-label="{html.escape(name)}">'
                f'<option value="">every {html.escape(name)}</option>{options}</select>')

    def _repr_html_(self) -> str:
        return self.html()


def frame_table(frame, css: dict[str, str] | None = None, filters: tuple[str, ...] = ()) -> Table:
    """A pandas frame as a Table (numbers sort as numbers)."""
    import pandas as pd

    css = css or {}
    columns = [Column(str(c), numeric=pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]),
                      css=css.get(str(c), "")) for c in frame.columns]
    table = Table(columns, filters=filters)
    for row in frame.itertuples(index=False):
        table.add([("" if v is None or v != v else metric_text(str(c), v), v) for c, v in zip(frame.columns, row)])
    return table
