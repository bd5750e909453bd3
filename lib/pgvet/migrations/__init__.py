"""Migration files held against the live database: lint (files + catalog), drift (intent vs catalog).

The two checks in queries/migrations/ call `analyse(ctx)`, which reads and lints the folder once
per audit run and reads what it needs of the live database in a few catalog queries.
"""
from __future__ import annotations

from psycopg import sql
from psycopg.rows import dict_row

from ..references import all_references
from ..runner import Skip
from .applied import states
from .files import MAX_FILE_MB, load_sources
from .lint import Live, lint

LIVE_COLUMNS = """
SELECT n.nspname || '.' || c.relname AS "table", greatest(c.reltuples, 0)::bigint AS rows,
       pg_total_relation_size(c.oid) AS bytes, a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
"""

LIVE_INDEXES = """
SELECT n.nspname || '.' || t.relname AS "table", ic.relname AS name,
       array_agg(a.attname ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL) AS columns
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY 1, 2
"""


def live_view(ctx) -> Live:
    live = Live()
    with ctx.pg.cursor(row_factory=dict_row) as cur:
        for r in cur.execute(LIVE_COLUMNS).fetchall():
            live.tables[r["table"]] = (r["rows"], r["bytes"])
            if r["column"]:
                live.columns.setdefault(r["table"], {})[r["column"]] = r["type"]
    for ref in all_references(ctx):
        if ref.ref_table and len(ref.columns) == 1:
            live.referenced_by.setdefault((ref.referenced_table, ref.ref_columns[0]), []).append(
                (f"{ref.schema}.{ref.table}", ref.columns[0]))
    return live


def analyse(ctx) -> dict:
    """Lint and intended model of `migrations_dir`, read once per run; without a folder the check is skipped."""
    folder = ctx.params.get("migrations_dir") or ""
    if not folder:
        raise Skip("no migrations_dir given (--param migrations_dir=PATH)")
    key = ("migrations", folder)
    if key not in ctx.cache:
        sources, aside, migrations, problems = load_sources(folder, ctx.params.get("max_file_mb", MAX_FILE_MB))
        if problems:     # no folder, an unreadable one, or no file at all: nothing was checked
            raise Skip(problems[0])
        live = live_view(ctx)
        issues, model = lint(migrations, live)
        history, history_notes = states(ctx.pg, sources)
        ctx.cache[key] = {"sources": sources, "aside": aside, "migrations": migrations, "issues": issues,
                          "model": model, "live": live, "history": history, "history_notes": history_notes,
                          "applied": {s.file for s in history if s.state == "applied"}}
    return ctx.cache[key]


def rows_losing_reference(ctx, table: str, column: str, live: Live) -> dict[str, int]:
    """For a column about to get new random values: exact non-null counts of every column that refers
    to it, and of the column itself when it is a reference."""
    holders = list(live.referenced_by.get((table, column), []))
    if any((f"{r.schema}.{r.table}", r.columns[0]) == (table, column) for r in all_references(ctx)
           if r.ref_table and len(r.columns) == 1):
        holders.append((table, column))
    counts = {}
    for child, col in sorted(set(holders)):
        schema, name = child.split(".", 1)
        counts[f"{child}.{col}"] = ctx.pg.execute(sql.SQL("SELECT count({c}) FROM {t}").format(
            c=sql.Identifier(col), t=sql.Identifier(schema, name))).fetchone()[0]
    return counts
