-- ---
-- id: fk_type_mismatch
-- title: Foreign key column type differs from the referenced column
-- area: references
-- severity: warning
-- sentence: "{schema}.{table}.{column} is {column_type} but refers to {referenced_table}.{referenced_column}, which is {referenced_type}"
-- tier: risk
-- label: "foreign key of another type"
-- section: "Columns whose type does not match their key"
-- fixes: [AlterTableStmt]
-- ---
-- One row per declared FK column whose type or typmod differs from the key it references
-- (int4 -> int8, varchar(50) -> text, numeric(10,2) -> numeric). Partition clones are skipped:
-- the parent's constraint reports them once.
SELECT n.nspname                                   AS schema,
       c.relname                                   AS "table",
       a.attname                                   AS "column",
       con.conname                                 AS object,
       format('%s is %s but references %s.%s (%s)', a.attname, format_type(a.atttypid, a.atttypmod),
              pc.relname, pa.attname, format_type(pa.atttypid, pa.atttypmod)) AS detail,
       format_type(a.atttypid, a.atttypmod)        AS column_type,
       format('%s.%s', pn.nspname, pc.relname)     AS referenced_table,
       pa.attname                                  AS referenced_column,
       format_type(pa.atttypid, pa.atttypmod)      AS referenced_type,
       CASE WHEN a.atttypid <> pa.atttypid THEN 'type' ELSE 'typmod' END AS differs_in,
       '-- Rewrites the table under an ACCESS EXCLUSIVE lock; on a large table add a new column,' || E'\n' ||
       '-- backfill it in batches and swap instead.' || E'\n' ||
       format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE %s;', n.nspname, c.relname, a.attname,
              format_type(pa.atttypid, pa.atttypmod)) AS fix
FROM pg_constraint con
JOIN pg_class c       ON c.oid = con.conrelid
JOIN pg_namespace n   ON n.oid = c.relnamespace
JOIN pg_class pc      ON pc.oid = con.confrelid
JOIN pg_namespace pn  ON pn.oid = pc.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(attnum, ref_attnum)
JOIN pg_attribute a   ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_attribute pa  ON pa.attrelid = con.confrelid AND pa.attnum = k.ref_attnum
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (a.atttypid <> pa.atttypid OR a.atttypmod <> pa.atttypmod)
ORDER BY n.nspname, c.relname, a.attname, con.conname
