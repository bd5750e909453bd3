"""Between dated reports of one target: what is new, resolved or worse, and the trend of key numbers.

Each report folder keeps `history.json`, a compact record of the numbers the trend chart plots;
the previous report is the latest earlier date under the same reports root.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .ranking import check_totals, harm, harm_spec
from .results import SEVERITIES, AuditRun, Finding


@dataclass
class Changes:
    previous_day: str | None
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    worse: list[tuple[Finding, Finding]] = field(default_factory=list)   # (now, before)
    not_compared: list[str] = field(default_factory=list)   # checks not complete in one of the two reports


def history_record(audit: AuditRun, day: str) -> dict:
    """The compact numbers one report contributes to the trend: findings per severity, and per check
    the total of the metric its header says sizes the harm (`harm`)."""
    return {"day": day, "generated_at": audit.generated_at, **audit.severity_counts(),
            "harm": check_totals(audit.findings)}


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
    older = {f.key: f for f in AuditRun.read_json(earlier[-2] / "findings.json").findings} if len(earlier) > 1 else {}
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    old = {f.key: f for f in before.findings}
    now = {f.key: f for f in audit.findings}
    # a finding is new or resolved only when its check looked at everything in both reports
    complete_now = {c.id for c in audit.checks if c.complete}
    complete_before = {c.id for c in before.checks if c.complete}
    result = Changes(earlier[-1].parent.name)
    skipped_both = {c.id for c in audit.checks if c.status == "skipped"} & {c.id for c in before.checks
                                                                           if c.status == "skipped"}
    result.not_compared = sorted(({c.id for c in audit.checks} | {c.id for c in before.checks})
                                 - (complete_now & complete_before) - skipped_both)
    result.new = [f for k, f in now.items() if k not in old and f.check in complete_before]
    result.resolved = [f for k, f in old.items() if k not in now and f.check in complete_now]
    for k, f in now.items():
        if k in old and _worse(f, old[k], older.get(k), rank):
            result.worse.append((f, old[k]))
    return result


def _worse(now: Finding, was: Finding, older: Finding | None, rank: dict) -> bool:
    """Severity rose, or the harm grew; a cumulative counter (since the statistics were reset) always
    grows, so it is worse only when it grew faster than before."""
    if rank[now.severity] < rank[was.severity]:
        return True
    a, b = harm(now), harm(was)
    if a is None or b is None:
        return False
    if harm_spec(now).get("cumulative"):
        c = harm(older) if older else None
        return c is not None and a >= b >= c and a - b > b - c
    return a > b


def trend(audit: AuditRun, reports_root: str | Path, folder_name: str, day: str) -> list[dict]:
    """History records of the earlier reports plus this one, oldest first."""
    records = []
    for folder in earlier_reports(reports_root, folder_name, day):
        path = folder / "history.json"
        records.append(json.loads(path.read_text()) if path.exists()
                       else history_record(AuditRun.read_json(folder / "findings.json"), folder.parent.name))
    return records + [history_record(audit, day)]
