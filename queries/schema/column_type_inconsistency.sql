-- ---
-- id: column_type_inconsistency
-- title: The same reference column name with different types across tables
-- area: schema
-- severity: warning
-- sentence: "{column} is {types}"
-- tier: latent
-- label: "same name, different types"
-- section: "Columns: unused, deprecated, inconsistent"
-- ---
-- Columns named `<something>_id` that have more than one type across user tables (`user_id
-- uuid` here, `user_id integer` there): often the trace of a half-finished id migration. Plain
-- `id` is left out: tables may choose their own key types. `minority` lists the tables whose type
-- is the rarer one.
WITH cols AS (
    SELECT a.attname, format_type(a.atttypid, NULL) AS type, n.nspname || '.' || c.relname AS tbl
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.attname ~ '.+_id$'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
),
by_type AS (
    SELECT attname, type, count(*) AS tables, string_agg(tbl, ', ' ORDER BY tbl) AS names
    FROM cols GROUP BY attname, type
),
ranked AS (
    SELECT b.*, row_number() OVER (PARTITION BY attname ORDER BY tables DESC, type) AS rank,
           count(*) OVER (PARTITION BY attname) AS types
    FROM by_type b
)
SELECT NULL::text                                AS schema,
       NULL::text                                AS "table",
       attname                                   AS "column",
       string_agg(format('%s in %s', type, names), '; ' ORDER BY rank) AS detail,
       string_agg(format('%s (%s tables)', type, tables), ', ' ORDER BY rank) AS types,
       string_agg(names, ', ' ORDER BY rank) FILTER (WHERE rank > 1) AS minority
FROM ranked
WHERE types > 1
GROUP BY attname
ORDER BY attname
