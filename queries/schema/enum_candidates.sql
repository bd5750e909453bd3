-- ---
-- id: enum_candidates
-- title: Text columns with a handful of values and nothing validating them
-- area: schema
-- reads: stats
-- severity: info
-- params:
--   max_distinct: 10
--   min_rows: 1000
-- sentence: "{table}.{column} only holds {distinct_values} values ({values}) and nothing validates it"
-- tier: latent
-- harm: {metric: rows, unit: rows}
-- label: "values nothing validates"
-- section: "Values nothing validates"
-- fixes: [AlterTableStmt]
-- ---
-- text/varchar columns of tables with at least `min_rows` rows whose pg_stats show between 2 and
-- `max_distinct` distinct values, with no CHECK, foreign key or unique index on the column.
-- `values` are the observed values (most_common_vals).
WITH cols AS (
    SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, greatest(c.reltuples, 0) AS rows,
           CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * greatest(c.reltuples, 0) ELSE s.n_distinct END AS distinct_values,
           s.most_common_vals::text AS mcv
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
)
SELECT nspname                                   AS schema,
       relname                                   AS "table",
       attname                                   AS "column",
       format('%s distinct values: %s', round(distinct_values), trim(both '{}' FROM mcv)) AS detail,
       round(distinct_values)::int               AS distinct_values,
       trim(both '{}' FROM mcv)                  AS values,
       rows::bigint                              AS rows,
       '-- Validate the values (NOT VALID: brief lock, then VALIDATE scans without blocking writes);' || E'\n' ||
       '-- or CREATE TYPE ... AS ENUM if the set is stable.' || E'\n' ||
       format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (%I IN (%s)) NOT VALID;', nspname, relname,
              relname || '_' || attname || '_check', attname,
              (SELECT string_agg(quote_literal(v), ', ' ORDER BY v)
               FROM unnest(mcv::text[]) AS v)) || E'\n' ||
       format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I;', nspname, relname, relname || '_' || attname || '_check') AS fix
FROM cols
WHERE rows >= :min_rows AND distinct_values BETWEEN 2 AND :max_distinct AND mcv IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = cols.oid AND k.contype IN ('c', 'f', 'u', 'p')
                  AND cols.attnum = ANY (k.conkey))
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cols.oid AND i.indisunique
                  AND cols.attnum = ANY (i.indkey::int2[]))
ORDER BY schema, "table", "column"
