-- ---
-- id: dead_tuples
-- title: Tables carrying many dead rows
-- area: bloat
-- severity: warning
-- params:
--   min_dead_pct: 20
--   min_dead_tuples: 1000
-- sentence: "{table} carries {dead_tuples:# dead row} ({dead_pct}% of its rows); last vacuumed: {last_any_vacuum}"
-- tier: risk
-- harm: {metric: dead_tuples, unit: rows}
-- label: "{dead_tuples:# dead row}"
-- section: "Maintenance"
-- fixes: [VacuumStmt]
-- ---
-- Dead rows (deleted or updated versions no transaction can see any more) waiting for VACUUM:
-- n_dead_tup against live + dead, with the last manual and automatic vacuum. Counts come from
-- the statistics collector and are estimates between vacuums.
SELECT s.schemaname                              AS schema,
       s.relname                                 AS "table",
       format('%s dead rows (%s%% of %s); last vacuum %s', s.n_dead_tup,
              round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1),
              s.n_live_tup + s.n_dead_tup,
              coalesce(greatest(s.last_vacuum, s.last_autovacuum)::text, 'never')) AS detail,
       s.n_dead_tup                              AS dead_tuples,
       s.n_live_tup                              AS live_tuples,
       round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1) AS dead_pct,
       s.last_vacuum,
       s.last_autovacuum,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_any_vacuum,
       s.autovacuum_count,
       '-- VACUUM frees the dead rows for reuse; it takes no lock that blocks reads or writes.' || E'\n' ||
       format('VACUUM (ANALYZE) %I.%I;', s.schemaname, s.relname) AS fix
FROM pg_stat_user_tables s
WHERE s.n_dead_tup >= :min_dead_tuples
  AND 100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0) >= :min_dead_pct
ORDER BY s.n_dead_tup DESC, schema, "table"
