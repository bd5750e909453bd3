"""Plots are pure functions: results in, plotly Figure out."""
from __future__ import annotations

import plotly.graph_objects as go

from .results import SEVERITIES, AuditRun

SEVERITY_COLOURS = {"critical": "#c62828", "warning": "#f9a825", "info": "#1565c0"}


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
    return fig


def check_durations(run: AuditRun) -> go.Figure:
    """Horizontal bars: how long each check took, coloured by status."""
    checks = sorted(run.checks, key=lambda c: c.duration_ms)
    colours = {"ok": "#2e7d32", "error": "#c62828", "timeout": "#c62828", "skipped": "#9e9e9e"}
    fig = go.Figure(go.Bar(x=[c.duration_ms for c in checks], y=[c.id for c in checks], orientation="h",
                           marker_color=[colours[c.status] for c in checks],
                           text=[c.status for c in checks], textposition="auto"))
    fig.update_layout(title="Check run time (ms)", height=120 + 28 * len(checks),
                      margin=dict(l=200, r=20, t=50, b=40), template="plotly_white")
    return fig
