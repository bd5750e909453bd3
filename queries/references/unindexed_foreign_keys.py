"""
---
id: unindexed_foreign_keys
title: Foreign keys without an index on the referencing columns
area: references
severity: warning
reads: data
params:
  min_table_rows: 0
  hints_file: ""
  migrations_dir: ""
sentence: "{schema}.{table}({column}) has no index: every delete or key update on {referenced_table} scans {table_rows:# row}"
tier: risk
harm: {metric: table_rows, unit: rows}
label: "no index"
section: "References without an index"
fixes: [IndexStmt]
---
Declared foreign keys (DECLARED below) and inferred references from the references area whose
columns are not the leading columns of a valid, non-partial index (in any order among those
leading columns; a composite PK prefix counts). Ranked by the parent's delete/update activity,
then by the child's size: that is what each missing index costs.
"""
from sqlalchemy import text

from pgvet.references import all_references
from pgvet.references.fixes import create_index, render

DECLARED = """
WITH fk AS (
    SELECT con.conname, con.conrelid, con.confrelid, con.conkey, con.confdeltype,
           cardinality(con.conkey) AS ncols
    FROM pg_constraint con
    WHERE con.contype = 'f' AND con.conparentid = 0
)
SELECT n.nspname                                  AS schema,
       c.relname                                  AS "table",
       cols.names                                 AS "column",
       fk.conname                                 AS object,
       format('no index starts with (%s); deletes and key updates on %s scan %s', cols.names,
              pc.relname, c.relname)              AS detail,
       format('%s.%s', pn.nspname, pc.relname)    AS referenced_table,
       greatest(c.reltuples, 0)::bigint          AS table_rows,
       pg_relation_size(c.oid)                    AS table_bytes,
       coalesce(ps.n_tup_del, 0) + coalesce(ps.n_tup_upd, 0) AS parent_deletes_updates,
       CASE fk.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                           WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END AS on_delete,
       '-- CONCURRENTLY: no write lock; cannot run inside a transaction block.' || E'\n' ||
       format('CREATE INDEX CONCURRENTLY ON %I.%I (%s);', n.nspname, c.relname, cols.quoted) AS fix
FROM fk
JOIN pg_class c       ON c.oid = fk.conrelid
JOIN pg_namespace n   ON n.oid = c.relnamespace
JOIN pg_class pc      ON pc.oid = fk.confrelid
JOIN pg_namespace pn  ON pn.oid = pc.relnamespace
LEFT JOIN pg_stat_all_tables ps ON ps.relid = fk.confrelid
CROSS JOIN LATERAL (
    SELECT string_agg(a.attname, ', ' ORDER BY k.ord) AS names,
           string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS quoted
    FROM unnest(fk.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = fk.conrelid AND a.attnum = k.attnum
) cols
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND greatest(c.reltuples, 0) >= :min_table_rows
  AND NOT EXISTS (
      SELECT 1
      FROM pg_index i
      WHERE i.indrelid = fk.conrelid
        AND i.indisvalid
        AND i.indpred IS NULL
        AND (i.indkey::int2[])[0:fk.ncols - 1] @> fk.conkey
        AND (i.indkey::int2[])[0:fk.ncols - 1] <@ fk.conkey
  )
ORDER BY parent_deletes_updates DESC, table_bytes DESC, schema, "table", object
"""

# Size of the child and delete/update activity on the parent, for inferred references, in one query.
ACTIVITY = """
SELECT x.child, pg_relation_size(to_regclass(x.child)) AS table_bytes,
       coalesce(s.n_tup_del, 0) + coalesce(s.n_tup_upd, 0) AS parent_deletes_updates
FROM unnest(%s::text[], %s::text[]) AS x(child, parent)
LEFT JOIN pg_stat_all_tables s ON s.relid = to_regclass(x.parent)
"""


def findings(ctx):
    rows = [dict(r) for r in ctx.conn.execute(text(DECLARED), ctx.params).mappings().all()]
    for r in rows:
        r["evidence"] = "declared constraint " + r["object"]
    inferred = [r for r in all_references(ctx) if not r.declared and r.countable and not r.indexed
                and r.rows >= ctx.params["min_table_rows"]]
    if inferred:
        names = [r.qualified().as_string(ctx.pg) for r in inferred]
        parents = [r.ref_qualified().as_string(ctx.pg) for r in inferred]
        activity = {row[0]: row[1:] for row in ctx.pg.execute(ACTIVITY, (names, parents)).fetchall()}
        for ref, name in zip(inferred, names):
            table_bytes, parent_activity = activity[name]
            rows.append({"schema": ref.schema, "table": ref.table, "column": ref.column, "object": None,
                         "detail": f"inferred reference to {ref.referenced_table}; no index starts with ({ref.column})",
                         "referenced_table": ref.referenced_table, "table_rows": ref.rows, "table_bytes": table_bytes,
                         "parent_deletes_updates": parent_activity, "on_delete": None,
                         "evidence": "; ".join(ref.evidence), "fix": render(create_index(ref))})
    return sorted(rows, key=lambda r: (-r["parent_deletes_updates"], -r["table_bytes"], r["schema"], r["table"],
                                       r["column"]))
