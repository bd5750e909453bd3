-- ---
-- id: redundant_indexes
-- title: Indexes whose columns lead another index
-- area: scans
-- severity: info
-- sentence: "{object} on {table} is covered by {covered_by}, whose columns start with the same ones"
-- tier: latent
-- harm: {metric: index_bytes, unit: bytes}
-- label: "redundant index"
-- section: "Indexes that cost without serving"
-- ---
-- A valid, non-unique btree that backs no constraint and has no INCLUDE columns, whose key
-- columns (with their operator classes and collations) are a strict leading prefix of another
-- valid btree on the same table with the same expressions and predicate. The longer index can
-- answer the same lookups; it is slightly bigger, so the shorter one is sometimes kept on purpose.
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indkey::int2[] AS keys, i.indclass::oid[] AS opclasses,
           i.indcollation::oid[] AS collations, i.indnkeyatts, i.indnatts, i.indisunique,
           coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
           coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
           EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) AS backs_constraint
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am    ON am.oid = ic.relam AND am.amname = 'btree'
    JOIN pg_class t  ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
),
pairs AS (
    SELECT DISTINCT ON (a.indexrelid) a.indexrelid, a.indrelid, b.indexrelid AS covering
    FROM idx a
    JOIN idx b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
              AND b.indnkeyatts > a.indnkeyatts
              AND b.keys[0:a.indnkeyatts - 1] = a.keys[0:a.indnkeyatts - 1]
              AND b.opclasses[0:a.indnkeyatts - 1] = a.opclasses[0:a.indnkeyatts - 1]
              AND b.collations[0:a.indnkeyatts - 1] = a.collations[0:a.indnkeyatts - 1]
              AND b.exprs = a.exprs AND b.pred = a.pred
    WHERE NOT a.indisunique AND NOT a.backs_constraint AND a.indnatts = a.indnkeyatts
    ORDER BY a.indexrelid, b.indnkeyatts, b.indexrelid
)
SELECT n.nspname                                AS schema,
       t.relname                                AS "table",
       ic.relname                               AS object,
       format('(%s) is a leading prefix of %s (%s)', array_to_string(ARRAY(
                  SELECT pg_get_indexdef(p.indexrelid, k, true) FROM generate_series(1, ia.indnkeyatts) k), ', '),
              bc.relname, array_to_string(ARRAY(
                  SELECT pg_get_indexdef(p.covering, k, true) FROM generate_series(1, ib.indnkeyatts) k), ', ')) AS detail,
       bc.relname                               AS covered_by,
       pg_relation_size(p.indexrelid)           AS index_bytes,
       coalesce(s.idx_scan, 0)                  AS idx_scan,
       format('-- %s is covered by %s. Check replicas and plans that name it, then:', ic.relname, bc.relname)
           || E'\n' || format('-- DROP INDEX CONCURRENTLY %I.%I;', n.nspname, ic.relname) AS fix
FROM pairs p
JOIN pg_index ia ON ia.indexrelid = p.indexrelid
JOIN pg_index ib ON ib.indexrelid = p.covering
JOIN pg_class ic ON ic.oid = p.indexrelid
JOIN pg_class bc ON bc.oid = p.covering
JOIN pg_class t  ON t.oid = p.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = p.indexrelid
ORDER BY index_bytes DESC, schema, "table", object
