-- ---
-- id: partitioning_candidates
-- title: Large, growing tables with a time column to partition on
-- area: schema
-- severity: info
-- params:
--   min_table_bytes: 10737418240
-- sentence: "{table} ({table_bytes}, {rows:# row}) could be partitioned by {time_column}"
-- tier: latent
-- harm: {metric: table_bytes, unit: bytes}
-- label: "partitioning candidate"
-- section: "Tables that will outgrow one heap"
-- ---
-- Unpartitioned tables of at least `min_table_bytes` (10 GB) with a date/timestamp column
-- (preferring created/inserted/occurred-style names, then an indexed one): queries that filter on
-- it could prune partitions, and old partitions can be detached instead of deleted. Growth is the
-- rows inserted since the statistics were reset, per day.
WITH t AS (
    SELECT c.oid, n.nspname, c.relname, greatest(c.reltuples, 0)::bigint AS rows,
           pg_total_relation_size(c.oid) AS table_bytes, s.n_tup_ins,
           extract(epoch FROM now() - d.stats_reset) / 86400 AS days
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    CROSS JOIN (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) d
    WHERE c.relkind = 'r' AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
      AND pg_total_relation_size(c.oid) >= :min_table_bytes
)
SELECT t.nspname                                 AS schema,
       t.relname                                 AS "table",
       format('%s, %s rows; partition key candidate: %s', pg_size_pretty(t.table_bytes), t.rows, tc.attname) AS detail,
       t.table_bytes,
       t.rows,
       tc.attname                                AS time_column,
       t.n_tup_ins                               AS inserted_since_stats_reset,
       round((t.n_tup_ins / nullif(t.days, 0))::numeric) AS inserted_per_day
FROM t
CROSS JOIN LATERAL (
    SELECT a.attname
    FROM pg_attribute a
    WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
      AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)
    ORDER BY (a.attname ~* '(created|inserted|occurred|logged|event|recorded)') DESC,
             EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indkey[0] = a.attnum) DESC, a.attnum
    LIMIT 1
) tc
ORDER BY t.table_bytes DESC, schema, "table"
