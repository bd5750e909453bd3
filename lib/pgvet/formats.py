"""The findings of a run outside the HTML page: a terminal's text, a spreadsheet's CSV, a chat's or an
email's markdown, and findings.json. Every format ranks findings by harm, like the page."""
from __future__ import annotations

import json
import re

import pandas as pd
from tabulate import tabulate

from . import ranking
from .fixsafety import escape
from .redact import redact
from .results import SEVERITIES, AuditRun
from .wording import day, plural

FORMATS = ("text", "csv", "markdown", "json")
FRAME_COLUMNS = ["severity", "tier", "check", "object", "finding", "harm", "unit", "detail", "key", "fix"]


def headline(audit: AuditRun) -> tuple[str, str]:
    """(worst severity class, the verdict in one sentence) — the page's verdict says the same."""
    counts = audit.severity_counts()
    objects = ranking.by_object(audit)
    unsure = [c for c in audit.gaps if c.status != "skipped" or c.severity == "critical"]
    scope = " in what could be checked" if unsure else ""
    if counts["critical"]:
        on = sum(1 for o in objects if o.severity == "critical")
        return "critical", (f"{plural(counts['critical'], 'critical problem')} on {plural(on, 'object')} "
                            f"{'needs' if counts['critical'] == 1 else 'need'} attention")
    if counts["warning"]:
        return "warning", f"No critical problems found{scope}; {plural(counts['warning'], 'warning')} to plan for"
    return "clean", f"No problems found{scope}"


def findings_frame(audit: AuditRun) -> pd.DataFrame:
    """One row per finding, ranked by harm, with its plain sentence (every metric is in findings.json)."""
    rows = []
    for f in ranking.ranked(audit.findings):
        rows.append({"severity": f.severity, "tier": ranking.tier_of(f), "check": f.check,
                     "object": ranking.object_name(f), "finding": redact(ranking.sentence(f)),
                     "harm": ranking.harm(f), "unit": ranking.harm_spec(f).get("unit", ""),
                     "detail": redact(f.detail), "key": f.key, "fix": redact(f.fix or "")})
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def one_line(value) -> str:
    """Database text on one line: control characters (a newline in a table name) written as \\xNN."""
    return escape(str(value))


def text(audit: AuditRun) -> str:
    """A line per finding, aligned, most harmful first, under the verdict."""
    frame = findings_frame(audit)
    lines = [f"{audit.target}: {headline(audit)[1]}."]
    if not frame.empty:
        rows = [[one_line(v) for v in row] for row in frame[["severity", "check", "object", "finding"]].values.tolist()]
        lines.append(tabulate(rows,
                              headers=["severity", "check", "object", "finding"], tablefmt="plain"))
    lines += [f"not checked: {c.id}: {c.status}: {redact(c.reason or '')}" for c in audit.gaps]
    return "\n".join(lines) + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A cell a spreadsheet shows as text: one that would start a formula (`=HYPERLINK(…)` as a table
    name, or a fix's `-- comment`) gets a leading apostrophe, as OWASP advises for CSV exports."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def csv(audit: AuditRun) -> str:
    return findings_frame(audit).map(spreadsheet_safe).to_csv(index=False)


def markdown(audit: AuditRun, top: int = 10) -> str:
    """A summary to paste into a chat or an email: verdict, what matters most, findings per check."""
    _, sentence = headline(audit)
    counts = audit.severity_counts()
    lines = [f"**pgvet — {audit.target}** ({day(audit.generated_at)}, PostgreSQL {audit.server_version}): "
             f"{sentence}. " + ", ".join(f"{counts[s]:,} {s}" for s in SEVERITIES) + ".", "",
             "**What matters most**", ""]
    objects = ranking.by_object(audit)[:top]
    for i, o in enumerate(objects, 1):
        also = f" (also: {'; '.join(o.labels[1:])})" if len(o.labels) > 1 else ""
        lines.append(f"{i}. **{o.severity}** — {markdown_text(ranking.sentence(o.first) + also)}")
    if not objects:
        lines.append("Nothing to report.")
    rows = [[c.title, c.area, c.status, len(c.findings)] for c in audit.checks if c.findings or c.status != "ok"]

    if rows:
        lines += ["", tabulate(rows, headers=["check", "area", "status", "findings"], tablefmt="github")]
    gaps = audit.gaps
    if gaps:
        lines += ["", "Not checked everywhere: " + "; ".join(f"{c.id} ({c.status})" for c in gaps) + "."]
    return "\n".join(lines) + "\n"


def markdown_text(value: str) -> str:
    """Database text in markdown: one line, and its markup characters shown as written, not applied."""
    # not `_`: CommonMark never reads an underscore inside a word (order_items) as emphasis
    return re.sub(r"([\\`*\[\]<>|])", r"\\\1", one_line(redact(value)))


def as_json(audit: AuditRun) -> str:
    return redact(json.dumps(audit.to_dict(), indent=2, default=str)) + "\n"


def render(audit: AuditRun, fmt: str) -> str:
    return {"text": text, "csv": csv, "markdown": markdown, "json": as_json}[fmt](audit)
