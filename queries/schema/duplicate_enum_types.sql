-- ---
-- id: duplicate_enum_types
-- title: Enum types defined twice, and enum labels no row uses
-- area: schema
-- reads: stats
-- severity: info
-- sentence: "{object}: {detail}"
-- tier: latent
-- label: "enum type defined twice"
-- section: "Values nothing validates"
-- ---
-- Pairs of enum types whose labels are the same set, or one a subset of the other; and, when the
-- statistics of every column of a type describe all of its values (most_common_freqs and
-- null_frac add up to 1), the labels no row uses. A type no column uses has all its labels unused.
WITH enums AS (
    SELECT t.oid, n.nspname, t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY t.oid, n.nspname, t.typname
),
dup AS (
    SELECT a.nspname AS schema, a.typname AS object, format('%s.%s', b.nspname, b.typname) AS "column",
           CASE WHEN a.labels @> b.labels AND a.labels <@ b.labels
                THEN format('same labels as %s.%s (%s)', b.nspname, b.typname, array_to_string(a.labels, ', '))
                ELSE format('its labels are a subset of %s.%s (%s of %s)', b.nspname, b.typname,
                            array_to_string(a.labels, ', '), array_to_string(b.labels, ', ')) END AS detail,
           CASE WHEN a.labels @> b.labels THEN 'same labels' ELSE 'subset' END AS kind,
           format('%s.%s', b.nspname, b.typname) AS other_type, NULL::text AS unused_labels
    FROM enums a JOIN enums b ON a.oid <> b.oid AND a.labels <@ b.labels
    WHERE NOT (a.labels @> b.labels) OR a.oid > b.oid      -- equal sets reported once
),
usage AS (
    SELECT e.oid, count(a.attname) AS columns,
           bool_and(coalesce(s.null_frac, 0) + coalesce((SELECT sum(f) FROM unnest(s.most_common_freqs) f), 0)
                    >= 0.999) AS complete,
           array_agg(DISTINCT v) FILTER (WHERE v IS NOT NULL) AS used
    FROM enums e
    LEFT JOIN pg_attribute a ON a.atttypid = e.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
    LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                        AND NOT s.inherited
    LEFT JOIN LATERAL unnest(s.most_common_vals::text::text[]) AS v ON true
    GROUP BY e.oid
),
unused AS (
    SELECT e.nspname AS schema, e.typname AS object, 'unused labels' AS "column",
           CASE WHEN u.columns = 0 THEN format('no column uses this type (%s)', array_to_string(e.labels, ', '))
                ELSE format('no row uses %s', array_to_string(ARRAY(SELECT l FROM unnest(e.labels) l
                                                                   WHERE l <> ALL (coalesce(u.used, '{}'))), ', '))
           END AS detail,
           CASE WHEN u.columns = 0 THEN 'unused type' ELSE 'unused labels' END AS kind,
           NULL::text AS other_type,
           array_to_string(ARRAY(SELECT l FROM unnest(e.labels) l WHERE l <> ALL (coalesce(u.used, '{}'))), ', ')
               AS unused_labels
    FROM enums e JOIN usage u ON u.oid = e.oid
    WHERE (u.columns = 0 OR u.complete) AND NOT e.labels <@ coalesce(u.used, '{}')
)
-- keys read <check>:<schema>.<type>.<other schema>.<other type>, or <check>:<schema>.<type>.unused labels
SELECT schema, object AS "table", "column", detail, kind, other_type, unused_labels FROM dup
UNION ALL
SELECT schema, object, "column", detail, kind, other_type, unused_labels FROM unused
ORDER BY 1, 2, 3 NULLS FIRST
