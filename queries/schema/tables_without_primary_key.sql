-- ---
-- id: tables_without_primary_key
-- title: Tables without a primary key
-- area: schema
-- severity: warning
-- sentence: "{table} has no primary key ({rows:# row})"
-- tier: risk
-- harm: {metric: rows, unit: rows}
-- label: "no primary key"
-- section: "Keys and constraints"
-- fixes: [AlterTableStmt]
-- ---
-- Ordinary and partitioned tables (not partitions, not extension-owned) with no PRIMARY KEY
-- constraint. `unique_not_null` names a unique index on NOT NULL columns that could become it.
SELECT n.nspname                                AS schema,
       c.relname                                AS "table",
       format('no primary key%s', CASE WHEN u.name IS NOT NULL
                                       THEN format('; unique index %s could become it', u.name) ELSE '' END) AS detail,
       greatest(c.reltuples, 0)::bigint         AS rows,
       pg_total_relation_size(c.oid)            AS table_bytes,
       u.name                                   AS unique_not_null,
       CASE WHEN u.name IS NOT NULL
            THEN '-- Promote the existing unique index (brief ACCESS EXCLUSIVE lock, no scan):' || E'\n' ||
                 format('ALTER TABLE %I.%I ADD PRIMARY KEY USING INDEX %I;', n.nspname, c.relname, u.name)
            ELSE '-- Adding a key column rewrites the table under ACCESS EXCLUSIVE; plan a window:' || E'\n' ||
                 format('-- ALTER TABLE %I.%I ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;',
                        n.nspname, c.relname) END AS fix
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT ic.relname AS name
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
      AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k(attnum) JOIN pg_attribute a
                      ON a.attrelid = c.oid AND a.attnum = k.attnum WHERE NOT a.attnotnull)
    ORDER BY i.indnatts, ic.relname LIMIT 1
) u ON true
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY table_bytes DESC, schema, "table"
