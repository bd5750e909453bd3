-- ---
-- id: unindexed_foreign_keys
-- title: Foreign keys without an index on the referencing columns
-- area: references
-- severity: warning
-- params:
--   min_table_rows: 0
-- sentence: "{schema}.{table}({column}) has no index: every delete or key update on {referenced_table} scans {table_rows} rows"
-- ---
-- A declared FK is covered when its columns are exactly the leading columns of a valid,
-- non-partial index (in any order among those leading columns; a composite PK prefix counts).
-- Ranked by the parent's delete/update activity, then by the child's size: that is what
-- each missing index costs.
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
