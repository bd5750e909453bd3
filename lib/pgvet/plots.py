"""Plots are pure functions: results in, plotly Figure out — or, when a chart would have fewer than two
points (one bar, one box, a trend of one report), a line that says why nothing is drawn. Findings are
picked by the metrics they carry and the check headers' harm metric, never by check id."""
from __future__ import annotations

import html

import plotly.graph_objects as go
from IPython.display import HTML

from . import ranking
from .results import SEVERITIES, AuditRun, Finding

SEVERITY_COLOURS = {"critical": "#c62828", "warning": "#f9a825", "info": "#1565c0"}


def nothing_to_draw(title: str, why: str) -> HTML:
    """In place of a chart that would show nothing: its title and why."""
    return HTML(f'<p class="pgvet-note">{html.escape(title)}: not drawn, {html.escape(why)}.</p>')


LABEL_FIELDS = ("x", "y", "text", "hovertext", "labels")


def _literal(fig: go.Figure) -> go.Figure:
    """Plotly reads a subset of HTML in labels (<a href>, <b> …): names from the database are shown as
    written, never as markup, so every text a trace shows is entity-escaped (Plotly decodes entities)."""
    for trace in fig.data:
        for name in LABEL_FIELDS:
            values = getattr(trace, name, None)
            if hasattr(values, "tolist"):   # a pandas column arrives as a numpy array
                values = values.tolist()
            if isinstance(values, str):
                setattr(trace, name, html.escape(values, quote=False))
            elif isinstance(values, (list, tuple)) and any(isinstance(v, str) for v in values):
                setattr(trace, name, [html.escape(v, quote=False) if isinstance(v, str) else v for v in values])
    return fig


def _drawn(fig: go.Figure, points: int, why: str):
    """`fig` when it has at least two points to compare (its labels literal), else a line saying why not."""
    return _literal(fig) if points >= 2 else nothing_to_draw(fig.layout.title.text or "chart", why if points == 0 else
                                                    "only one item to show; the table below has it")


def _with(run: AuditRun, *metrics: str) -> list[Finding]:
    """Findings that carry every one of `metrics`."""
    return [f for f in run.findings if all(f.metrics.get(m) is not None for m in metrics)]


def _harm_of(run: AuditRun, metric: str) -> list[Finding]:
    """Findings whose check sizes its harm with `metric` (per the check's header)."""
    return [f for f in run.findings if ranking.harm_spec(f).get("metric") == metric]


def _title(f: Finding) -> str:
    check = ranking.check_of(f)
    return check.title if check else f.check


def findings_by_area(run: AuditRun) -> go.Figure:
    """Stacked bars: findings per area, one colour per severity."""
    area_of = {c.id: c.area for c in run.checks}
    areas = sorted(set(area_of.values()))
    fig = go.Figure()
    for sev in SEVERITIES:
        counts = [sum(1 for f in run.findings if f.severity == sev and area_of[f.check] == a) for a in areas]
        fig.add_bar(name=sev, x=areas, y=counts, marker_color=SEVERITY_COLOURS[sev])
    fig.update_layout(barmode="stack", title="Findings by area and severity", yaxis_title="findings",
                      height=360, margin=dict(l=40, r=20, t=50, b=40), template="plotly_white")
    return _drawn(fig, len({area_of[f.check] for f in run.findings}), "no findings")


def check_durations(run: AuditRun) -> go.Figure:
    """Horizontal bars: how long each check took, coloured by status."""
    checks = sorted(run.checks, key=lambda c: c.duration_ms)
    colours = {"ok": "#2e7d32", "partial": "#f9a825", "error": "#c62828", "timeout": "#c62828", "skipped": "#9e9e9e"}
    fig = go.Figure(go.Bar(x=[c.duration_ms for c in checks], y=[c.id for c in checks], orientation="h",
                           marker_color=[colours[c.status] for c in checks],
                           text=[c.status for c in checks], textposition="auto"))
    fig.update_layout(title="Check run time (ms)", height=120 + 28 * len(checks),
                      margin=dict(l=200, r=20, t=50, b=40), template="plotly_white")
    return fig


def orphans_by_reference(run: AuditRun) -> go.Figure:
    """Horizontal bars: rows broken now in live data, per reference (orphans, values that can never join)."""
    live = [f for f in run.findings if ranking.tier_of(f) == "live"
            and (ranking.harm(f) or 0) > 0]
    bars = {}
    for f in live:   # one bar per reference and check: the same orphans are not drawn twice
        bars.setdefault((ranking.object_name(f), _title(f)), ranking.harm(f))
    fig = go.Figure()
    for title in dict.fromkeys(t for _, t in bars):
        mine = sorted(((o, v) for (o, t), v in bars.items() if t == title), key=lambda b: b[1])
        fig.add_bar(name=title, x=[v for _, v in mine], y=[o for o, _ in mine], orientation="h",
                    text=[f"{v:,}" for _, v in mine], textposition="auto")
    fig.update_layout(title="Rows that point nowhere, per reference", barmode="group",
                      height=160 + 30 * max(len(bars), 1), margin=dict(l=20, r=20, t=50, b=40),
                      template="plotly_white", xaxis_title="rows", legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(automargin=True)
    return _drawn(fig, len(bars), "no rows point nowhere")


GRAPH_MAX_TABLES = 150   # beyond this a circle of names is unreadable: draw the broken references only


def reference_graph(frame) -> go.Figure:
    """Tables as nodes on a circle, references as lines; broken ones in red, undeclared ones dashed.
    On a large schema only the tables of broken references are drawn (the table below has every one)."""
    import math

    edges = [(r["reference"].rsplit(".", 1)[0], r["refers to"].split("(")[0], bool(r["problems"]), r["declared"] == "yes",
              f"{r['reference']} -> {r['refers to']} {r['problems']}") for _, r in frame.iterrows()
             if not r["refers to"].startswith("polymorphic")]
    title, why = "References between tables (red: broken; dashed: not declared)", "no references"
    if len({t for a, b, *_ in edges for t in (a, b)}) > GRAPH_MAX_TABLES:
        why = "no reference is broken"
        edges = [e for e in edges if e[2]]
        title = f"Broken references between tables ({len(edges):,} of {len(frame):,} references; the table lists all)"
    tables = sorted({t for a, b, *_ in edges for t in (a, b)})
    pos = {t: (math.cos(2 * math.pi * i / max(len(tables), 1)), math.sin(2 * math.pi * i / max(len(tables), 1)))
           for i, t in enumerate(tables)}
    fig = go.Figure()
    for broken, declared, colour, width, dash in ((False, True, "#90a4ae", 1, "solid"), (False, False, "#90a4ae", 1, "dash"),
                                                  (True, True, SEVERITY_COLOURS["critical"], 3, "solid"),
                                                  (True, False, SEVERITY_COLOURS["critical"], 3, "dash")):
        mine = [e for e in edges if e[2] == broken and e[3] == declared]
        if mine:   # one trace per kind of line, segments separated by None: light at any size
            xs = [v for a, b, *_ in mine for v in (pos[a][0], pos[b][0], None)]
            ys = [v for a, b, *_ in mine for v in (pos[a][1], pos[b][1], None)]
            fig.add_scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                            line=dict(color=colour, width=width, dash=dash))
    broken_tables = {c for c, _, broken, *_ in edges if broken}
    fig.add_scatter(x=[pos[t][0] for t in tables], y=[pos[t][1] for t in tables], mode="markers+text",
                    text=tables, textposition="top center", hoverinfo="text", showlegend=False,
                    hovertext=["; ".join(e[4] for e in edges if t in e[:2])[:500] for t in tables],
                    marker=dict(size=12, color=[SEVERITY_COLOURS["critical"] if t in broken_tables else "#1565c0"
                                                for t in tables]))
    fig.update_layout(title=title, height=620, xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"),
                      margin=dict(l=20, r=20, t=50, b=20), template="plotly_white")
    return _drawn(fig, len(tables), why)


def seq_scan_scatter(activity, hot_tables=()) -> go.Figure:
    """Table size against rows read by sequential scans; hot spots (from the audit) in red."""
    hot = set(hot_tables)
    colours = [SEVERITY_COLOURS["critical"] if t in hot else "#90a4ae" for t in activity["table"]]
    fig = go.Figure(go.Scatter(
        x=activity["table_bytes"] / 1024 ** 2, y=activity["seq_tup_read"], mode="markers+text",
        text=[t if t in hot else "" for t in activity["table"]], textposition="top center",
        hovertext=[f"{t}: {s:,} seq scans, {r:,} rows read, {i:,} index scans" for t, s, r, i in
                   zip(activity["table"], activity["seq_scan"], activity["seq_tup_read"], activity["idx_scan"])],
        hoverinfo="text", marker=dict(size=10, color=colours)))
    fig.update_layout(title="Table size vs rows read by sequential scans (red: hot spots)", height=420,
                      xaxis_title="table size (MB)", yaxis_title="rows read sequentially",
                      margin=dict(l=60, r=20, t=50, b=50), template="plotly_white")
    distinct = len(set(zip(activity["table_bytes"], activity["seq_tup_read"])))   # 2,000 empty tables: one dot
    return _drawn(fig, distinct, "no table activity was captured")


def index_usage(activity, top: int = 15) -> go.Figure:
    """Sequential vs index scans for the tables read the most."""
    busiest = activity.assign(total=activity["seq_scan"] + activity["idx_scan"]).nlargest(top, "total")[::-1]
    fig = go.Figure()
    fig.add_bar(name="sequential scans", y=busiest["table"], x=busiest["seq_scan"], orientation="h",
                marker_color=SEVERITY_COLOURS["warning"])
    fig.add_bar(name="index scans", y=busiest["table"], x=busiest["idx_scan"], orientation="h",
                marker_color="#2e7d32")
    fig.update_layout(barmode="stack", title="How the busiest tables are read", height=140 + 26 * len(busiest),
                      margin=dict(l=20, r=20, t=50, b=40), template="plotly_white", xaxis_title="scans")
    fig.update_yaxes(automargin=True)
    return _drawn(fig, int((busiest["seq_scan"] + busiest["idx_scan"] > 0).sum()), "no table has been read yet")


def index_waste(run: AuditRun) -> go.Figure:
    """Disk taken by indexes that serve no query (every finding sized by index bytes), per check."""
    found = _harm_of(run, "index_bytes")
    fig = go.Figure()
    for title in dict.fromkeys(_title(f) for f in found):
        mine = sorted((f for f in found if _title(f) == title), key=lambda f: f.metrics.get("index_bytes") or 0)
        fig.add_bar(name=title, y=[f"{f.table}.{f.object}" for f in mine],
                    x=[(f.metrics.get("index_bytes") or 0) / 1024 ** 2 for f in mine], orientation="h")
    fig.update_layout(title="Indexes that cost writes and disk without serving reads (MB)",
                      height=160 + 28 * max(len(found), 1), margin=dict(l=20, r=20, t=50, b=40),
                      template="plotly_white", xaxis_title="MB", legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(automargin=True)
    return _drawn(fig, len(found), "no index costs without serving")


def waste_treemap(run: AuditRun) -> go.Figure:
    """Wasted bytes by relation (estimates), one box per table or index, grouped by check."""
    found = [f for f in _harm_of(run, "wasted_bytes") if f.metrics.get("wasted_bytes")]
    groups = list(dict.fromkeys(_title(f) for f in found))
    ids, labels, parents, values = list(groups), list(groups), [""] * len(groups), [0] * len(groups)
    for f in found:
        name = f"{f.schema}.{f.table}" + (f" / {f.object}" if f.object else "")
        ids.append(f.key)
        labels.append(f"{name} · {f.metrics['wasted_bytes'] / 1024 ** 2:.1f} MB")
        parents.append(_title(f))
        values.append(f.metrics["wasted_bytes"])
    fig = go.Figure(go.Treemap(ids=ids, labels=labels, parents=parents, values=values, branchvalues="remainder"))
    fig.update_layout(title="Where space is wasted (estimate)", height=420, margin=dict(l=10, r=10, t=50, b=10))
    return _drawn(fig, len(found), "no wasted space found")


def estimate_vs_exact(run: AuditRun) -> go.Figure:
    """Estimated and measured bloat, side by side, where pgstattuple measured it."""
    rows = [(f"{f.table}" + (f".{f.object}" if f.object else ""), f.metrics["bloat_pct"], f.metrics["exact_bloat_pct"])
            for f in _with(run, "bloat_pct", "exact_bloat_pct")]
    fig = go.Figure()
    fig.add_bar(name="estimate", x=[r[0] for r in rows], y=[r[1] for r in rows], marker_color="#ffb74d")
    fig.add_bar(name="measured (pgstattuple)", x=[r[0] for r in rows], y=[r[2] for r in rows], marker_color="#ef6c00")
    fig.update_layout(barmode="group", title="Bloat: estimate vs measurement (%)", height=340, yaxis_title="% wasted",
                      margin=dict(l=50, r=20, t=50, b=60), template="plotly_white")
    return _drawn(fig, 2 * len(rows), "nothing was measured (run with --param exact_bloat=true)")


def dead_rows(run: AuditRun) -> go.Figure:
    """Dead-row share per table, with when it was last vacuumed."""
    rows = sorted(((f.table, f.metrics["dead_pct"], f.metrics.get("last_any_vacuum") or "never")
                   for f in _with(run, "dead_pct")), key=lambda r: r[1])
    fig = go.Figure(go.Bar(x=[r[1] for r in rows], y=[r[0] for r in rows], orientation="h",
                           text=[f"{r[1]}% · last vacuum: {r[2]}" for r in rows], textposition="auto",
                           marker_color=SEVERITY_COLOURS["warning"]))
    fig.update_layout(title="Dead rows waiting for VACUUM (% of rows)", height=140 + 30 * max(len(rows), 1),
                      margin=dict(l=20, r=20, t=50, b=40), template="plotly_white", xaxis=dict(range=[0, 100]))
    fig.update_yaxes(automargin=True)
    return _drawn(fig, len(rows), "no table carries many dead rows")


def headroom(frame) -> go.Figure:
    """How much of the way to a hard limit each counter has gone: transaction IDs and sequences."""
    frame = frame.sort_values("used_pct")
    colours = [SEVERITY_COLOURS["critical"] if p >= 90 else SEVERITY_COLOURS["warning"] if p >= 75 else "#2e7d32"
               for p in frame["used_pct"]]
    fig = go.Figure(go.Bar(x=frame["used_pct"], y=frame["what"], orientation="h", marker_color=colours,
                           text=[f"{p}%" for p in frame["used_pct"]], textposition="auto"))
    for x, colour in ((75, SEVERITY_COLOURS["warning"]), (90, SEVERITY_COLOURS["critical"])):
        fig.add_vline(x=x, line_dash="dot", line_color=colour)
    fig.update_layout(title="Headroom: share of the limit used (transaction IDs, sequences)",
                      height=140 + 28 * max(len(frame), 1), xaxis=dict(range=[0, 100], title="% of the limit"),
                      margin=dict(l=20, r=20, t=50, b=40), template="plotly_white")
    fig.update_yaxes(automargin=True)
    return _drawn(fig, len(frame), "no counter with a limit was captured")


def migration_findings(run: AuditRun) -> go.Figure:
    """Lint findings per migration file, stacked by severity, in apply order."""
    lint = _with(run, "file", "line")
    files = list(dict.fromkeys(f.table for f in lint))
    fig = go.Figure()
    for sev in SEVERITIES:
        fig.add_bar(name=sev, x=files, y=[sum(1 for f in lint if f.table == name and f.severity == sev)
                                          for name in files], marker_color=SEVERITY_COLOURS[sev])
    fig.update_layout(barmode="stack", title="Risky statements per migration file (apply order)", height=340,
                      margin=dict(l=40, r=20, t=50, b=80), template="plotly_white", yaxis_title="statements")
    return _drawn(fig, len(files), "no risky statement in the migration files")


def migration_timeline(run: AuditRun) -> go.Figure:
    """Each risky statement at its file (x, apply order) and line (y), coloured by severity."""
    lint = _with(run, "file", "line")
    fig = go.Figure()
    for sev in SEVERITIES:
        mine = [f for f in lint if f.severity == sev]
        fig.add_scatter(name=sev, x=[f.table for f in mine], y=[f.metrics["line"] for f in mine], mode="markers",
                        marker=dict(size=14, color=SEVERITY_COLOURS[sev], symbol="diamond"),
                        hovertext=[f"{f.metrics['rule']}: {f.detail}" for f in mine], hoverinfo="text")
    fig.update_layout(title="Timeline: where in the migrations the risky statements are", height=380,
                      xaxis=dict(categoryorder="array", categoryarray=list(dict.fromkeys(f.table for f in lint))),
                      yaxis=dict(autorange="reversed", title="line"), margin=dict(l=50, r=20, t=50, b=80),
                      template="plotly_white")
    return _drawn(fig, len(lint), "no risky statement in the migration files")


def widest_columns(frame) -> go.Figure:
    """The widest variable-width columns: average bytes per row, TOAST size in the hover."""
    frame = frame.sort_values("avg_width")
    fig = go.Figure(go.Bar(x=frame["avg_width"], y=frame["column"], orientation="h", marker_color="#6a1b9a",
                           hovertext=[f"{c}: {w} bytes per row, table TOAST {t / 1024 ** 2:.1f} MB"
                                      for c, w, t in zip(frame["column"], frame["avg_width"], frame["toast_bytes"])],
                           hoverinfo="text"))
    fig.update_layout(title="Widest columns (average bytes per row)", height=140 + 26 * max(len(frame), 1),
                      margin=dict(l=20, r=20, t=50, b=40), template="plotly_white", xaxis_title="bytes per row")
    fig.update_yaxes(automargin=True)
    return _drawn(fig, len(frame), "no variable-width column has statistics")


def partition_candidates(run: AuditRun) -> go.Figure:
    """Tables that could be partitioned, by size."""
    rows = sorted(((f"{f.schema}.{f.table} by {f.metrics['time_column']}", f.metrics["table_bytes"])
                   for f in _with(run, "time_column", "table_bytes")), key=lambda r: r[1])
    fig = go.Figure(go.Bar(x=[r[1] / 1024 ** 3 for r in rows], y=[r[0] for r in rows], orientation="h",
                           marker_color="#0277bd", text=[f"{r[1] / 1024 ** 3:.2f} GB" for r in rows],
                           textposition="auto"))
    fig.update_layout(title="Partitioning candidates by size (GB)", height=140 + 30 * max(len(rows), 1),
                      margin=dict(l=20, r=20, t=50, b=40), template="plotly_white")
    fig.update_yaxes(automargin=True)
    return _drawn(fig, len(rows), "no table to partition")


def trends(frame) -> go.Figure:
    """Across the dated reports of one target: findings by severity, then one chart per unit of harm
    (rows, bytes …), a line per live or risk check with any harm. Drawn from two reports on."""
    from plotly.subplots import make_subplots

    if len(frame) < 2:
        return nothing_to_draw("Trend", "this is the first report of this target; the trend starts with the second")
    harm = [h if isinstance(h, dict) else {} for h in frame.get("harm", [{}] * len(frame))]
    lines: dict[str, dict[str, list]] = {}     # tier and unit -> check title -> values per report
    for i, totals in enumerate(harm):
        for check_id, value in totals.items():
            check = ranking.check_of(check_id)
            if check is None or check.harm.get("cumulative") or check.tier == "latent" or not value:
                continue   # counters since a statistics reset only grow; latent findings have no live harm
            # rows broken in live data and rows at risk are different things: one chart each
            unit = f"{'live data' if check.tier == 'live' else 'at risk'}: {check.harm.get('unit', '')}"
            lines.setdefault(unit, {}).setdefault(check.title, [None] * len(frame))[i] = value
    units = sorted(lines, key=lambda u: (not u.startswith("live"), u))
    fig = make_subplots(rows=1 + len(units), cols=1, subplot_titles=["findings by severity"] + units,
                        vertical_spacing=0.12 if units else 0.2)
    for sev in SEVERITIES:
        fig.add_scatter(x=frame["day"], y=frame[sev], name=sev, mode="lines+markers",
                        line=dict(color=SEVERITY_COLOURS[sev]), row=1, col=1, legendgroup="severity")
    for row, unit in enumerate(units, start=2):
        for title, values in lines[unit].items():
            fig.add_scatter(x=frame["day"], y=[v or 0 for v in values], name=title, mode="lines+markers", row=row, col=1)
        fig.update_yaxes(title_text=unit, row=row, col=1)
    fig.update_xaxes(type="category")   # one point per dated report, not a time scale
    fig.update_layout(title=f"Trend over {len(frame)} reports", height=300 + 260 * len(units), template="plotly_white",
                      margin=dict(l=60, r=20, t=70, b=40))
    return fig
