"""
---
id: migration_lint
title: Risky statements in the migration files, with their impact on the live tables
area: migrations
severity: warning
reads: data
params:
  migrations_dir: ""
  hints_file: ""
sentence: "Migration {file}, line {line}, on {target_table}: {detail}"
tier: latent
harm: {metric: rows_losing_reference, unit: rows}
label: "risky migration statement"
section: "Risky statements, file by file"
---
Reads `migrations_dir` (nothing runs when it is empty) in the order its tool applies it, parses
every statement with PostgreSQL's parser and applies the rules in lib/pgvet/migrations/lint.py
against the schema the earlier files meant and the live catalog. For statements on existing
tables the finding carries the live row count, size and lock; for a conversion that assigns new
random values, the exact number of rows in each table that would lose its reference.
"""
from pgvet.migrations import analyse, rows_losing_reference
from pgvet.migrations.lint import LOCKS
from pgvet.runner import Skip


def findings(ctx):
    result = analyse(ctx)
    if not result["migrations"] and result["problems"]:
        raise Skip(result["problems"][0])
    rows = []
    for problem in result["problems"]:
        rows.append({"table": problem.split("names ")[-1].split(",")[0], "column": "0:missing-file",
                     "severity": "warning", "detail": problem, "rule": "missing-file"})
    for migration in result["migrations"]:
        for line, message in migration.problems:
            rows.append({"table": migration.file, "column": f"{line}:does-not-parse", "severity": "warning",
                         "detail": f"line {line} {message}; the rest of the file was not checked",
                         "file": migration.file, "line": line, "rule": "does-not-parse"})
    live = result["live"]
    for stmt, issue in result["issues"]:
        row = {"table": stmt.file, "column": f"{stmt.line}:{issue.rule}", "severity": issue.severity,
               "detail": issue.message, "file": stmt.file, "line": stmt.line, "rule": issue.rule,
               "target_table": issue.table, "target_column": issue.column, "statement": " ".join(stmt.text.split())[:300],
               "lock": LOCKS.get(issue.rule)}
        if issue.table in live.tables:
            row["rows"], row["table_bytes"] = live.tables[issue.table]
        if issue.rule == "destructive-type-conversion" and issue.table in live.tables and issue.column:
            lost = rows_losing_reference(ctx, issue.table, issue.column, live)
            row["references_lost"] = "; ".join(f"{k}: {v} rows" for k, v in lost.items()) or None
            row["rows_losing_reference"] = sum(lost.values())
            if lost:   # the harm in a manager's words: which rows lose what
                row["detail"] = (f"rewrites {issue.column} with new values unrelated to the old ones: "
                                 + "; ".join(f"{v:,} value{'s' if v != 1 else ''} of {k} would no longer match the "
                                             "row they referred to" for k, v in lost.items()))
        rows.append(row)
    return rows
