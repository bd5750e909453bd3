"""
---
id: migration_history
title: The migration tool's history table held against the files
area: migrations
severity: warning
reads: data
params:
  migrations_dir: ""
  hints_file: ""
  max_file_mb: 20.0
sentence: "{file}: {state}{because}"
tier: risk
label: "{state}"
section: "History table vs files: what was applied"
---
For every migration folder under `migrations_dir` whose tool keeps a history table in the database
(`drizzle.__drizzle_migrations`, `_prisma_migrations`, `flyway_schema_history`, `sqitch.changes`,
`schema_migrations` of Rails, golang-migrate, dbmate and Supabase), reads that table and says per
file: never applied, applied but the file is gone, edited after it was applied (the hash or
checksum computed the way the tool computes it, lib/pgvet/migrations/applied.py), failed or rolled
back, or the database marked dirty. Applied files are counted in the check's note, not listed.
"""
from pgvet.migrations import analyse

SEVERITY = {"never applied": "warning", "file gone": "warning", "edited after applied": "warning",
            "failed": "critical", "dirty": "critical", "rolled back": "info"}


def findings(ctx):
    result = analyse(ctx)
    found = result["history"]
    ctx.notes.extend(result["history_notes"])
    return [{"table": s.file, "file": s.file, "state": s.state, "history_table": s.table,
             "severity": SEVERITY[s.state], "detail": s.detail or s.state,
             "because": f": {s.detail}" if s.detail else ""}
            for s in found if s.state != "applied"]
