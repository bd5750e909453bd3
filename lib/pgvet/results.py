"""The one result contract every consumer reads: notebooks, plots, findings.json, the CLI."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from .redact import redact

SEVERITIES = ("critical", "warning", "info")
# How findings are ranked, first to last: what is broken now in live data, then risks to availability
# and performance, then what may become a problem (migration files, hygiene). Each check declares its tier.
TIERS = {"live": "broken now in live data", "risk": "availability and performance risk",
         "latent": "latent risk: migration files and hygiene"}
# ok: checked everything; partial: some objects could not be checked (listed in `unchecked`);
# timeout / error: the check did not finish; skipped: it could not run here (reason says why).
STATUSES = ("ok", "partial", "timeout", "error", "skipped")
RUN_FILE = "findings.json"      # the run: checks, findings, suppressions (stable schema)
PAGES_FILE = "pages.json"       # what the pages draw besides findings (relationship map, activity …)
# Columns of a check's result row that are not metrics.
IDENTITY_COLUMNS = ("schema", "table", "column", "object", "detail", "severity", "fix")


def finding_key(check: str, schema: str | None, table: str | None, column: str | None = None,
                obj: str | None = None) -> str:
    """Stable key `<check_id>:<schema>.<table>[.<column or object>]` for suppressions and diffs."""
    parts = [p for p in (schema, table, column or obj) if p]
    return f"{check}:{'.'.join(parts)}"


def _plain(value):
    """A JSON-safe scalar for a metric value."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 4)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def _json_default(value):
    plain = _plain(value)
    return str(plain) if plain is value else plain


@dataclass
class Finding:
    key: str
    check: str
    severity: str
    schema: str | None
    table: str | None
    column: str | None
    object: str | None
    detail: str
    metrics: dict = field(default_factory=dict)
    fix: str | None = None   # suggested remediation SQL, commented; pgvet never runs it

    @classmethod
    def from_row(cls, check_id: str, default_severity: str, row: dict) -> "Finding":
        metrics = {k: _plain(v) for k, v in row.items() if k not in IDENTITY_COLUMNS}
        severity = row.get("severity") or default_severity
        return cls(key=finding_key(check_id, row.get("schema"), row.get("table"), row.get("column"), row.get("object")),
                   check=check_id, severity=severity, schema=row.get("schema"), table=row.get("table"),
                   column=row.get("column"), object=row.get("object"), detail=row.get("detail") or "",
                   metrics=metrics, fix=row.get("fix"))


@dataclass
class CheckResult:
    id: str
    title: str
    area: str
    severity: str
    status: str
    reason: str | None
    duration_ms: int
    params: dict
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # method notes, e.g. why exact bloat was not measured
    unchecked: list[str] = field(default_factory=list)   # what a `partial` check could not check, and why

    @property
    def complete(self) -> bool:
        """Every object the check looks at was checked: its findings can be compared between reports."""
        return self.status == "ok"

    def summary(self) -> dict:
        """The check's entry in findings.json (without its findings)."""
        d = asdict(self)
        d.pop("findings")
        d["findings"] = len(self.findings)
        return d


@dataclass
class PageData:
    """Something a page draws besides findings (the relationship map, table activity …), captured in
    the audit with the same guards as a check: `status`/`reason` as for checks, `data` JSON-able."""

    status: str
    reason: str | None
    data: object = None


@dataclass
class AuditRun:
    target: str
    generated_at: str
    server_version: str
    pgvet_version: str
    checks: list[CheckResult]
    suppressed: list[dict] = field(default_factory=list)   # {"finding": {...}, "reason": ..., "until": ...}
    expired_suppressions: list[dict] = field(default_factory=list)
    pages: dict[str, PageData] = field(default_factory=dict)
    selection: str = ""          # the --only of the run; empty: every check
    incomplete: bool = False     # the connection was lost during the run

    @property
    def gaps(self) -> list[CheckResult]:
        """Checks that did not check everything: partial, timed out, failed or skipped."""
        return [c for c in self.checks if c.status != "ok"]

    def page(self, name: str) -> PageData:
        return self.pages.get(name) or PageData("skipped", "not captured in this run")

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    def apply_suppressions(self, suppressions, today: date) -> "AuditRun":
        """Move findings an active suppression matches out of the counts, into `suppressed`."""
        active = [s for s in suppressions if s.active(today)]
        for s in suppressions:
            if not s.active(today):
                self.expired_suppressions.append({"key": s.key, "reason": s.reason, "until": s.until.isoformat()})
        for check in self.checks:
            kept = []
            for f in check.findings:
                rule = next((s for s in active if s.matches(f.key)), None)
                if rule is None:
                    kept.append(f)
                else:
                    self.suppressed.append({"finding": asdict(f), "reason": rule.reason,
                                            "until": rule.until.isoformat() if rule.until else None})
            check.findings = kept
        return self

    def selected(self, only: str) -> "AuditRun":
        """The same run restricted to comma-separated areas and/or check ids."""
        names = {n.strip() for n in only.split(",") if n.strip()}
        checks = [c for c in self.checks if c.id in names or c.area in names]
        ids = {c.id for c in checks}
        return AuditRun(self.target, self.generated_at, self.server_version, self.pgvet_version, checks,
                        [s for s in self.suppressed if s["finding"]["check"] in ids], self.expired_suppressions,
                        self.pages, self.selection, self.incomplete)

    def severity_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return {"target": self.target, "generated_at": self.generated_at, "server_version": self.server_version,
                "pgvet_version": self.pgvet_version, "checks": [c.summary() for c in self.checks],
                "findings": [asdict(f) for f in self.findings], "suppressed": self.suppressed,
                "expired_suppressions": self.expired_suppressions, "selection": self.selection,
                "incomplete": self.incomplete}

    def save(self, folder: str | Path) -> Path:
        """findings.json and pages.json into `folder`: everything the pages render, no connection needed."""
        folder = Path(folder)
        self.write_json(folder / RUN_FILE)
        pages = {k: asdict(v) for k, v in self.pages.items()}
        (folder / PAGES_FILE).write_text(redact(json.dumps(pages, indent=1, default=_json_default)) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "AuditRun":
        """A run saved by `save` (a folder), or a bare findings.json."""
        folder = Path(folder)
        if folder.is_file():
            return cls.read_json(folder)
        run = cls.read_json(folder / RUN_FILE)
        if (folder / PAGES_FILE).exists():
            run.pages = {k: PageData(**v) for k, v in json.loads((folder / PAGES_FILE).read_text()).items()}
        return run

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact(json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str)) + "\n")
        return path

    @classmethod
    def read_json(cls, path: str | Path) -> "AuditRun":
        d = json.loads(Path(path).read_text())
        by_check: dict[str, list[Finding]] = {}
        for f in d["findings"]:
            by_check.setdefault(f["check"], []).append(Finding(**f))
        checks = []
        for c in d["checks"]:
            c = {k: v for k, v in c.items() if k != "findings"}
            checks.append(CheckResult(**c, findings=by_check.get(c["id"], [])))
        return cls(target=d["target"], generated_at=d["generated_at"], server_version=d["server_version"],
                   pgvet_version=d["pgvet_version"], checks=checks, suppressed=d.get("suppressed", []),
                   expired_suppressions=d.get("expired_suppressions", []), selection=d.get("selection", ""),
                   incomplete=d.get("incomplete", False))
