-- ---
-- id: duplicate_indexes
-- title: Indexes identical to another index on the same table
-- area: scans
-- severity: warning
-- sentence: "{object} on {table} duplicates {duplicate_of}: {index_bytes} and a second write on every change"
-- tier: risk
-- harm: {metric: index_bytes, unit: bytes}
-- label: "duplicate index ({index_bytes})"
-- section: "Indexes that cost without serving"
-- ---
-- Identical means: same method, key and INCLUDE columns, operator classes, collations,
-- expressions and predicate. Of each identical group pgvet keeps the index that backs a
-- constraint, then a unique one, then the oldest, and reports the others. A plain index equal
-- to the primary key is the classic case (PgHero's and splinter's textual comparison miss it).
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indkey::text AS keys, i.indclass::text AS opclasses,
           i.indcollation::text AS collations, i.indnkeyatts, ic.relam,
           coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
           coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
           i.indisunique,
           EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) AS backs_constraint
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t  ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
),
pairs AS (
    SELECT DISTINCT ON (a.indexrelid) a.indexrelid, a.indrelid, b.indexrelid AS kept
    FROM idx a
    JOIN idx b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid AND b.relam = a.relam
              AND b.keys = a.keys AND b.indnkeyatts = a.indnkeyatts AND b.opclasses = a.opclasses
              AND b.collations = a.collations AND b.exprs = a.exprs AND b.pred = a.pred
    WHERE NOT a.backs_constraint
      AND (b.backs_constraint, b.indisunique, -b.indexrelid::bigint) > (a.backs_constraint, a.indisunique, -a.indexrelid::bigint)
    ORDER BY a.indexrelid, b.backs_constraint DESC, b.indisunique DESC, b.indexrelid
)
SELECT n.nspname                                AS schema,
       t.relname                                AS "table",
       ic.relname                               AS object,
       format('%s is identical to %s', ic.relname, kc.relname) AS detail,
       kc.relname                               AS duplicate_of,
       pg_relation_size(p.indexrelid)           AS index_bytes,
       coalesce(s.idx_scan, 0)                  AS idx_scan,
       pg_get_indexdef(p.indexrelid)            AS definition,
       format('-- %s is identical to %s, which stays. Replicas use the same indexes; check that no',
              ic.relname, kc.relname) || E'\n' ||
       '-- query plan or hint names it explicitly, then:' || E'\n' ||
       format('-- DROP INDEX CONCURRENTLY %I.%I;', n.nspname, ic.relname) AS fix
FROM pairs p
JOIN pg_class ic ON ic.oid = p.indexrelid
JOIN pg_class kc ON kc.oid = p.kept
JOIN pg_class t  ON t.oid = p.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = p.indexrelid
ORDER BY index_bytes DESC, schema, "table", object
