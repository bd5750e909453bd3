"""What matters first: findings ranked by harm, and findings about the same object gathered into one row.

Rank: the check's tier (live data broken now, then availability and performance, then latent), then
severity, then the size of the harm (the metric the check's header names). Everything a ranking needs
comes from the check headers; nothing here knows a check id.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .catalog import Check, load_checks
from .fixsafety import safe_fix
from .results import SEVERITIES, TIERS, AuditRun, Finding
from .wording import label, plain_sentence

TIER_ORDER = {t: i for i, t in enumerate(TIERS)}
SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Check]:
    return {c.id: c for c in load_checks()}


def check_of(finding_or_id) -> Check | None:
    """The catalog entry of a finding's check (None for a check pgvet no longer has)."""
    return _catalog().get(getattr(finding_or_id, "check", finding_or_id))


def tier_of(finding_or_id) -> str:
    """The tier the check's header declares ("latent" for a check pgvet no longer has)."""
    check = check_of(finding_or_id)
    return check.tier if check else "latent"


def harm_spec(finding_or_id) -> dict:
    """The check's `harm` header: {metric, unit, cumulative, total}; empty when nothing sizes it."""
    check = check_of(finding_or_id)
    return check.harm if check else {}


def harm(finding: Finding) -> float | None:
    """The number that sizes the finding's harm, per its check's header (None when it has none)."""
    value = finding.metrics.get(harm_spec(finding).get("metric"))
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def rank_key(finding: Finding) -> tuple:
    return (TIER_ORDER[tier_of(finding)], SEVERITY_ORDER.get(finding.severity, 9), -(harm(finding) or 0), finding.key)


def ranked(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=rank_key)


def sentence(finding: Finding) -> str:
    check = check_of(finding)
    return plain_sentence(finding, check.sentence if check else None)


def short_label(finding: Finding) -> str:
    check = check_of(finding)
    return label(finding, check.label, check.title) if check else finding.check


def object_name(finding: Finding) -> str:
    """What a finding is about: `schema.table[.column or object]` (a migration file and line for lint)."""
    return finding.key.split(":", 1)[1]


@dataclass
class ObjectFindings:
    """Every finding about one object, most harmful first."""

    name: str
    findings: list[Finding]

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def severity(self) -> str:
        return self.first.severity

    @property
    def tier(self) -> str:
        return tier_of(self.first)

    @property
    def labels(self) -> list[str]:
        """`undeclared reference`, `12 orphaned rows`, `no index`: the few words of each finding."""
        return list(dict.fromkeys(short_label(f) for f in self.findings))

    @property
    def fixes(self) -> str:
        """The statements that fix every finding of the object, one block."""
        return "\n\n".join(dict.fromkeys(safe_fix(f) for f in self.findings if f.fix))


def by_object(audit: AuditRun) -> list[ObjectFindings]:
    """One entry per object, ranked by its most harmful finding."""
    groups: dict[str, list[Finding]] = {}
    for f in ranked(audit.findings):
        groups.setdefault(object_name(f), []).append(f)
    return [ObjectFindings(name, findings) for name, findings in groups.items()]


def check_totals(findings: list[Finding]) -> dict[str, float]:
    """Per check, its harm metric over its findings: their sum, or their maximum for a check whose
    header says `total: max` (shares of a limit do not add up). Checks without a harm metric left out."""
    totals: dict[str, float] = {}
    for f in findings:
        value = harm(f)
        if value is not None:
            highest = harm_spec(f).get("total") == "max"
            totals[f.check] = max(totals.get(f.check, value), value) if highest else totals.get(f.check, 0) + value
    return totals
