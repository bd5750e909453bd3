"""One set of run options, declared once and passed down: CLI → report → audit → checks → pages."""
from __future__ import annotations

from dataclasses import dataclass, fields

from .errors import UsageError


@dataclass(frozen=True)
class RunOptions:
    """How a report runs (not what the checks look for: thresholds are check parameters).

    statement_timeout_ms  per statement of a check; refused when not positive
    lock_timeout_ms       how long a statement waits for a lock before giving up
    page_jobs             report pages rendered at the same time (`--jobs`), each its own process
    target_jobs           targets of a `--targets` run audited at the same time
    drill_down            the reference (schema.table.column) whose orphaned rows the report shows;
                          empty picks the one with the most orphans
    """

    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 1_000
    page_jobs: int = 2
    target_jobs: int = 2
    drill_down: str = ""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise UsageError(f"{f.name.replace('_', '-')} must be a positive whole number, got {value!r}")
