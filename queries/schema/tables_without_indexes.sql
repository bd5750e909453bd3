-- ---
-- id: tables_without_indexes
-- title: Tables without any index
-- area: schema
-- severity: warning
-- params:
--   min_rows: 0
-- sentence: "{table} has no index at all ({rows:# row})"
-- tier: risk
-- harm: {metric: rows, unit: rows}
-- label: "no index at all"
-- section: "Keys and constraints"
-- ---
-- Ordinary tables (not extension-owned) with no index of any kind: every lookup reads the
-- whole table, and nothing can enforce uniqueness.
SELECT n.nspname                                AS schema,
       c.relname                                AS "table",
       format('no index at all; %s rows, %s', greatest(c.reltuples, 0)::bigint,
              pg_size_pretty(pg_relation_size(c.oid))) AS detail,
       greatest(c.reltuples, 0)::bigint         AS rows,
       pg_relation_size(c.oid)                  AS table_bytes,
       coalesce(s.seq_scan, 0)                  AS seq_scan
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind = 'r' AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
  AND greatest(c.reltuples, 0) >= :min_rows
ORDER BY table_bytes DESC, schema, "table"
