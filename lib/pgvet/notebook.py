"""What notebook cells call: run the audit, show the verdict and tables. No logic in cells."""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import pandas as pd
from IPython.display import HTML

from . import history, lab, ranking
from .fixes import fixes_sql
from .formats import headline
from .fixsafety import safe_fix
from .options import RunOptions
from .publish import folder_name
from .redact import redact
from .results import SEVERITIES, TIERS, AuditRun, CheckResult, Finding
from .tables import Column, Table, frame_table
from .wording import day as day_words, metric_text, plural, size


# ad-hoc calls for the lab: read-only SQL, one table's picture, one reference's orphaned rows
query, table, orphans = lab.query, lab.table, lab.orphans


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
    cls, text = headline(audit)
    objects = ranking.by_object(audit)
    parts = [f"{counts[s]:,} {s}" for s in SEVERITIES]
    lost = (" <b>The run was incomplete: the connection to the server was lost, and the checks it interrupted "
            "say so below.</b>") if audit.incomplete else ""
    items = _gap_items(audit)
    gap_text = f'<p>{plural(len(items), "check")} did not check everything:</p><ul>{"".join(items)}</ul>' if items else ""
    skipped = [c for c in gaps if c.status == "skipped"]
    if skipped:
        gap_text += ('<p class="pgvet-skipped">Not run here: ' + "; ".join(
            f"{html.escape(c.id)} ({html.escape(redact(c.reason or ''))})" for c in skipped) + ".</p>")
    return HTML(f'<div class="pgvet-verdict {cls}"><b>{html.escape(audit.target)}</b>: {text}. '
                f'({", ".join(parts)} findings on {plural(len(objects), "object")}, from '
                f'{plural(len(audit.checks), "check")}; PostgreSQL {html.escape(audit.server_version)}, '
                f'{html.escape(day_words(audit.generated_at))}){lost}{gap_text}</div>')


def checks_frame(audit: AuditRun) -> pd.DataFrame:
    return pd.DataFrame([{"check": c.id, "area": c.area, "title": c.title, "status": c.status,
                          "findings": len(c.findings), "ms": c.duration_ms, "reason": c.reason or ""}
                         for c in audit.checks])


# Text metrics short enough to read in a table; the rest (types, evidence) is in detail or findings.json.
SHOWN_TEXT_METRICS = ("confidence", "method", "reason", "kind", "rule", "file")


def _metric_columns(findings: list[Finding]) -> list[str]:
    """The metrics of a check's findings that make table columns: numbers, and a few short words."""
    names: dict[str, None] = {}
    for f in findings:
        for k, v in f.metrics.items():
            if (isinstance(v, (int, float)) and not isinstance(v, bool)) or k in SHOWN_TEXT_METRICS:
                names[k] = None
    return list(names)


def _fix_block(f: Finding) -> str:
    """A finding's collapsible block: its fix statements, then (filled in when opened) its check's doc and SQL."""
    fix = safe_fix(f) if f.fix else ""
    statements = f"<pre>{html.escape(redact(fix))}</pre>" if fix else "<p>No statement to suggest.</p>"
    # the check's doc and SQL are in the page once (<template id="doc-<check>">); report.js puts them here
    return (f"<details><summary>{'fix' if fix else 'why'}</summary>{statements}"
            f'<div class="pgvet-doc-slot" data-check="{html.escape(f.check)}"></div></details>')


def check_findings_table(check: CheckResult) -> Table:
    """A check's findings with its metrics as columns, sortable and searchable; each row anchored by its key."""
    metrics = _metric_columns(check.findings)
    numeric = {m for m in metrics if all(isinstance(f.metrics.get(m), (int, float, type(None))) for f in check.findings)}
    table = Table([Column("object"), Column("severity", css="sev"), Column("finding")]
                  + [Column(m, numeric=m in numeric) for m in metrics] + [Column("fix", raw=True)],
                  filters=("severity",))
    for f in ranking.ranked(check.findings):
        values = [(metric_text(m, f.metrics.get(m)), f.metrics.get(m)) for m in metrics]
        table.add([ranking.object_name(f), f.severity, ranking.sentence(f), *values, (_fix_block(f), "")], f.key)
    return table


def checks_table(audit: AuditRun) -> Table:
    """Every check with its status and, when it did not run cleanly, why."""
    return frame_table(checks_frame(audit), css={"status": "status"}, filters=("status",))


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
        return frame_table(self.frame, css={"enforced": "enforced"}, filters=("declared", "enforced")).html()


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
    return HTML(caption + frame_table(pd.DataFrame(rows).astype(str)).html())


def table_activity(audit: AuditRun) -> pd.DataFrame:
    """Every table's sequential and index scans, read before pgvet scanned any table."""
    numbers = ("seq_scan", "seq_tup_read", "idx_scan", "table_bytes", "table_rows")
    return _frame(audit, "activity", ["table", *numbers], numbers)


def hot_tables(audit: AuditRun) -> list[str]:
    """`schema.table` of the sequential-scan hot spots the audit found."""
    return [f"{f.schema}.{f.table}" for f in audit.findings if ranking.harm_spec(f).get("metric") == "seq_tup_read"]


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
    table = frame_table(pd.DataFrame(rows, columns=["check", "object", "detail", "reason", "until"])).html()
    return HTML(table + (f"<ul>{expired}</ul>" if expired else ""))


def page_links(audit: AuditRun) -> HTML:
    """Links to the sections of this report (a partial run has only some) and to its suggested fixes."""
    areas = sorted({c.area for c in audit.checks})
    links = " · ".join(f'<a href="#{html.escape(a)}">{html.escape(a)}</a>' for a in areas)
    return HTML(f"<p>Sections of this report: {links} · <a href=\"#fixes\">suggested fixes</a> (also in "
                f"<code>fixes.sql</code> beside this page; pgvet never runs them).</p>")


def _harm_text(value, check_id: str) -> str:
    """An amount of harm in the check's unit: "1.8 MB", "12,000 rows"."""
    if value is None:
        return ""
    unit = ranking.harm_spec(check_id).get("unit", "")
    return size(value) if unit == "bytes" else f"{metric_text('', value)} {unit}".strip()


TOP_PER_CHECK = 3   # in "What matters most", beyond this many objects led by one check: one line for the rest


def top_findings(audit: AuditRun, limit: int = 10) -> HTML:
    """What matters most, one object a line: broken live data first, then risks, then latent problems;
    each a plain sentence, with the other findings on the same object, a link to it and its fix. When
    one check leads many objects, its first few are shown and one line counts the rest."""
    objects = ranking.by_object(audit)
    if not objects:
        return HTML("<p><i>Nothing to report.</i></p>")
    led: dict[str, list] = {}
    for o in objects:
        led.setdefault(o.first.check, []).append(o)
    items, counted = [], set()
    for o in objects:
        if len(items) >= limit:
            break
        check = o.first.check
        mine = led[check]
        if mine.index(o) < TOP_PER_CHECK or len(mine) == TOP_PER_CHECK + 1:   # "and 1 more" would hide one line
            items.append(_top_item(o))
        elif check not in counted:
            counted.add(check)
            meta = ranking.check_of(check)
            rest = len(mine) - TOP_PER_CHECK
            items.append(f'<li><span class="sev-{o.severity}">{o.severity}</span> · and {rest:,} more: '
                         f'<a href="#check-{html.escape(check)}">{html.escape(meta.title if meta else check)}</a></li>')
    return HTML(f'<ol class="pgvet-top">{"".join(items)}</ol>')


def _top_item(o: ranking.ObjectFindings) -> str:
    f = o.first
    also = o.labels[1:]
    also_text = f' <span class="also">· also: {html.escape(redact(" · ".join(also)))}</span>' if also else ""
    fix = o.fixes
    block = f"<details><summary>fix</summary><pre>{html.escape(redact(fix))}</pre></details>" if fix else ""
    return (f'<li><span class="sev-{f.severity}">{f.severity}</span> · {html.escape(redact(ranking.sentence(f)))}'
            f'{also_text} <small>(<a href="#{html.escape(f.key)}">{html.escape(o.name)}</a> · '
            f'{html.escape(TIERS[o.tier])})</small>{block}</li>')


def _checks_of(audit: AuditRun, area: str = "") -> list[CheckResult]:
    """The run's checks (of one area), ranked like their findings: tier, then severity, then catalog order."""
    return sorted((c for c in audit.checks if not area or c.area == area),
                  key=lambda c: (ranking.TIER_ORDER[ranking.tier_of(c.id)], ranking.SEVERITY_ORDER.get(c.severity, 9),
                                 c.area, c.id))


def check_summary(audit: AuditRun, area: str = "") -> Table:
    """One row per check: how many findings, the worst few, the total harm, whether it checked everything."""
    table = Table([Column("check", raw=True)] + ([] if area else [Column("area")])
                  + [Column("tier"), Column("findings", numeric=True), Column("total harm", numeric=True),
                     Column("worst", raw=True), Column("status", css="status")],
                  filters=("tier", "status") if not area else ())
    for c in _checks_of(audit, area):
        total = ranking.check_totals(c.findings).get(c.id)
        worst = ranking.ranked(c.findings)[:3]
        table.add([(f'<a href="#check-{html.escape(c.id)}">{html.escape(c.title)}</a>', c.title)]
                  + ([] if area else [c.area])
                  + [ranking.tier_of(c.id), len(c.findings), (_harm_text(total, c.id), total),
                   (", ".join(f'<a href="#{html.escape(f.key)}">{html.escape(ranking.object_name(f))}</a>'
                              for f in worst), ""), c.status])
    return table


def _doc_html(check_id: str, ran: str) -> str:
    import mistune

    meta = ranking.check_of(check_id)
    if meta is None:
        return ""
    text = "\n".join(line for line in meta.doc.splitlines() if not line.startswith("# "))  # the title is above
    doc = mistune.html(text).replace("<h2>", "<h5>").replace("</h2>", "</h5>")
    what = "The SQL pgvet ran" if meta.path.suffix == ".sql" else "What pgvet ran (Python: several queries)"
    return (f"{doc}<p><b>{what}</b> ({html.escape(meta.path.parent.name + '/' + meta.path.name)}, "
            f"{html.escape(ran)}):</p><pre>{html.escape(meta.sql)}</pre>")


def area_findings(audit: AuditRun, area: str) -> HTML:
    """Every finding of one area, by section then check: a line that sums the check up, its doc and SQL
    (collapsed), then its findings table with its own metrics as columns."""
    sections: dict[str, list[str]] = {}   # in the order of their first check
    for c in _checks_of(audit, area):
        meta = ranking.check_of(c.id)
        sections.setdefault(meta.section if meta else c.title, []).append(_check_block(c))
    return HTML("".join(f"<h3>{html.escape(section)}</h3>" + "".join(blocks) for section, blocks in sections.items()))


def _check_block(c: CheckResult) -> str:
    worst = ranking.ranked(c.findings)[:3]
    largest = "; ".join(f"{ranking.object_name(f)} {_harm_text(ranking.harm(f), c.id)}".strip() for f in worst)
    total = ranking.check_totals(c.findings).get(c.id)
    if c.findings:
        head = (f"{plural(len(c.findings), 'finding')}" + (f", {_harm_text(total, c.id)} in all" if total else "")
                + (f" (worst: {html.escape(redact(largest))})" if largest else ""))
    else:
        head = "nothing found" if c.status == "ok" else "nothing found, but not everything was checked"
    gap = (f'<p class="pgvet-note">{html.escape(c.status)}: {html.escape(redact(c.reason or ""))}'
           + (": " + html.escape(redact("; ".join(c.unchecked[:10]))) if c.unchecked else "") + "</p>"
           if c.status != "ok" else "")
    notes = "".join(f'<p class="pgvet-note">{html.escape(redact(n))}</p>' for n in c.notes)
    ran = ", ".join(f"{k}={v}" for k, v in c.params.items()) or "no parameters"
    doc = _doc_html(c.id, ran)
    return (f'<h4 id="check-{html.escape(c.id)}">{html.escape(c.title)} <small>· {head}</small></h4>{gap}{notes}'
            f'<details class="pgvet-doc"><summary>Why it matters, how to fix, false positives, and the SQL pgvet '
            f'ran</summary>{doc}</details><template id="doc-{html.escape(c.id)}">{doc}</template>'
            + (check_findings_table(c).html() if c.findings else ""))


def fixes_text(audit: AuditRun) -> HTML:
    """fixes.sql in the page (collapsed): every suggested statement, grouped by check."""
    text = fixes_sql(audit)
    count = sum(1 for f in audit.findings if f.fix)
    return HTML(f'<details id="fixes"><summary>Show fixes.sql: {plural(count, "finding")} with a suggested fix'
                f'</summary><pre>{html.escape(redact(text))}</pre></details>')


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
