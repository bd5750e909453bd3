"""Charts say something or say why not, and show database names as written."""
import html

from IPython.display import HTML

from pgvet import plots
from pgvet.results import AuditRun, CheckResult, Finding

HOSTILE = '<a href="javascript:alert(1)">clk</a><b>B</b>'


def run_with(*findings: Finding) -> AuditRun:
    checks = {}
    for f in findings:
        checks.setdefault(f.check, CheckResult(f.check, f.check, "scans", "warning", "ok", None, 1, {}))
        checks[f.check].findings.append(f)
    return AuditRun("t", "2026-12-01T00:00:00+00:00", "18", "0", list(checks.values()))


def unused(table: str, index_bytes: int) -> Finding:
    return Finding.from_row("unused_indexes", "warning", {"schema": "public", "table": table, "object": f"{table}_idx",
                                                          "index_bytes": index_bytes})


def test_a_chart_of_one_bar_is_a_line_that_says_why_and_none_is_drawn_for_nothing():
    one = plots.index_waste(run_with(unused("a", 10)))
    none = plots.index_waste(run_with())
    assert isinstance(one, HTML) and "not drawn, only one item to show" in one.data
    assert isinstance(none, HTML) and "not drawn, no index costs without serving" in none.data
    assert not isinstance(plots.index_waste(run_with(unused("a", 10), unused("b", 20))), HTML)


def test_names_from_the_database_show_as_written_not_as_markup():
    fig = plots.index_waste(run_with(unused(HOSTILE, 10), unused("b", 20)))
    labels = [label for trace in fig.data for label in trace.y]
    assert html.escape(f"{HOSTILE}.{HOSTILE}_idx", quote=False) in labels
    assert not [label for label in labels if "<" in label]
