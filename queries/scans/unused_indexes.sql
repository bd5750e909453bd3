-- ---
-- id: unused_indexes
-- title: Indexes no query has used since the statistics were reset
-- area: scans
-- severity: warning
-- params:
--   max_scans: 0
--   min_index_bytes: 10485760
--   min_stats_days: 7
-- sentence: "{object} on {table} has not been used since {stats_reset} but takes {index_bytes} and slows every write"
-- tier: risk
-- harm: {metric: index_bytes, unit: bytes}
-- label: "unused index ({index_bytes})"
-- section: "Indexes that cost without serving"
-- ---
-- PgHero's definition: idx_scan <= max_scans (0), not unique, not backing a constraint, at least
-- 10 MB. Invalid indexes are invalid_indexes' business; indexes attached to a partitioned index
-- cannot be dropped alone and are left out. Counters are per server: a replica keeps its own.
-- Statistics reset less than `min_stats_days` ago are one cause for the whole server, not a
-- finding per index: no index has had the time to be used.
WITH db AS (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
unused AS (
SELECT s.schemaname                             AS schema,
       s.relname                                AS "table",
       s.indexrelname                           AS object,
       format('%s has had %s scans since %s; it takes %s and is updated on every write to %s',
              s.indexrelname, s.idx_scan, coalesce(db.stats_reset::text, 'the statistics began'),
              pg_size_pretty(pg_relation_size(s.indexrelid)), s.relname) AS detail,
       pg_relation_size(s.indexrelid)           AS index_bytes,
       s.idx_scan,
       coalesce(t.n_tup_ins, 0) + coalesce(t.n_tup_upd, 0) + coalesce(t.n_tup_del, 0) AS table_writes,
       db.stats_reset,
       round((extract(epoch FROM now() - db.stats_reset) / 86400)::numeric, 1) AS stats_age_days,
       pg_get_indexdef(s.indexrelid)            AS definition,
       '-- Unused on THIS server since ' || coalesce(db.stats_reset::text, 'the statistics began') ||
       '. Each replica keeps its own counters:' || E'\n' ||
       '-- check idx_scan there too before dropping. Keep the definition to recreate it:' || E'\n' ||
       '-- ' || pg_get_indexdef(s.indexrelid) || ';' || E'\n' ||
       format('-- DROP INDEX CONCURRENTLY %I.%I;', s.schemaname, s.indexrelname) AS fix
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
LEFT JOIN pg_stat_user_tables t ON t.relid = s.relid
CROSS JOIN db
WHERE s.idx_scan <= :max_scans
  AND i.indisvalid
  AND NOT i.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = s.indexrelid)
  AND pg_relation_size(s.indexrelid) >= :min_index_bytes
),
recent AS (SELECT coalesce(now() - stats_reset < make_interval(days => :min_stats_days), false) AS yes FROM db)
SELECT unused.* FROM unused, recent WHERE NOT recent.yes
UNION ALL
SELECT NULL, 'whole server', NULL,
       format('the statistics were reset %s days ago: %s (%s) %s no scan yet, too soon to call unused '
              '(min_stats_days = %s)', min(stats_age_days),
              CASE WHEN count(*) = 1 THEN '1 index' ELSE count(*) || ' indexes' END, pg_size_pretty(sum(index_bytes)),
              CASE WHEN count(*) = 1 THEN 'has' ELSE 'have' END, :min_stats_days),
       sum(index_bytes)::bigint, NULL, NULL, min(stats_reset), min(stats_age_days), NULL, NULL
FROM unused, recent WHERE recent.yes
HAVING count(*) > 0
ORDER BY index_bytes DESC, schema, "table", object
