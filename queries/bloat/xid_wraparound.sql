-- ---
-- id: xid_wraparound
-- title: Transaction ID and multixact age approaching wraparound
-- area: bloat
-- severity: warning
-- params:
--   warn_age: 1300000000
--   critical_age: 1400000000
-- sentence: "{object} has a transaction ID age of {xid_age} ({pct_of_limit}% of the way to the wraparound stop)"
-- tier: risk
-- harm: {metric: xid_age, unit: "transaction IDs", total: max}
-- label: "transaction ID age {xid_age}"
-- section: "Headroom"
-- fixes: [VacuumStmt]
-- ---
-- The database and each table: age(datfrozenxid / relfrozenxid) and mxid_age(datminmxid /
-- relminmxid), against `warn_age` / `critical_age` (check_postgres: 1.3 B / 1.4 B) and the hard
-- limit near 2^31 where PostgreSQL stops assigning transaction IDs. `above_freeze_max_age`
-- says autovacuum should already be running an anti-wraparound vacuum on it.
WITH lim AS (
    SELECT 2147483647::numeric AS hard_limit,
           current_setting('autovacuum_freeze_max_age')::numeric AS freeze_max_age,
           current_setting('autovacuum_multixact_freeze_max_age')::numeric AS mxid_freeze_max_age
),
objects AS (
    SELECT NULL::text AS schema, NULL::text AS "table", d.datname::text AS object, 'database' AS kind,
           age(d.datfrozenxid) AS xid_age, mxid_age(d.datminmxid) AS mxid_age
    FROM pg_database d WHERE d.datname = current_database()
    UNION ALL
    SELECT n.nspname, c.relname, NULL, 'table', age(c.relfrozenxid), mxid_age(c.relminmxid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND c.relfrozenxid <> '0'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')   -- the database row covers them
)
SELECT o.schema, o."table", o.object,
       format('%s: transaction ID age %s, multixact age %s (autovacuum_freeze_max_age %s)',
              o.kind, o.xid_age, o.mxid_age, l.freeze_max_age) AS detail,
       CASE WHEN greatest(o.xid_age, o.mxid_age) >= :critical_age THEN 'critical' ELSE 'warning' END AS severity,
       o.kind,
       o.xid_age,
       o.mxid_age,
       round(100.0 * greatest(o.xid_age, o.mxid_age) / l.hard_limit, 1) AS pct_of_limit,
       o.xid_age > l.freeze_max_age OR o.mxid_age > l.mxid_freeze_max_age AS above_freeze_max_age,
       '-- VACUUM (FREEZE) takes no lock that blocks reads or writes, but reads the whole table;' || E'\n' ||
       '-- first look for what holds the horizon back: long transactions, prepared transactions,' || E'\n' ||
       '-- abandoned replication slots.' || E'\n' ||
       CASE WHEN o.kind = 'database' THEN 'VACUUM (FREEZE, VERBOSE);'
            ELSE format('VACUUM (FREEZE, VERBOSE) %I.%I;', o.schema, o."table") END AS fix
FROM objects o CROSS JOIN lim l
WHERE greatest(o.xid_age, o.mxid_age) >= :warn_age
ORDER BY greatest(o.xid_age, o.mxid_age) DESC, o.kind, o.schema, o."table"
