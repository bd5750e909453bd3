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
-- sentence: "{table} was read in full {seq_scan:# time} ({seq_tup_read:# row}) since {stats_reset}"
-- tier: risk
-- harm: {metric: seq_tup_read, unit: "rows read", cumulative: true}
-- label: "read in full {seq_scan:# time}"
-- section: "Where whole tables are read"
-- ---
-- Defaults follow pgx_scripts' needed_indexes: more than 1000 sequential scans, more than
-- twice the index scans, on a table over 32 MB; or any sequential scan of a table over 1 GB.
-- Counters are cumulative since the statistics were last reset (stats_reset, stats_age_days) and
-- per server; partitions are summed into their partitioned table.
WITH per_relation AS (
    -- partitions are rolled up to their root: a DBA indexes the partitioned table
    SELECT coalesce(pg_partition_root(s.relid), s.relid) AS root, s.relid, s.seq_scan, s.seq_tup_read,
           coalesce(s.idx_scan, 0) AS idx_scan, pg_relation_size(s.relid) AS bytes,
           greatest(c.reltuples, 0) AS rows,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = s.relid) AS has_index
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
),
t AS (
    SELECT n.nspname AS schemaname, c.relname, sum(r.seq_scan)::bigint AS seq_scan,
           sum(r.seq_tup_read)::bigint AS seq_tup_read, sum(r.idx_scan)::bigint AS idx_scan,
           sum(r.bytes)::bigint AS table_bytes, sum(r.rows)::bigint AS table_rows,
           bool_or(r.has_index) AS has_index, count(*) FILTER (WHERE r.relid <> r.root) AS partitions
    FROM per_relation r
    JOIN pg_class c ON c.oid = r.root
    JOIN pg_namespace n ON n.oid = c.relnamespace
    GROUP BY n.nspname, c.relname
),
db AS (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database())
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
       t.partitions,
       db.stats_reset,
       round((extract(epoch FROM now() - db.stats_reset) / 86400)::numeric, 1) AS stats_age_days
FROM t CROSS JOIN db
WHERE (t.seq_scan >= :min_seq_scans AND t.seq_scan > :seq_to_idx_ratio * t.idx_scan AND t.table_bytes >= :min_table_bytes)
   OR (t.table_bytes >= :big_table_bytes AND t.seq_scan > 0)
ORDER BY t.seq_tup_read DESC, t.schemaname, t.relname
