-- ---
-- id: unused_columns
-- title: Columns that are always NULL, hold one constant, or are marked deprecated
-- area: schema
-- reads: stats
-- severity: info
-- params:
--   min_rows: 1000
--   unset_flags: true
-- sentence: "{table}.{column}: {reason}"
-- tier: latent
-- harm: {metric: bytes_estimate, unit: bytes}
-- label: "{reason}"
-- section: "Columns: unused, deprecated, inconsistent"
-- ---
-- From pg_stats after ANALYZE (tables with at least `min_rows` rows): null_frac = 1 (always
-- NULL) or a single distinct value and no NULLs (one constant; a boolean that is always false is a
-- "feature flag never set", left out with unset_flags=false); and, whatever the statistics,
-- columns whose comment calls them deprecated, legacy or obsolete. `statistics` says when the
-- column has none. `bytes_estimate` is avg_width x rows, when known.
WITH cols AS (
    SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type,
           greatest(c.reltuples, 0)::bigint AS rows, col_description(c.oid, a.attnum) AS comment,
           s.null_frac, s.n_distinct, s.avg_width, s.most_common_vals::text AS mcv,
           s.attname IS NOT NULL AS has_stats
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                        AND NOT s.inherited
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
),
flagged AS (
    SELECT cols.*,
           concat_ws('; ',
               CASE WHEN comment ~* '\m(deprecated|legacy|obsolete|unused|do not use|to be (removed|dropped))\M'
                    THEN format('comment says: %s', comment) END,
               CASE WHEN rows >= :min_rows AND null_frac = 1 THEN 'always NULL' END,
               CASE WHEN rows >= :min_rows AND null_frac = 0 AND n_distinct = 1 AND column_type = 'boolean'
                         AND mcv = '{f}'
                    THEN CASE WHEN :unset_flags THEN 'feature flag never set: always false' END
                    WHEN rows >= :min_rows AND null_frac = 0 AND n_distinct = 1
                    THEN CASE WHEN column_type = 'boolean' THEN 'always true'
                              ELSE format('always %s', trim(both '{}' FROM mcv)) END END) AS reason
    FROM cols
)
SELECT nspname                                   AS schema,
       relname                                   AS "table",
       attname                                   AS "column",
       reason                                    AS detail,
       reason,
       column_type,
       rows,
       CASE WHEN has_stats THEN 'present' ELSE 'missing (run ANALYZE)' END AS statistics,
       (avg_width * rows * (1 - coalesce(null_frac, 0)))::bigint AS bytes_estimate,
       '-- ' || reason || E'\n' ||
       '-- Check that no application code, report or job reads or writes it, then:' || E'\n' ||
       format('-- ALTER TABLE %I.%I DROP COLUMN %I;', nspname, relname, attname) AS fix
FROM flagged
WHERE reason <> ''
ORDER BY schema, "table", "column"
