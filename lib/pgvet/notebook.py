"""What notebook cells call: run the audit, show the verdict and tables. No logic in cells."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, resolve_target
from .redact import redact
from .results import SEVERITIES, AuditRun
from .runner import run_audit


def run(target: str = "", service: str = "", dsn: str = "", only: str = "", params: dict | None = None,
        out_dir: str = "", timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> AuditRun:
    """Run the audit for a notebook; writes findings.json into `out_dir` when given."""
    tgt = resolve_target(dsn=dsn or None, service=service or None, name=target or None)
    audit = run_audit(tgt, only=only or None, params=params or {}, timeout_ms=timeout_ms)
    if out_dir:
        audit.write_json(Path(out_dir) / "findings.json")
    return audit


def verdict(audit: AuditRun) -> HTML:
    """One sentence a manager understands, coloured by the worst severity found."""
    counts = audit.severity_counts()
    failed = [c for c in audit.checks if c.status in ("error", "timeout")]
    if counts["critical"]:
        cls, text = "critical", f"{counts['critical']} critical problem(s) need attention"
    elif counts["warning"]:
        cls, text = "warning", f"No critical problems; {counts['warning']} warning(s) to plan for"
    else:
        cls, text = "clean", "No problems found by the checks that ran"
    parts = [f"{counts[s]} {s}" for s in SEVERITIES]
    extra = f"; {len(failed)} check(s) could not finish" if failed else ""
    return HTML(f'<div class="pgvet-verdict {cls}"><b>{html.escape(audit.target)}</b>: {text}. '
                f'({", ".join(parts)} across {len(audit.checks)} checks{extra}; PostgreSQL '
                f'{html.escape(audit.server_version)}, {html.escape(audit.generated_at)})</div>')


def checks_frame(audit: AuditRun) -> pd.DataFrame:
    return pd.DataFrame([{"check": c.id, "area": c.area, "title": c.title, "status": c.status,
                          "findings": len(c.findings), "ms": c.duration_ms, "reason": c.reason or ""}
                         for c in audit.checks])


def findings_frame(audit: AuditRun) -> pd.DataFrame:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = [{"severity": f.severity, "check": f.check, "object": f.key.split(":", 1)[1], "detail": f.detail,
             "metrics": ", ".join(f"{k}={v}" for k, v in f.metrics.items() if v not in (None, ""))}
            for f in sorted(audit.findings, key=lambda f: (rank.get(f.severity, 9), f.check, f.key))]
    return pd.DataFrame(rows, columns=["severity", "check", "object", "detail", "metrics"])


def _table(frame: pd.DataFrame, css_column: str, prefix: str) -> HTML:
    if frame.empty:
        return HTML("<p><i>None.</i></p>")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(
            f'<td class="{prefix}-{html.escape(str(v))}">{html.escape(redact(str(v)))}</td>' if c == css_column
            else f"<td>{html.escape(redact(str(v)))}</td>" for c, v in row.items())
        body.append(f"<tr>{cells}</tr>")
    return HTML(f'<table class="pgvet"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def checks_table(audit: AuditRun) -> HTML:
    """Every check with its status and, when it did not run cleanly, why."""
    return _table(checks_frame(audit), "status", "status")


def findings_table(audit: AuditRun) -> HTML:
    """Every finding, most severe first, with the numbers behind it."""
    return _table(findings_frame(audit), "severity", "sev")
