"""What notebook cells call: run the audit, show the verdict and tables. No logic in cells."""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import pandas as pd
from IPython.display import HTML

from . import history
from .catalog import load_checks
from .options import RunOptions
from .publish import folder_name
from .redact import redact
from .results import SEVERITIES, AuditRun


def audit(run: str = "", target: str = "", service: str = "", dsn: str = "", only: str = "",
          params: dict | None = None, timeout_ms: int = RunOptions.statement_timeout_ms, config: str = "",
          day: str = "", drill_down: str = "") -> AuditRun:
    """What a notebook shows: the saved run in folder `run` (what `pgvet report` passes; no connection),
    or, without one (JupyterLab), the same audit computed now by the same library call."""
    if run:
        saved = AuditRun.load(run)
        return saved.selected(only) if only else saved
    from . import audit as audit_run   # a page rendering a saved run needs no database driver
    from .connection import resolve_target

    tgt = resolve_target(dsn=dsn or None, service=service or None, name=target or None)
    audit_run.validate(only, params, config, [tgt.name])
    return audit_run.run(tgt, only=only, params=params, config=config,
                         options=RunOptions(statement_timeout_ms=int(timeout_ms), drill_down=drill_down),
                         day=date.fromisoformat(day) if day else None)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def _gap_items(audit: AuditRun) -> list[str]:
    items = [f"<li><b>{html.escape(c.title)}</b> ({html.escape(c.id)}): {html.escape(c.status)} — "
             f"{html.escape(redact(c.reason or ''))}</li>" for c in audit.gaps if c.status != "skipped"]
    items += [f"<li>{html.escape(name.replace('_', ' '))} (page data): {html.escape(p.status)} — "
              f"{html.escape(redact(p.reason or ''))}</li>" for name, p in audit.pages.items() if p.status != "ok"]
    return items


def verdict(audit: AuditRun) -> HTML:
    """One sentence a manager understands, coloured by the worst severity found, then what was not checked."""
    counts = audit.severity_counts()
    gaps = audit.gaps
    if audit.checks and all(c.status == "skipped" for c in audit.checks):
        reasons = sorted({c.reason or "" for c in audit.checks})
        return HTML(f'<div class="pgvet-verdict skipped"><b>{html.escape(audit.target)}</b>: nothing was checked '
                    f'here: {html.escape(redact("; ".join(reasons)))}.</div>')
    unsure = [c for c in gaps if c.status != "skipped" or c.severity == "critical"]
    scope = " in what could be checked" if unsure else ""
    if counts["critical"]:
        cls, text = "critical", f"{plural(counts['critical'], 'critical problem')} need attention"
    elif counts["warning"]:
        cls, text = "warning", f"No critical problems found{scope}; {plural(counts['warning'], 'warning')} to plan for"
    else:
        cls, text = "clean", f"No problems found{scope}"
    parts = [f"{counts[s]} {s}" for s in SEVERITIES]
    lost = (" <b>The run was incomplete: the connection to the server was lost, and the checks it interrupted "
            "say so below.</b>") if audit.incomplete else ""
    items = _gap_items(audit)
    gap_text = f'<p>{plural(len(items), "check")} did not check everything:</p><ul>{"".join(items)}</ul>' if items else ""
    skipped = [c for c in gaps if c.status == "skipped"]
    if skipped:
        gap_text += ('<p class="pgvet-skipped">Not run here: ' + "; ".join(
            f"{html.escape(c.id)} ({html.escape(redact(c.reason or ''))})" for c in skipped) + ".</p>")
    return HTML(f'<div class="pgvet-verdict {cls}"><b>{html.escape(audit.target)}</b>: {text}. '
                f'({", ".join(parts)} across {plural(len(audit.checks), "check")}; PostgreSQL '
                f'{html.escape(audit.server_version)}, {html.escape(audit.generated_at)}){lost}{gap_text}</div>')


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


def _frame(audit: AuditRun, name: str, columns: list[str], numbers: tuple[str, ...] = ()) -> pd.DataFrame:
    """Page data `name` as a frame; empty (with typed columns) when the run could not capture it."""
    data = audit.page(name).data
    frame = pd.DataFrame(data if isinstance(data, list) else [], columns=columns)
    return frame.astype({c: "float64" for c in numbers}) if frame.empty else frame


@dataclass
class Relationships:
    """The relationship map of a run: `frame` for tables and plots."""

    frame: pd.DataFrame

    def _repr_html_(self) -> str:
        return _table(self.frame, "enforced", "enforced").data


def relationships(audit: AuditRun) -> Relationships:
    """Every declared and inferred reference of the run, with evidence, confidence and the problems found."""
    from .references import explore

    data = audit.page("relationships").data
    return Relationships(explore.relationships_frame(data if isinstance(data, list) else [], audit))


def orphan_sample(audit: AuditRun) -> HTML:
    """A few orphaned rows of the drill-down reference (default: the one with the most orphans); keys only."""
    page = audit.page("orphans")
    if page.status != "ok":
        return HTML(f"<p><i>Orphaned rows could not be shown: {html.escape(redact(page.reason or ''))}.</i></p>")
    data = page.data or {}
    if not data.get("reference"):
        return HTML("<p><i>No orphaned rows to show.</i></p>")
    rows = data.get("rows") or []
    if not rows:
        return HTML(f"<p><i>No orphaned rows of <code>{html.escape(data['reference'])}</code> to show"
                    f"{': ' + html.escape(data['reason']) if data.get('reason') else ''}.</i></p>")
    caption = f"<p>First {len(rows)} orphaned rows of <code>{html.escape(data['reference'])}</code> (keys only):</p>"
    return HTML(caption + _table(pd.DataFrame(rows).astype(str), "", "").data)


def table_activity(audit: AuditRun) -> pd.DataFrame:
    """Every table's sequential and index scans, read before pgvet scanned any table."""
    numbers = ("seq_scan", "seq_tup_read", "idx_scan", "table_bytes", "table_rows")
    return _frame(audit, "activity", ["table", *numbers], numbers)


def hot_tables(audit: AuditRun) -> list[str]:
    """`schema.table` of the sequential-scan hot spots the audit found."""
    return [f"{f.schema}.{f.table}" for f in audit.findings if f.check == "seq_scan_hotspots"]


def findings_of(audit: AuditRun, checks: str) -> HTML:
    """The findings table for some checks only (comma-separated ids); an empty one says what was not checked."""
    part = audit.selected(checks)
    if not part.findings and part.gaps:
        return HTML("<p><i>Nothing found, but not everything was checked: " + "; ".join(
            f"{html.escape(c.id)} {html.escape(c.status)} ({html.escape(redact(c.reason or ''))})" for c in part.gaps)
            + ".</i></p>")
    return findings_table(part)


def headroom(audit: AuditRun) -> pd.DataFrame:
    """Transaction-ID age and sequence use as % of their limits: every counter, not only the alarming ones."""
    return _frame(audit, "headroom", ["what", "used_pct"], ("used_pct",))


def widest_columns(audit: AuditRun) -> pd.DataFrame:
    """The widest variable-width columns."""
    return _frame(audit, "widest_columns", ["column", "avg_width", "toast_bytes"], ("avg_width", "toast_bytes"))


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


def page_links(audit: AuditRun) -> HTML:
    """Links to the area pages this run has (a partial run has only some), and to fixes.sql."""
    areas = sorted({c.area for c in audit.checks})
    links = " · ".join(f'<a href="{html.escape(a)}.html">{html.escape(a)}</a>' for a in areas)
    return HTML(f"<p>Pages of this report: {links} · <a href=\"fixes.sql\">fixes.sql</a> (suggested statements, "
                f"never run by pgvet).</p>")


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
    if not reports_root:
        return HTML("<p><i>Not compared: no reports folder given.</i></p>")
    diff = history.changes(audit, reports_root, folder_name(audit.target, audit.selection),
                           day or date.today().isoformat())
    if diff.previous_day is None:
        only = f" with only {html.escape(audit.selection)}" if audit.selection else ""
        return HTML(f"<p>First report of this target{only}: nothing to compare with yet.</p>")

    def listing(title, findings):
        if not findings:
            return f"<p><b>{title}</b>: none.</p>"
        rows = "".join(f"<li>{html.escape(f.severity)} · {html.escape(f.key.split(':', 1)[1])} · "
                       f"{html.escape(redact(f.detail))}</li>" for f in findings)
        return f"<p><b>{title}</b> ({len(findings)}):</p><ul>{rows}</ul>"
    head = (f"<p>Since the report of {html.escape(diff.previous_day)}: {len(diff.new)} new, "
            f"{len(diff.resolved)} resolved, {len(diff.worse)} worse.</p>")
    if diff.not_compared:
        head += ("<p>Not compared, because the check did not check everything in one of the two reports: "
                 + ", ".join(f"<code>{html.escape(c)}</code>" for c in diff.not_compared) + ".</p>")
    return HTML(head + listing("New", diff.new) + listing("Resolved", diff.resolved)
                + listing("Worse", [now for now, _ in diff.worse]))


def trend(audit: AuditRun, reports_root: str = "", day: str = "") -> pd.DataFrame:
    """The key numbers of every dated report of this target, oldest first (this one last)."""
    records = (history.trend(audit, reports_root, folder_name(audit.target, audit.selection), day or date.today().isoformat())
               if reports_root else [history.history_record(audit, day or date.today().isoformat())])
    return pd.DataFrame(records)
