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
  max_file_mb: 20.0
  sample_above_rows: 10000000
  sample_rows: 1000000
sentence: "Migration {file}, line {line}, on {target_table}: {detail}"
tier: latent
harm: {metric: rows_losing_reference, unit: rows}
label: "risky migration statement"
section: "Risky statements, file by file"
---
Reads every migration folder under `migrations_dir` (nothing runs when it is empty; the layouts
recognised are listed in lib/pgvet/migrations/layouts.py) in the order its tool applies it —
every `.sql` file, also those a Drizzle journal or sqitch plan does not list (each of those is a
finding of its own, and linted all the same) — parses every statement with PostgreSQL's parser,
also those inside `DO` blocks and constant `EXECUTE` strings, and applies the rules in lib/pgvet/migrations/lint.py
against the schema the earlier files meant and the live catalog. For statements on existing
tables the finding carries the live row count, size and lock; for a conversion that assigns new
random values, the exact number of rows in each table that would lose its reference.
"""
from pgvet.migrations import analyse, rows_losing_reference
from pgvet.migrations.impact import Sampling, impact
from pgvet.migrations.layouts import describe
from pgvet.migrations.rules import LOCKS

UNLISTED = ("{file} is not in {manifest}: its tool never applies it; if it was run by hand, its effects are "
            "listed with the other findings")


def _file_sentence(file, line, rule, message):
    """`0001_x.sql, line 3, does not parse: …`; the journal's own sentence names the missing file."""
    if rule == "missing-file":
        return message
    where = f"{file}, line {line}," if line and rule == "does-not-parse" else f"{file}:" if line else file
    return f"{where} {message}"


def _file_rows(result):
    """Findings about the files themselves: not listed by their tool, missing, unreadable, unparsable."""
    rows = [{"table": s.folder, "column": "0:manifest-unreadable", "severity": "warning", "rule": "manifest-unreadable",
             "detail": problem} for s in result["sources"] for problem in s.problems]
    manifests = {e.name: s.manifest for s in result["sources"] for e in s.entries}
    for migration in result["migrations"]:
        if not migration.listed:
            rows.append({"table": migration.file, "column": "0:not-in-manifest", "severity": "warning",
                         "rule": "not-in-manifest", "file": migration.file, "line": 0,
                         "detail": UNLISTED.format(file=migration.file, manifest=manifests[migration.file])})
        for line, rule, message in migration.problems:
            rows.append({"table": migration.file, "column": f"{line}:{rule}", "severity": "warning", "rule": rule,
                         "detail": _file_sentence(migration.file, line, rule, message),
                         "file": migration.file, "line": line})
    return rows


def findings(ctx):
    result = analyse(ctx)
    ctx.notes.append(describe(result["sources"], result["aside"]))
    rows = _file_rows(result)
    live = result["live"]
    sampling = Sampling(ctx.params["sample_above_rows"], ctx.params["sample_rows"])
    for stmt, issue in result["issues"]:
        row = {"table": stmt.file, "column": f"{stmt.line}:{issue.rule}", "severity": issue.severity,
               "detail": issue.message, "file": stmt.file, "line": stmt.line, "rule": issue.rule,
               "target_table": issue.table, "target_column": issue.column, "statement": " ".join(stmt.text.split())[:300],
               "lock": LOCKS.get(issue.rule)}
        if issue.table in live.tables:
            row["rows"], row["table_bytes"] = live.tables[issue.table]
        if stmt.file not in result["applied"]:   # what it would do to today's rows if it ran (again) now
            found = impact(ctx.pg, stmt, issue.rule, issue.table, issue.column, result["model"], live,
                           ctx.pg.info.server_version, sampling)
            if found:
                row["rows_affected"] = found.rows
                if found.sampled:
                    row.update(rows_affected_low=found.low, rows_affected_high=found.high, sampled_rows=found.sampled)
                row["detail"] = f"{issue.message}; {found.text()}"
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
