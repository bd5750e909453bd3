-- ---
-- id: seq_scan_hotspots
-- title: Tables read mostly by sequential scans
-- area: scans
-- severity: warning
-- params:
--   min_seq_scans: 1000
--   seq_to_idx_ratio: 2
--   min_table_bytes: 33554432
--   big_table_bytes: 1073741824
-- sentence: "{table} was read in full {seq_scan} times ({seq_tup_read} rows) since {stats_reset}"
-- ---
-- Defaults follow pgx_scripts' needed_indexes: more than 1000 sequential scans, more than
-- twice the index scans, on a table over 32 MB; or any sequential scan of a table over 1 GB.
-- Counters are cumulative since the statistics were last reset (stats_reset).
WITH t AS (
    SELECT s.schemaname, s.relname, s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan,
           pg_relation_size(s.relid) AS table_bytes,
           greatest(c.reltuples, 0)::bigint AS table_rows,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = s.relid) AS has_index
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
)
SELECT t.schemaname                                AS schema,
       t.relname                                   AS "table",
       format('%s sequential scans read %s rows; %s index scans', t.seq_scan, t.seq_tup_read, t.idx_scan) AS detail,
       t.seq_scan,
       t.seq_tup_read,
       t.idx_scan,
       round(100.0 * t.seq_scan / nullif(t.seq_scan + t.idx_scan, 0), 1) AS seq_scan_pct,
       (t.seq_tup_read / nullif(t.seq_scan, 0))::bigint AS avg_rows_per_seq_scan,
       t.table_bytes,
       t.table_rows,
       concat_ws('; ',
           CASE WHEN t.seq_scan >= :min_seq_scans AND t.seq_scan > :seq_to_idx_ratio * t.idx_scan
                     AND t.table_bytes >= :min_table_bytes THEN 'many scans on a large table' END,
           CASE WHEN t.table_bytes >= :big_table_bytes THEN 'big table scanned in full' END,
           CASE WHEN t.idx_scan = 0 THEN 'no index used at all' END,
           CASE WHEN NOT t.has_index THEN 'table has no index' END) AS reason,
       (SELECT d.stats_reset FROM pg_stat_database d WHERE d.datname = current_database()) AS stats_reset
FROM t
WHERE (t.seq_scan >= :min_seq_scans AND t.seq_scan > :seq_to_idx_ratio * t.idx_scan AND t.table_bytes >= :min_table_bytes)
   OR (t.table_bytes >= :big_table_bytes AND t.seq_scan > 0)
ORDER BY t.seq_tup_read DESC, t.schemaname, t.relname
