"""Between dated reports of one target: what is new, resolved or worse, and the trend of key numbers.

Each report folder keeps `history.json`, a compact record of the numbers the trend chart plots;
the previous report is the latest earlier date under the same reports root.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .results import SEVERITIES, AuditRun, Finding

# The number that says "worse" for a finding, first match wins (declared once, read by the diff).
MAGNITUDE = ("orphans", "rows_losing_reference", "non_null", "unresolvable", "wasted_bytes", "seq_tup_read",
             "dead_tuples", "used_pct", "xid_age", "index_bytes", "table_bytes")
TREND_NUMBERS = {"orphaned rows": ("orphaned_rows", "orphans"),
                 "wasted bytes": (("table_bloat", "index_bloat"), "wasted_bytes"),
                 "rows read sequentially": ("seq_scan_hotspots", "seq_tup_read")}


def magnitude(f: Finding) -> float | None:
    return next((f.metrics[k] for k in MAGNITUDE if isinstance(f.metrics.get(k), (int, float))), None)


@dataclass
class Changes:
    previous_day: str | None
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    worse: list[tuple[Finding, Finding]] = field(default_factory=list)   # (now, before)


def history_record(audit: AuditRun, day: str) -> dict:
    """The compact numbers one report contributes to the trend."""
    record = {"day": day, "generated_at": audit.generated_at, **audit.severity_counts()}
    for label, (checks, metric) in TREND_NUMBERS.items():
        checks = (checks,) if isinstance(checks, str) else checks
        record[label] = sum(f.metrics.get(metric) or 0 for f in audit.findings if f.check in checks)
    return record


def write_history(audit: AuditRun, folder: Path, day: str) -> Path:
    path = Path(folder) / "history.json"
    path.write_text(json.dumps(history_record(audit, day), indent=2) + "\n")
    return path


def earlier_reports(reports_root: str | Path, folder_name: str, day: str) -> list[Path]:
    """Report folders of the same target on earlier dates, oldest first."""
    root = Path(reports_root)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.glob(f"*/{folder_name}/findings.json") if p.parent.parent.name < day)


def changes(audit: AuditRun, reports_root: str | Path, folder_name: str, day: str) -> Changes:
    earlier = earlier_reports(reports_root, folder_name, day)
    if not earlier:
        return Changes(None)
    before = AuditRun.read_json(earlier[-1] / "findings.json")
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    old = {f.key: f for f in before.findings}
    now = {f.key: f for f in audit.findings}
    ran = {c.id for c in audit.checks if c.status == "ok"}
    result = Changes(earlier[-1].parent.name)
    result.new = [f for k, f in now.items() if k not in old]
    result.resolved = [f for k, f in old.items() if k not in now and f.check in ran]
    for k, f in now.items():
        if k in old:
            was = old[k]
            a, b = magnitude(f), magnitude(was)
            if rank[f.severity] < rank[was.severity] or (a is not None and b is not None and a > b):
                result.worse.append((f, was))
    return result


def trend(audit: AuditRun, reports_root: str | Path, folder_name: str, day: str) -> list[dict]:
    """History records of the earlier reports plus this one, oldest first."""
    records = []
    for folder in earlier_reports(reports_root, folder_name, day):
        path = folder / "history.json"
        records.append(json.loads(path.read_text()) if path.exists()
                       else history_record(AuditRun.read_json(folder / "findings.json"), folder.parent.name))
    return records + [history_record(audit, day)]


def write_index(reports_root: str | Path) -> Path:
    """reports/index.html: every target and the dates it has a report for, newest first."""
    import html

    root = Path(reports_root)
    by_target: dict[str, list[str]] = {}
    for index in sorted(root.glob("*/*/index.html")):
        by_target.setdefault(index.parent.name, []).append(index.parent.parent.name)
    items = []
    for target, days in sorted(by_target.items()):
        links = " · ".join(f'<a href="{html.escape(d)}/{html.escape(target)}/index.html">{html.escape(d)}</a>'
                           for d in sorted(days, reverse=True))
        items.append(f"<li><b>{html.escape(target)}</b>: {links}</li>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>pgvet reports</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}li{margin:.4rem 0}</style></head>"
            f"<body><h1>pgvet reports</h1><ul>{''.join(items) or '<li>No reports yet.</li>'}</ul></body></html>\n")
    out = root / "index.html"
    out.write_text(page)
    return out
