-- ---
-- id: untrusted_foreign_keys
-- title: Foreign keys PostgreSQL does not enforce on existing rows
-- area: references
-- severity: warning
-- sentence: "{schema}.{table}.{column} -> {referenced_table} is declared but not enforced ({reason})"
-- tier: live
-- label: "foreign key not enforced"
-- section: "References nothing enforces"
-- fixes: [AlterTableStmt]
-- ---
-- NOT VALID constraints (never validated: old rows were not checked) and constraints whose RI
-- triggers are disabled or fire only in replica mode (new rows are not checked either).
SELECT n.nspname                                AS schema,
       c.relname                                AS "table",
       cols.names                               AS "column",
       con.conname                              AS object,
       concat_ws('; ', CASE WHEN NOT con.convalidated THEN 'NOT VALID: existing rows were never checked' END,
                 CASE WHEN trg.names IS NOT NULL
                      THEN format('RI triggers disabled on %s: new rows are not checked', trg.tables) END) AS detail,
       concat_ws(', ', CASE WHEN NOT con.convalidated THEN 'not valid' END,
                 CASE WHEN trg.names IS NOT NULL THEN 'triggers disabled' END) AS reason,
       format('%s.%s', pn.nspname, pc.relname)  AS referenced_table,
       trg.names                                AS disabled_triggers,
       concat_ws(E'\n', format('-- %s.%s(%s) -> %s.%s: count and clean up its orphans first (orphaned_rows), then:',
                                n.nspname, c.relname, cols.names, pn.nspname, pc.relname),
                 CASE WHEN NOT con.convalidated THEN
                      '-- VALIDATE scans under SHARE UPDATE EXCLUSIVE: reads and writes continue.' || E'\n' ||
                      format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I;', n.nspname, c.relname, con.conname) END,
                 CASE WHEN trg.names IS NOT NULL THEN
                      '-- Re-enabling the RI triggers checks new rows only; existing ones stay as they are.' || E'\n' ||
                      trg.enable END) AS fix
FROM pg_constraint con
JOIN pg_class c       ON c.oid = con.conrelid
JOIN pg_namespace n   ON n.oid = c.relnamespace
JOIN pg_class pc      ON pc.oid = con.confrelid
JOIN pg_namespace pn  ON pn.oid = pc.relnamespace
CROSS JOIN LATERAL (
    SELECT string_agg(a.attname, ', ' ORDER BY k.ord) AS names
    FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
) cols
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT tg.tgname, ', ') AS names,
           string_agg(DISTINCT tr.relname, ', ') AS tables,
           string_agg(format('ALTER TABLE %I.%I ENABLE TRIGGER %I;', trn.nspname, tr.relname, tg.tgname), E'\n'
                      ORDER BY tr.relname, tg.tgname) AS enable
    FROM pg_trigger tg JOIN pg_class tr ON tr.oid = tg.tgrelid JOIN pg_namespace trn ON trn.oid = tr.relnamespace
    WHERE tg.tgconstraint = con.oid AND tg.tgenabled IN ('D', 'R')
) trg ON true
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (NOT con.convalidated OR trg.names IS NOT NULL)
ORDER BY n.nspname, c.relname, con.conname
