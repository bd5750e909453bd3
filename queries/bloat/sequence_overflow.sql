-- ---
-- id: sequence_overflow
-- title: Sequences and identity columns close to the maximum of their column's type
-- area: bloat
-- severity: warning
-- params:
--   warn_pct: 75
--   critical_pct: 90
-- sentence: "{table}.{column} has used {used_pct}% of its {column_type} range"
-- tier: risk
-- harm: {metric: used_pct, unit: "% of the range", total: max}
-- label: "{used_pct}% of its range used"
-- section: "Headroom"
-- fixes: [AlterTableStmt]
-- ---
-- For each sequence that feeds a column (serial, identity, or a DEFAULT nextval()), the last
-- value against the maximum of the COLUMN's type (an int4 column fed by a bigint sequence
-- counts, the case check_postgres misses) and of the sequence itself, whichever comes first.
-- Sequences feeding no column are compared with their own maximum.
WITH feeds AS (
    -- identity columns: the sequence depends on the column directly
    SELECT d.objid AS seqid, d.refobjid AS relid, d.refobjsubid AS attnum
    FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      AND d.refobjsubid > 0
    UNION
    -- DEFAULT nextval('seq'): the column default depends on the sequence
    SELECT d.refobjid, ad.adrelid, ad.adnum
    FROM pg_depend d
    JOIN pg_attrdef ad ON ad.oid = d.objid
    WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
),
seqs AS (
    SELECT s.schemaname, s.sequencename, s.last_value, s.max_value, s.increment_by, c.oid AS seqid
    FROM pg_sequences s
    JOIN pg_namespace n ON n.nspname = s.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
    WHERE s.last_value IS NOT NULL AND s.increment_by > 0
),
limits AS (
    SELECT q.*, f.relid, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type,
           least(q.max_value::numeric, CASE a.atttypid WHEN 'int2'::regtype THEN 32767
                                                       WHEN 'int4'::regtype THEN 2147483647
                                                       ELSE 9223372036854775807 END) AS effective_max,
           CASE WHEN a.atttypid IN ('int2'::regtype, 'int4'::regtype)
                     AND q.max_value > CASE a.atttypid WHEN 'int2'::regtype THEN 32767 ELSE 2147483647 END
                THEN 'column type' ELSE 'sequence' END AS limited_by
    FROM seqs q
    LEFT JOIN feeds f ON f.seqid = q.seqid
    LEFT JOIN pg_attribute a ON a.attrelid = f.relid AND a.attnum = f.attnum
)
SELECT coalesce(n.nspname, l.schemaname)         AS schema,
       coalesce(c.relname, l.sequencename)       AS "table",
       l.attname                                 AS "column",
       l.sequencename                            AS object,
       format('%s is at %s of %s (%s%%, limited by the %s)', l.sequencename, l.last_value, l.effective_max,
              round(100.0 * l.last_value / l.effective_max, 1), l.limited_by) AS detail,
       CASE WHEN 100.0 * l.last_value / l.effective_max >= :critical_pct THEN 'critical' ELSE 'warning' END AS severity,
       l.last_value,
       l.effective_max                           AS max_value,
       round(100.0 * l.last_value / l.effective_max, 1) AS used_pct,
       l.column_type,
       l.limited_by,
       CASE WHEN l.limited_by = 'column type' THEN
           '-- Widen the column before it runs out (rewrites the table under ACCESS EXCLUSIVE; on a large' || E'\n' ||
           '-- table add a bigint column, backfill in batches and swap), and every column that references it:' || E'\n' ||
           format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE bigint;', n.nspname, c.relname, l.attname)
       ELSE format('ALTER SEQUENCE %I.%I AS bigint MAXVALUE 9223372036854775807;', l.schemaname, l.sequencename)
       END                                       AS fix
FROM limits l
LEFT JOIN pg_class c ON c.oid = l.relid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE 100.0 * l.last_value / l.effective_max >= :warn_pct
ORDER BY used_pct DESC, schema, "table"
