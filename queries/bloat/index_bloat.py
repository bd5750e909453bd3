"""
---
id: index_bloat
title: B-tree indexes with wasted space (statistical estimate, exact on demand)
area: bloat
reads: stats
severity: warning
params:
  min_index_bytes: 1048576
  warn_pct: 40
  critical_pct: 90
  exact_bloat: false
  exact_min_bytes: 1048576
sentence: "{object} on {table} wastes about {wasted_bytes} ({bloat_pct}% of the index)"
tier: risk
harm: {metric: wasted_bytes, unit: bytes}
label: "{wasted_bytes} wasted"
section: "Wasted space"
fixes: [ReindexStmt]
---
Expected size of each valid, non-partial btree from the table's reltuples and the indexed
columns' pg_stats widths (8-byte index tuple header, null bitmap, MAXALIGN, 4-byte line pointer,
page header and btree special space, leaf fillfactor 90 by default), against relpages (ESTIMATE
below, after ioguix's btree query). Waste excludes the fillfactor reserve. Expression columns
have no statistics here and lower the confidence. With `exact_bloat`, pgstatindex measures the
flagged indexes above `exact_min_bytes`.
"""
from pgvet.bloat import estimate_and_measure

ESTIMATE = """
WITH const AS (
    SELECT current_setting('block_size')::numeric AS bs, 24::numeric AS page_hdr, 16::numeric AS special,
           8::numeric AS ma, 4::numeric AS item_id,
           8::numeric AS tuple_hdr
),
idx AS (
    SELECT i.indexrelid, i.indrelid, n.nspname, t.relname AS table_name, ic.relname AS index_name,
           ic.relpages, greatest(t.reltuples, 0)::numeric AS reltuples, i.indkey,
           coalesce((SELECT substring(o FROM 'fillfactor=(\\d+)')::int
                     FROM unnest(ic.reloptions) AS o WHERE o LIKE 'fillfactor=%'), 90) AS fillfactor
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am    ON am.oid = ic.relam AND am.amname = 'btree'
    JOIN pg_class t  ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE i.indisvalid AND i.indpred IS NULL AND t.reltuples >= 0
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      AND ic.relpages::numeric * current_setting('block_size')::numeric >= :min_index_bytes
),
cols AS (
    SELECT x.indexrelid,
           count(*)                                                          AS natts,
           count(s.attname)                                                  AS natts_with_stats,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0))::numeric AS data_width,
           bool_or(coalesce(s.null_frac, 0) > 0)                             AS has_nulls
    FROM idx x
    CROSS JOIN LATERAL unnest(x.indkey::int2[]) AS k(attnum)
    LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0
    LEFT JOIN pg_stats s ON s.schemaname = x.nspname AND s.tablename = x.table_name
                        AND s.attname = a.attname AND NOT s.inherited
    GROUP BY x.indexrelid
),
calc AS (
    SELECT x.*, c.natts, c.natts_with_stats, k.bs,
           ceil(x.reltuples * (k.item_id + ceil((k.tuple_hdr + CASE WHEN c.has_nulls THEN 4 ELSE 0 END) / k.ma) * k.ma
                               + ceil(c.data_width / k.ma) * k.ma)
                / ((k.bs - k.page_hdr - k.special) * x.fillfactor / 100.0)) + 1 AS expected_pages
    FROM idx x JOIN cols c ON c.indexrelid = x.indexrelid CROSS JOIN const k
),
res AS (
    SELECT c.*, st.n_mod_since_analyze,
           greatest(c.relpages - c.expected_pages, 0) * c.bs AS wasted_bytes,
           round(100.0 * greatest(c.relpages - c.expected_pages, 0) / nullif(c.relpages, 0), 1) AS bloat_pct
    FROM calc c
    LEFT JOIN pg_stat_all_tables st ON st.relid = c.indrelid
)
SELECT indexrelid AS oid, bs AS block_size,
       nspname                          AS schema,
       table_name                       AS "table",
       index_name                       AS object,
       format('about %s wasted (%s%% of %s)', pg_size_pretty(wasted_bytes), bloat_pct,
              pg_size_pretty(relpages * bs)) AS detail,
       CASE WHEN bloat_pct >= :critical_pct THEN 'critical' ELSE 'warning' END AS severity,
       (relpages * bs)::bigint          AS index_bytes,
       (expected_pages * bs)::bigint    AS expected_bytes,
       wasted_bytes::bigint             AS wasted_bytes,
       bloat_pct,
       fillfactor,
       CASE WHEN natts_with_stats < natts THEN 'low'
            WHEN n_mod_since_analyze > 0.2 * greatest(reltuples, 1) THEN 'medium'
            ELSE 'high' END             AS confidence,
       concat_ws('; ',
           CASE WHEN natts_with_stats < natts
                THEN format('%s of %s columns have no statistics (expressions, or run ANALYZE)',
                            natts - natts_with_stats, natts) END,
           CASE WHEN n_mod_since_analyze > 0.2 * greatest(reltuples, 1)
                THEN format('%s rows changed since the last ANALYZE', n_mod_since_analyze) END) AS confidence_note,
       '-- Rebuilds the index beside the old one; reads and writes continue (PostgreSQL 12+).' || E'\\n' ||
       format('REINDEX INDEX CONCURRENTLY %I.%I;', nspname, index_name) AS fix
FROM res
WHERE bloat_pct >= :warn_pct
ORDER BY wasted_bytes DESC, schema, "table", object
"""


def findings(ctx):
    return estimate_and_measure(ctx, ESTIMATE, "index")
