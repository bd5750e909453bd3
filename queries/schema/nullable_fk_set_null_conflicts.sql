-- ---
-- id: nullable_fk_set_null_conflicts
-- title: ON DELETE SET NULL on NOT NULL columns, and nullable FK columns that never hold NULL
-- area: schema
-- reads: stats
-- severity: warning
-- params:
--   min_rows: 1000
-- sentence: "{table}.{column}: {detail}"
-- tier: risk
-- label: "{kind}"
-- section: "Keys and constraints"
-- ---
-- A foreign key whose ON DELETE / ON UPDATE action is SET NULL on a column declared NOT NULL:
-- the first delete of a referenced row fails (critical). And, as info, nullable foreign-key
-- columns of tables with at least `min_rows` rows where pg_stats shows no NULL at all: probably
-- meant to be NOT NULL.
SELECT n.nspname                                 AS schema,
       c.relname                                 AS "table",
       a.attname                                 AS "column",
       k.conname                                 AS object,
       format('ON %s SET NULL on a NOT NULL column: deleting a %s row fails',
              CASE WHEN k.confdeltype = 'n' THEN 'DELETE' ELSE 'UPDATE' END, pc.relname) AS detail,
       'critical'                                AS severity,
       'set null on not null'                    AS kind,
       '-- Either the column may be NULL, or the action should be CASCADE / RESTRICT; for example:' || E'\n' ||
       format('-- ALTER TABLE %I.%I ALTER COLUMN %I DROP NOT NULL;', n.nspname, c.relname, a.attname) AS fix
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class pc ON pc.oid = k.confrelid
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
WHERE k.contype = 'f' AND k.conparentid = 0 AND (k.confdeltype = 'n' OR k.confupdtype = 'n') AND a.attnotnull
  AND (k.confdelsetcols IS NULL OR a.attnum = ANY (k.confdelsetcols))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT n.nspname, c.relname, a.attname, k.conname,
       format('nullable, but none of its %s rows is NULL', greatest(c.reltuples, 0)::bigint),
       'info', 'nullable without nulls',
       '-- SET NOT NULL scans under ACCESS EXCLUSIVE; add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it,' || E'\n' ||
       '-- then SET NOT NULL skips the scan (PostgreSQL 12+):' || E'\n' ||
       format('-- ALTER TABLE %I.%I ALTER COLUMN %I SET NOT NULL;', n.nspname, c.relname, a.attname)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
WHERE k.contype = 'f' AND k.conparentid = 0 AND NOT a.attnotnull AND s.null_frac = 0
  AND greatest(c.reltuples, 0) >= :min_rows
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3
