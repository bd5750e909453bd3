-- ---
-- id: invalid_indexes
-- title: Invalid indexes (a failed or running CREATE INDEX CONCURRENTLY)
-- area: scans
-- severity: warning
-- sentence: "{object} on {table} is invalid ({state}): no query can use it, yet every write still updates it"
-- tier: risk
-- harm: {metric: index_bytes, unit: bytes}
-- label: "invalid index"
-- section: "Indexes that cost without serving"
-- fixes: [ReindexStmt]
-- ---
-- pg_index.indisvalid is false. An index still being built (visible in
-- pg_stat_progress_create_index) is reported as info; one left behind by a failed build is a
-- warning: queries ignore it but writes keep maintaining it.
SELECT n.nspname                                AS schema,
       t.relname                                AS "table",
       ic.relname                               AS object,
       CASE WHEN p.pid IS NOT NULL THEN format('being built by backend %s (%s)', p.pid, p.phase)
            ELSE 'left invalid by a failed build' END AS detail,
       CASE WHEN p.pid IS NOT NULL THEN 'info' ELSE 'warning' END AS severity,
       CASE WHEN p.pid IS NOT NULL THEN 'being built' ELSE 'failed build' END AS state,
       i.indisready                             AS ready_for_writes,
       pg_relation_size(i.indexrelid)           AS index_bytes,
       pg_get_indexdef(i.indexrelid)            AS definition,
       CASE WHEN p.pid IS NULL THEN
           '-- Rebuild it without blocking writes (PostgreSQL 12+), or drop it if it is not needed:' || E'\n' ||
           format('REINDEX INDEX CONCURRENTLY %I.%I;', n.nspname, ic.relname) || E'\n' ||
           format('-- DROP INDEX CONCURRENTLY %I.%I;', n.nspname, ic.relname) END AS fix
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t  ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_progress_create_index p ON p.index_relid = i.indexrelid
WHERE NOT i.indisvalid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY schema, "table", object
