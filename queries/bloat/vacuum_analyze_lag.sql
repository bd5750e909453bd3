-- ---
-- id: vacuum_analyze_lag
-- title: Tables whose vacuum or analyze is overdue, or switched off
-- area: bloat
-- severity: warning
-- params:
--   overdue_factor: 2
-- sentence: "{table}: {reason}"
-- tier: risk
-- harm: {metric: dead_tuples, unit: rows}
-- label: "vacuum or analyze overdue"
-- section: "Maintenance"
-- fixes: [AlterTableStmt, VacuumStmt]
-- ---
-- Server-wide causes are one finding for the server ("whole server"), not one per table: autovacuum
-- off, track_counts off (autovacuum then cannot see what needs it). Per table, for tables with
-- rows: autovacuum disabled on the table; never analysed; changes since
-- the last ANALYZE beyond `overdue_factor` times autovacuum's own analyze trigger
-- (autovacuum_analyze_threshold + scale_factor × rows); dead rows beyond `overdue_factor` times
-- its vacuum trigger. Triggers use the table's own autovacuum settings when it has them.
WITH t AS (
    SELECT s.relid, s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
           greatest(c.reltuples, 0) AS reltuples,
           greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuumed,
           greatest(s.last_analyze, s.last_autoanalyze) AS last_analyzed,
           coalesce((SELECT o FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum_enabled=%') IN
                    ('autovacuum_enabled=false', 'autovacuum_enabled=off'), false) AS autovacuum_off,
           (SELECT substring(o FROM '=(.*)')::numeric FROM unnest(c.reloptions) o
             WHERE o LIKE 'autovacuum_vacuum_threshold=%') AS vac_thr,
           (SELECT substring(o FROM '=(.*)')::numeric FROM unnest(c.reloptions) o
             WHERE o LIKE 'autovacuum_vacuum_scale_factor=%') AS vac_sf,
           (SELECT substring(o FROM '=(.*)')::numeric FROM unnest(c.reloptions) o
             WHERE o LIKE 'autovacuum_analyze_threshold=%') AS an_thr,
           (SELECT substring(o FROM '=(.*)')::numeric FROM unnest(c.reloptions) o
             WHERE o LIKE 'autovacuum_analyze_scale_factor=%') AS an_sf
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
    WHERE c.relkind = 'r'
),
g AS (
    SELECT current_setting('autovacuum')::bool AS autovacuum_on,
           current_setting('autovacuum_vacuum_threshold')::numeric AS vac_thr,
           current_setting('autovacuum_vacuum_scale_factor')::numeric AS vac_sf,
           current_setting('autovacuum_analyze_threshold')::numeric AS an_thr,
           current_setting('autovacuum_analyze_scale_factor')::numeric AS an_sf
),
r AS (
    SELECT t.*, g.autovacuum_on,
           coalesce(t.vac_thr, g.vac_thr) + coalesce(t.vac_sf, g.vac_sf) * t.reltuples AS vacuum_trigger,
           coalesce(t.an_thr, g.an_thr) + coalesce(t.an_sf, g.an_sf) * t.reltuples AS analyze_trigger
    FROM t CROSS JOIN g
),
reasons AS (
    SELECT r.*, concat_ws('; ',
        CASE WHEN r.autovacuum_off THEN 'autovacuum is disabled on this table' END,
        CASE WHEN r.last_analyzed IS NULL AND r.n_live_tup + r.n_mod_since_analyze > 0 THEN 'never analysed' END,
        CASE WHEN r.last_analyzed IS NOT NULL AND r.n_mod_since_analyze > :overdue_factor * r.analyze_trigger
             THEN format('%s rows changed since the last ANALYZE (autovacuum would analyse at %s)',
                         r.n_mod_since_analyze, round(r.analyze_trigger)) END,
        CASE WHEN r.n_dead_tup > :overdue_factor * r.vacuum_trigger
             THEN format('%s dead rows (autovacuum would vacuum at %s)', r.n_dead_tup, round(r.vacuum_trigger)) END
    ) AS reason
    FROM r
),
server AS (
    SELECT reason FROM (VALUES
        (CASE WHEN NOT current_setting('autovacuum')::bool THEN 'autovacuum is off for the whole server: no table '
              'is vacuumed or analysed unless someone runs VACUUM by hand (autovacuum = on in postgresql.conf)' END),
        (CASE WHEN NOT current_setting('track_counts')::bool THEN 'track_counts is off: autovacuum cannot tell which '
              'tables need it, and the row counts every table check reads stay empty' END)) v(reason)
    WHERE reason IS NOT NULL
),
rows AS (
    SELECT schemaname                              AS schema,
           relname                                 AS "table",
           reason                                  AS detail,
           reason,
           autovacuum_off                          AS autovacuum_disabled,
           last_vacuumed,
           last_analyzed,
           n_mod_since_analyze                     AS changes_since_analyze,
           n_dead_tup                              AS dead_tuples,
           round(vacuum_trigger)                   AS vacuum_trigger,
           round(analyze_trigger)                  AS analyze_trigger,
           concat_ws(E'\n',
               CASE WHEN autovacuum_off THEN
                   '-- Autovacuum is off for this table: re-enable it unless a job vacuums it on purpose.' || E'\n' ||
                   format('ALTER TABLE %I.%I RESET (autovacuum_enabled);', schemaname, relname) END,
               '-- VACUUM and ANALYZE take no lock that blocks reads or writes.',
               format('VACUUM (ANALYZE) %I.%I;', schemaname, relname)) AS fix,
           1 AS scope
    FROM reasons
    WHERE reason <> ''
    UNION ALL
    SELECT NULL, 'whole server', reason, reason, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0
    FROM server
)
SELECT schema, "table", detail, reason, autovacuum_disabled, last_vacuumed, last_analyzed, changes_since_analyze,
       dead_tuples, vacuum_trigger, analyze_trigger, fix
FROM rows
ORDER BY scope, autovacuum_disabled DESC, dead_tuples DESC, schema, "table"
