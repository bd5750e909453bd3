-- ---
-- id: toast_heavy_columns
-- title: Wide jsonb, text and bytea columns
-- area: bloat
-- reads: stats
-- severity: info
-- params:
--   min_avg_width: 512
--   min_toast_bytes: 104857600
-- sentence: "{table}.{column} ({column_type}) averages {avg_width:# byte} per row; the table keeps {toast_bytes} in TOAST"
-- tier: latent
-- harm: {metric: toast_bytes, unit: bytes}
-- label: "wide column ({avg_width:# byte} a row)"
-- section: "Wasted space"
-- ---
-- Variable-width columns that are wide inline (pg_stats avg_width >= `min_avg_width`) or that
-- live in a table whose TOAST relation is large (>= `min_toast_bytes`). pg_stats measures a
-- TOASTed value by its pointer, so for a table with a big TOAST the column widths understate
-- the weight; `toast_bytes` is the table's, not the column's.
WITH cols AS (
    SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type,
           s.avg_width, s.null_frac, greatest(c.reltuples, 0)::bigint AS table_rows,
           coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast_bytes,
           pg_relation_size(c.oid) AS table_bytes
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                        AND NOT s.inherited
    WHERE c.relkind IN ('r', 'm', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      AND t.typlen = -1
)
SELECT nspname                                   AS schema,
       relname                                   AS "table",
       attname                                   AS "column",
       format('%s averages %s bytes per row over %s rows; table TOAST %s', attname, coalesce(avg_width, 0),
              table_rows, pg_size_pretty(toast_bytes)) AS detail,
       column_type,
       avg_width,
       round((coalesce(avg_width, 0) * table_rows * (1 - coalesce(null_frac, 0)))::numeric) AS inline_bytes_estimate,
       toast_bytes,
       table_bytes,
       table_rows
FROM cols
WHERE coalesce(avg_width, 0) >= :min_avg_width OR toast_bytes >= :min_toast_bytes
ORDER BY toast_bytes + coalesce(avg_width, 0) * table_rows DESC, schema, "table", "column"
