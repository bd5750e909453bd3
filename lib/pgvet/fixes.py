"""fixes.sql: every finding's suggested remediation, grouped by check. pgvet never runs it."""
from __future__ import annotations

from pathlib import Path

from .fixsafety import escape, safe_fix
from .results import SEVERITIES, AuditRun

HEADER = """-- pgvet suggested fixes for {target}, generated {generated_at}
-- Nothing here has been run. Read each block, test it on a copy, and run it in a maintenance
-- window where the comment says it locks. Statements are grouped by check, most severe first.
"""


def fixes_sql(audit: AuditRun) -> str:
    parts = [HEADER.format(target=escape(audit.target), generated_at=audit.generated_at)]
    for check in sorted(audit.checks, key=lambda c: SEVERITIES.index(c.severity)):
        with_fix = [f for f in check.findings if f.fix]
        if not with_fix:
            continue
        parts.append(f"\n-- ==== {check.id}: {check.title} ({len(with_fix)}) ====\n")
        parts += [f"{safe_fix(f)}\n" for f in with_fix]
    if len(parts) == 1:
        parts.append("\n-- No finding needs a fix.\n")
    return "\n".join(parts)


def write_fixes(audit: AuditRun, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(fixes_sql(audit))
    return path
