"""
---
id: table_bloat
title: Tables with wasted space (statistical estimate, exact on demand)
area: bloat
reads: stats
severity: warning
params:
  min_table_bytes: 1048576
  warn_pct: 40
  critical_pct: 90
  exact_bloat: false
  exact_min_bytes: 1048576
sentence: "{table} wastes about {wasted_bytes} ({bloat_pct}% of its heap)"
tier: risk
harm: {metric: wasted_bytes, unit: bytes}
label: "{wasted_bytes} wasted"
section: "Wasted space"
fixes: [VacuumStmt]
---
Estimate in the style of ioguix/pgsql-bloat-estimation (ESTIMATE below): the expected heap size
from reltuples and pg_stats column widths (tuple header, null bitmap, alignment, item pointers,
page header, fillfactor) compared with relpages. Waste excludes the fillfactor reserve. Heap
only; TOAST is reported separately. Needs ANALYZE; `confidence` says how far to trust it.
With `exact_bloat`, pgstattuple_approx measures the flagged tables above `exact_min_bytes`.
"""
from pgvet.bloat import estimate_and_measure

ESTIMATE = r"""
WITH const AS (
    SELECT current_setting('block_size')::numeric AS bs, 24 AS page_hdr, 23 AS tuple_hdr, 8 AS ma, 4 AS item_id
),
tbl AS (
    SELECT c.oid, n.nspname, c.relname, c.relpages, c.reltuples, c.reltoastrelid,
           coalesce((SELECT substring(o FROM 'fillfactor=(\d+)')::int
                     FROM unnest(c.reloptions) AS o WHERE o LIKE 'fillfactor=%'), 100) AS fillfactor
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast'
      AND c.reltuples >= 0
      AND c.relpages::numeric * current_setting('block_size')::numeric >= :min_table_bytes
),
cols AS (
    SELECT t.oid,
           count(*)                                                       AS natts,
           count(s.attname)                                               AS natts_with_stats,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0))::numeric AS data_width,
           bool_or(coalesce(s.null_frac, 0) > 0)                          AS has_nulls
    FROM tbl t
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats s ON s.schemaname = t.nspname AND s.tablename = t.relname
                        AND s.attname = a.attname AND NOT s.inherited
    GROUP BY t.oid
),
est AS (
    SELECT t.*, cols.natts, cols.natts_with_stats, k.bs,
           -- header + null bitmap, then data, each padded to MAXALIGN, plus the line pointer
           ceil((k.tuple_hdr + CASE WHEN cols.has_nulls THEN ceil(cols.natts / 8.0) ELSE 0 END) / k.ma) * k.ma
             + ceil(cols.data_width / k.ma) * k.ma + k.item_id AS tuple_bytes,
           k.bs - k.page_hdr AS usable
    FROM tbl t JOIN cols ON cols.oid = t.oid CROSS JOIN const k
),
calc AS (
    SELECT e.*,
           ceil(e.reltuples::numeric / greatest(floor(e.usable * e.fillfactor / 100.0 / e.tuple_bytes), 1)) AS expected_pages
    FROM est e
),
res AS (
    SELECT c.*, st.n_mod_since_analyze, st.n_dead_tup, st.last_analyze, st.last_autoanalyze,
           greatest(c.relpages - c.expected_pages, 0) * c.bs AS wasted_bytes,
           round(100.0 * greatest(c.relpages - c.expected_pages, 0) / nullif(c.relpages, 0), 1) AS bloat_pct
    FROM calc c
    LEFT JOIN pg_stat_all_tables st ON st.relid = c.oid
)
SELECT oid, bs AS block_size, nspname AS schema,
       relname AS "table",
       format('about %s wasted (%s%% of %s)', pg_size_pretty(wasted_bytes), bloat_pct,
              pg_size_pretty(relpages * bs)) AS detail,
       CASE WHEN bloat_pct >= :critical_pct THEN 'critical' ELSE 'warning' END AS severity,
       (relpages * bs)::bigint            AS table_bytes,
       (expected_pages * bs)::bigint      AS expected_bytes,
       wasted_bytes::bigint               AS wasted_bytes,
       bloat_pct,
       fillfactor,
       reltuples::bigint                  AS live_rows_estimate,
       n_dead_tup                         AS dead_tuples,
       coalesce(pg_relation_size(nullif(reltoastrelid, 0)), 0) AS toast_bytes,
       CASE WHEN natts_with_stats < natts THEN 'low'
            WHEN n_mod_since_analyze > 0.2 * greatest(reltuples, 1) THEN 'medium'
            ELSE 'high' END               AS confidence,
       concat_ws('; ',
           CASE WHEN natts_with_stats < natts
                THEN format('%s of %s columns have no statistics (run ANALYZE)', natts - natts_with_stats, natts) END,
           CASE WHEN n_mod_since_analyze > 0.2 * greatest(reltuples, 1)
                THEN format('%s rows changed since the last ANALYZE', n_mod_since_analyze) END,
           CASE WHEN coalesce(pg_relation_size(nullif(reltoastrelid, 0)), 0) > relpages * bs
                THEN 'most data lives in TOAST: the estimate is weak' END) AS confidence_note,
       '-- VACUUM makes the space reusable without blocking reads or writes; it does not shrink the file.' || E'\n' ||
       format('VACUUM (ANALYZE) %I.%I;', nspname, relname) || E'\n' ||
       '-- To give the space back to the operating system, one of (commented out on purpose):' || E'\n' ||
       format('-- VACUUM FULL %I.%I;  -- rewrites the table under ACCESS EXCLUSIVE: no reads or writes meanwhile',
              nspname, relname) || E'\n' ||
       format('-- pg_repack --table=%s  -- rewrites it online (extension pg_repack); brief locks at start and end',
              quote_ident(nspname) || '.' || quote_ident(relname)) AS fix
FROM res
WHERE bloat_pct >= :warn_pct
ORDER BY wasted_bytes DESC, schema, "table"
"""


def findings(ctx):
    return estimate_and_measure(ctx, ESTIMATE, "table")
