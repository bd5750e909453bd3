-- ---
-- id: check_constraint_candidates
-- title: Amounts, prices, balances and counts that nothing keeps from going negative
-- area: schema
-- reads: stats
-- severity: info
-- params:
--   min_rows: 100
-- sentence: "{table}.{column} has never been negative ({observed_min} at least) but nothing prevents it"
-- tier: latent
-- harm: {metric: rows, unit: rows}
-- label: "nothing keeps it from going negative"
-- section: "Values nothing validates"
-- fixes: [AlterTableStmt]
-- ---
-- Numeric columns named like amounts, prices, balances, totals, fees, counts, quantities, stock,
-- levels or scores, in tables with at least `min_rows` rows, whose observed values (pg_stats
-- histogram bounds and most common values) are all >= 0, and that no CHECK constraint covers.
WITH cols AS (
    SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type,
           greatest(c.reltuples, 0)::bigint AS rows,
           (SELECT min(CASE WHEN v ~ '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' THEN v::numeric END) FROM unnest(coalesce(s.histogram_bounds::text::text[], '{}') ||
                                              coalesce(s.most_common_vals::text::text[], '{}')) AS v) AS observed_min
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype, 'float4'::regtype,
                         'float8'::regtype, 'money'::regtype)
      AND a.attname ~* '(amount|price|balance|total|fee|cost|count|qty|quantity|stock|level|score|points|paid)'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
)
SELECT nspname                                   AS schema,
       relname                                   AS "table",
       attname                                   AS "column",
       format('%s (%s) is never negative in the data (minimum seen %s) and no CHECK says so', attname, column_type,
              observed_min) AS detail,
       column_type,
       observed_min,
       rows,
       '-- NOT VALID: brief lock, new rows checked at once; VALIDATE then scans without blocking writes.' || E'\n' ||
       format('ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (%I >= 0) NOT VALID;', nspname, relname,
              relname || '_' || attname || '_nonnegative', attname) || E'\n' ||
       format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I;', nspname, relname, relname || '_' || attname || '_nonnegative') AS fix
FROM cols
WHERE rows >= :min_rows AND observed_min >= 0
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = cols.oid AND k.contype = 'c'
                  AND cols.attnum = ANY (k.conkey))
ORDER BY schema, "table", "column"
