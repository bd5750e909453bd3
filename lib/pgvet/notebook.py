"""What notebook cells call: run the audit, show the verdict and tables. No logic in cells."""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, Target, resolve_target
from . import activity, history
from .catalog import load_checks
from .config import load_config
from .references import explore
from .redact import redact
from .results import SEVERITIES, AuditRun
from .runner import run_audit


def run(target: str = "", service: str = "", dsn: str = "", only: str = "", params: dict | None = None,
        out_dir: str = "", timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS, findings: str = "", config: str = "",
        day: str = "") -> AuditRun:
    """Run the audit for a notebook (or read it from a findings.json written by an earlier run);
    applies pgvet.yml (`config`: thresholds, then suppressions as of `day`, default today);
    writes findings.json into `out_dir` when given."""
    if findings:
        audit = AuditRun.read_json(findings)
        return audit.selected(only) if only else audit
    tgt = resolve_target(dsn=dsn or None, service=service or None, name=target or None)
    settings = load_config(config, tgt.name)
    audit = run_audit(tgt, only=only or None, params={**settings.params, **(params or {})}, timeout_ms=timeout_ms)
    audit.apply_suppressions(settings.suppressions, date.fromisoformat(day) if day else date.today())
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


# Text metrics short enough to read in a table; the rest (types, evidence) is in detail or findings.json.
SHOWN_TEXT_METRICS = ("confidence", "method", "reason")


def _numbers(metrics: dict) -> str:
    shown = {k: v for k, v in metrics.items()
             if (isinstance(v, (int, float)) and not isinstance(v, bool)) or k in SHOWN_TEXT_METRICS}
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in shown.items() if v not in (None, ""))


def findings_frame(audit: AuditRun) -> pd.DataFrame:
    """One row per finding, most severe first; `metrics` keeps the numbers (all metrics are in findings.json)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = [{"severity": f.severity, "check": f.check, "object": f.key.split(":", 1)[1], "detail": f.detail,
             "metrics": _numbers(f.metrics)}
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


@dataclass
class Relationships:
    """The relationship map of a target: `frame` for tables and plots, `refs` for drill-downs."""

    target: Target
    refs: list
    frame: pd.DataFrame

    def _repr_html_(self) -> str:
        return _table(self.frame, "enforced", "enforced").data


def relationships(audit: AuditRun | None = None, target: str = "", service: str = "", dsn: str = "",
                  params: dict | None = None) -> Relationships:
    """Every declared and inferred reference, with evidence, confidence and the problems `audit` found."""
    tgt = resolve_target(dsn=dsn or None, service=service or None, name=target or None)
    hints = next((v for k, v in (params or {}).items() if k.rpartition(".")[2] == "hints_file"), "")
    refs = explore.relationships(tgt, hints)
    return Relationships(tgt, refs, explore.relationships_frame(refs, audit))


def orphan_sample(rels: Relationships, audit: AuditRun, reference: str = "", limit: int = 5) -> HTML:
    """A few orphaned rows of `reference` (default: the one with the most orphans); keys only."""
    if not reference:
        worst = max((f for f in audit.findings if f.check == "orphaned_rows"),
                    key=lambda f: f.metrics.get("orphans") or 0, default=None)
        if worst is None:
            return HTML("<p><i>No orphaned rows to show.</i></p>")
        reference = worst.key.split(":", 1)[1]
    frame = explore.orphan_sample(rels.target, rels.refs, reference, limit)
    caption = f"<p>First {len(frame)} orphaned rows of <code>{html.escape(reference)}</code> (keys only):</p>"
    return HTML(caption + _table(frame.astype(str), "", "").data)


def table_activity(target: str = "", service: str = "", dsn: str = "") -> pd.DataFrame:
    """Every table's sequential and index scans, live from the target."""
    return activity.table_activity(resolve_target(dsn=dsn or None, service=service or None, name=target or None))


def hot_tables(audit: AuditRun) -> list[str]:
    """`schema.table` of the sequential-scan hot spots the audit found."""
    return [f"{f.schema}.{f.table}" for f in audit.findings if f.check == "seq_scan_hotspots"]


def findings_of(audit: AuditRun, checks: str) -> HTML:
    """The findings table for some checks only (comma-separated ids)."""
    return findings_table(audit.selected(checks))


def headroom(target: str = "", service: str = "", dsn: str = "", top: int = 12) -> pd.DataFrame:
    """Transaction-ID age and sequence use as % of their limits, live: the wraparound and sequence
    checks run with their thresholds at 0, so every counter shows, not only the alarming ones."""
    tgt = resolve_target(dsn=dsn or None, service=service or None, name=target or None)
    run_ = run_audit(tgt, only="xid_wraparound,sequence_overflow",
                     params={"xid_wraparound.warn_age": 0, "sequence_overflow.warn_pct": 0})
    rows = [{"what": f"transaction IDs: {f.object or f.schema + '.' + f.table}", "used_pct": f.metrics["pct_of_limit"]}
            for f in run_.findings if f.check == "xid_wraparound"][:top // 2]
    rows += [{"what": f"sequence {f.schema}.{f.object} -> {f.table}.{f.column or ''}".rstrip("."),
              "used_pct": f.metrics["used_pct"]} for f in run_.findings if f.check == "sequence_overflow"][:top // 2]
    return pd.DataFrame(rows, columns=["what", "used_pct"])


def widest_columns(target: str = "", service: str = "", dsn: str = "", top: int = 15) -> pd.DataFrame:
    """The widest variable-width columns, live: toast_heavy_columns with its thresholds at 0."""
    tgt = resolve_target(dsn=dsn or None, service=service or None, name=target or None)
    run_ = run_audit(tgt, only="toast_heavy_columns",
                     params={"toast_heavy_columns.min_avg_width": 0, "toast_heavy_columns.min_toast_bytes": 0})
    rows = [{"column": f"{f.schema}.{f.table}.{f.column}", "avg_width": f.metrics.get("avg_width") or 0,
             "toast_bytes": f.metrics.get("toast_bytes") or 0} for f in run_.findings]
    return pd.DataFrame(rows, columns=["column", "avg_width", "toast_bytes"]).nlargest(top, "avg_width")


def suppressed_table(audit: AuditRun) -> HTML:
    """Suppressed findings, each with its reason and expiry; and suppressions that have expired."""
    rows = [{"check": s["finding"]["check"], "object": s["finding"]["key"].split(":", 1)[1],
             "detail": s["finding"]["detail"], "reason": s["reason"], "until": s["until"] or ""}
            for s in audit.suppressed]
    expired = "".join(f"<li>expired {html.escape(e['until'])}: <code>{html.escape(e['key'])}</code> "
                      f"({html.escape(e['reason'])}) — its findings count again</li>" for e in audit.expired_suppressions)
    table = _table(pd.DataFrame(rows, columns=["check", "object", "detail", "reason", "until"]), "", "").data
    return HTML(table + (f"<ul>{expired}</ul>" if expired else ""))


class _Blank(dict):
    def __missing__(self, key):
        raise KeyError(key)


def plain_sentence(finding, sentence: str | None) -> str:
    """The check's sentence template filled with the finding's names and numbers; its detail otherwise."""
    values = {k: (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v)
              for k, v in finding.metrics.items() if v is not None}
    values.update({k: getattr(finding, k) for k in ("schema", "table", "column", "object", "detail")
                   if getattr(finding, k)})
    try:
        return sentence.format_map(_Blank(values)) if sentence else finding.detail
    except (KeyError, ValueError, IndexError):
        return finding.detail


def top_findings(audit: AuditRun, limit: int = 10) -> HTML:
    """The most severe findings in plain words, each linked to its area page and its fix."""
    checks = {c.id: c for c in load_checks()}
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    ordered = sorted(audit.findings, key=lambda f: (rank[f.severity], -(history.magnitude(f) or 0), f.key))[:limit]
    if not ordered:
        return HTML("<p><i>Nothing to report.</i></p>")
    items = []
    for f in ordered:
        check = checks.get(f.check)
        area = check.area if check else ""
        fix = ' · <a href="fixes.sql">fix in fixes.sql</a>' if f.fix else ""
        sentence = html.escape(redact(plain_sentence(f, check.sentence if check else None)))
        items.append(f'<li><span class="sev-{f.severity}">{f.severity}</span>: {sentence}'
                     f' <small>(<a href="{html.escape(area)}.html">{html.escape(area)} page</a>{fix})</small></li>')
    return HTML(f'<ol class="pgvet-top">{"".join(items)}</ol>')


def changes(audit: AuditRun, reports_root: str = "", day: str = "") -> HTML:
    """What is new, resolved or worse since the previous report of this target."""
    from .report import safe_name

    if not reports_root:
        return HTML("<p><i>Not compared: no reports folder given.</i></p>")
    diff = history.changes(audit, reports_root, safe_name(audit.target), day or date.today().isoformat())
    if diff.previous_day is None:
        return HTML("<p>First report of this target: nothing to compare with yet.</p>")

    def listing(title, findings):
        if not findings:
            return f"<p><b>{title}</b>: none.</p>"
        rows = "".join(f"<li>{html.escape(f.severity)} · {html.escape(f.key.split(':', 1)[1])} · "
                       f"{html.escape(redact(f.detail))}</li>" for f in findings)
        return f"<p><b>{title}</b> ({len(findings)}):</p><ul>{rows}</ul>"
    head = (f"<p>Since the report of {html.escape(diff.previous_day)}: {len(diff.new)} new, "
            f"{len(diff.resolved)} resolved, {len(diff.worse)} worse.</p>")
    return HTML(head + listing("New", diff.new) + listing("Resolved", diff.resolved)
                + listing("Worse", [now for now, _ in diff.worse]))


def trend(audit: AuditRun, reports_root: str = "", day: str = "") -> pd.DataFrame:
    """The key numbers of every dated report of this target, oldest first (this one last)."""
    from .report import safe_name

    records = (history.trend(audit, reports_root, safe_name(audit.target), day or date.today().isoformat())
               if reports_root else [history.history_record(audit, day or date.today().isoformat())])
    return pd.DataFrame(records)
