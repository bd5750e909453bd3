"""Migration lint and drift, table-driven: small migration folders written for each case, applied to
the real server where the case needs a live database. Every rule has a case that fires and a
near miss that must not."""
import json
from dataclasses import dataclass

import psycopg
import pytest

from folders import write
from pgvet.migrations.files import load_migrations

LIVE_USERS = """CREATE TABLE users (id int PRIMARY KEY, note text, n int);
                INSERT INTO users SELECT g, 'n' || g, g FROM generate_series(1, 10) g;
                CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);
                INSERT INTO posts SELECT g, 1 + g % 10 FROM generate_series(1, 7) g;
                INSERT INTO posts VALUES (8, NULL);
                CREATE INDEX users_n ON users (n);"""


@dataclass
class Case:
    name: str
    files: dict                       # file name -> SQL
    expected: dict                    # finding key -> metrics subset (every finding of migration_lint)
    live: str = ""                    # SQL run on the database first


def key(file, line, rule):
    return f"migration_lint:{file}.{line}:{rule}"


CASES = [
    Case("gen_random_uuid on a referenced key: critical, with the exact rows that lose their reference",
         {"V1__ids.sql": "ALTER TABLE users ALTER COLUMN id TYPE uuid USING gen_random_uuid();"},
         {key("V1__ids.sql", 1, "destructive-type-conversion"): dict(
             severity_hint="critical", rows=10, rows_losing_reference=7,
             references_lost="public.posts.user_id: 7 rows", lock="ACCESS EXCLUSIVE (rewrites the table)")},
         LIVE_USERS),
    Case("USING NULL on a plain column: destructive, warning; an explicit cast is only a rewrite",
         {"V1__a.sql": "ALTER TABLE users ALTER COLUMN note TYPE varchar(20) USING NULL;\n"
                       "ALTER TABLE users ALTER COLUMN n TYPE bigint USING n::bigint;"},
         {key("V1__a.sql", 1, "destructive-type-conversion"): dict(severity_hint="warning", rows_losing_reference=0),
          key("V1__a.sql", 2, "changing-column-type"): dict(target_column="n")},
         LIVE_USERS),
    Case("widening a varchar or making it text rewrites nothing; narrowing it does",
         {"V1__a.sql": "CREATE TABLE t (a varchar(20), b varchar(20), c varchar(20));",
          "V2__b.sql": "ALTER TABLE t ALTER COLUMN a TYPE varchar(40);\nALTER TABLE t ALTER COLUMN b TYPE text;\n"
                       "ALTER TABLE t ALTER COLUMN c TYPE varchar(10);"},
         {key("V2__b.sql", 3, "changing-column-type"): dict(target_column="c")}),
    Case("integer to uuid with no USING has no cast; integer to bigint does",
         {"V1__a.sql": "ALTER TABLE posts ALTER COLUMN user_id TYPE uuid;\n"
                       "ALTER TABLE users ALTER COLUMN n TYPE bigint;"},
         {key("V1__a.sql", 1, "type-change-without-mapping"): dict(target_table="public.posts"),
          key("V1__a.sql", 2, "changing-column-type"): dict(target_column="n")},
         LIVE_USERS),
    Case("REFERENCES from integer to uuid is rejected; to bigint is a warning; same type is fine, from the files alone",
         {"0001_init.sql": "CREATE TABLE accounts (id uuid PRIMARY KEY, code bigint UNIQUE);\n"
                           "CREATE TABLE tips (account_id integer REFERENCES accounts(id));\n"
                           "CREATE TABLE fees (account_code integer REFERENCES accounts(code));\n"
                           "CREATE TABLE ok (account_id uuid REFERENCES accounts);"},
         {key("0001_init.sql", 2, "fk-type-mismatch"): dict(severity_hint="critical", target_column="account_id"),
          key("0001_init.sql", 3, "fk-type-mismatch"): dict(severity_hint="warning")}),
    Case("indexes on a table and a column that do not exist; an index on a table made earlier needs CONCURRENTLY",
         {"0001_a.sql": "CREATE TABLE t (a int);", "0002_b.sql": "CREATE INDEX ON nope (a);\nCREATE INDEX ON t (b);\n"
                                                                  "CREATE INDEX ON t (a);\nCREATE INDEX CONCURRENTLY ON t (a);"},
         {key("0002_b.sql", 1, "unknown-relation"): dict(target_table="public.nope"),
          key("0002_b.sql", 2, "unknown-relation"): dict(target_column="b"),
          key("0002_b.sql", 3, "require-concurrent-index-creation"): dict(target_table="public.t")}),
    Case("a new table's indexes need no CONCURRENTLY",
         {"0001_a.sql": "CREATE TABLE t (a int);\nCREATE INDEX ON t (a);\nDROP INDEX CONCURRENTLY IF EXISTS x;"}, {}),
    Case("CONCURRENTLY inside BEGIN fails; DROP INDEX without it locks",
         {"0001_a.sql": "CREATE TABLE t (a int);", "0002_b.sql": "BEGIN;\nCREATE INDEX CONCURRENTLY ON t (a);\nCOMMIT;\n"
                                                                  "DROP INDEX t_a_idx;"},
         {key("0002_b.sql", 2, "concurrently-in-transaction"): dict(severity_hint="critical"),
          key("0002_b.sql", 4, "require-concurrent-index-deletion"): dict(target_column="t_a_idx")}),
    Case("foreign keys and checks on existing tables need NOT VALID",
         {"V2__c.sql": "ALTER TABLE posts ADD FOREIGN KEY (id) REFERENCES users;\n"
                       "ALTER TABLE posts ADD CONSTRAINT p FOREIGN KEY (id) REFERENCES users NOT VALID;\n"
                       "ALTER TABLE users ADD CHECK (n > 0);\n"
                       "ALTER TABLE users ADD CONSTRAINT c CHECK (n > 0) NOT VALID;"},
         {key("V2__c.sql", 1, "adding-foreign-key-constraint"): dict(target_table="public.posts"),
          key("V2__c.sql", 3, "constraint-missing-not-valid"): dict(target_table="public.users")},
         LIVE_USERS),
    Case("required columns, SET NOT NULL, drops, truncate cascade, renames",
         {"V3__d.sql": "ALTER TABLE users ADD COLUMN z int NOT NULL;\n"
                       "ALTER TABLE users ADD COLUMN y int NOT NULL DEFAULT 0;\n"
                       "ALTER TABLE users ALTER COLUMN note SET NOT NULL;\n"
                       "ALTER TABLE users DROP COLUMN note;\n"
                       "ALTER TABLE users DROP COLUMN id;\n"
                       "TRUNCATE users CASCADE;\n"
                       "TRUNCATE posts;\n"
                       "ALTER TABLE users RENAME COLUMN n TO m;\n"
                       "DROP TABLE posts;"},
         {key("V3__d.sql", 1, "adding-required-field"): dict(target_column="z"),
          key("V3__d.sql", 3, "adding-not-nullable-field"): dict(target_column="note"),
          key("V3__d.sql", 4, "ban-drop-column"): dict(target_column="note"),
          key("V3__d.sql", 5, "drop-referenced-column"): dict(severity_hint="critical"),
          key("V3__d.sql", 6, "ban-truncate-cascade"): dict(target_table="public.users"),
          key("V3__d.sql", 8, "renaming-column"): dict(target_column="n"),
          key("V3__d.sql", 9, "ban-drop-table"): dict(target_table="public.posts")},
         LIVE_USERS),
    Case("Drizzle: the journal's order, breakpoints, and CONCURRENTLY inside its transaction",
         {"meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0001_z_tables"}, {"idx": 1, "tag": "0000_a_idx"}]}),
          "0001_z_tables.sql": "CREATE TABLE \"Orders\" (\"Id\" int);\n--> statement-breakpoint\n"
                               "CREATE TABLE items (order_id int);",
          "0000_a_idx.sql": "CREATE INDEX ON items (order_id);\n--> statement-breakpoint\n"
                            "CREATE INDEX CONCURRENTLY ON \"Orders\" (\"Id\");"},
         {key("0000_a_idx.sql", 1, "require-concurrent-index-creation"): dict(target_table="public.items"),
          key("0000_a_idx.sql", 3, "concurrently-in-transaction"): dict(target_table="public.Orders")}),
    Case("a file that does not parse is reported with its line, the next file is still checked",
         {"0001_bad.sql": "CREATE TABLE ok (a int);\n\nCREATE TABLE broken (a int,,);",
          "0002_next.sql": "DROP TABLE gone;"},
         {"migration_lint:0001_bad.sql.3:does-not-parse": dict(rule="does-not-parse"),
          key("0002_next.sql", 1, "ban-drop-table"): dict(target_table="public.gone")}),
    Case("renaming a table, dropping the database",
         {"V4__e.sql": "ALTER TABLE users RENAME TO members;\nDROP DATABASE app;"},
         {key("V4__e.sql", 1, "renaming-table"): dict(target_table="public.users"),
          key("V4__e.sql", 2, "ban-drop-database"): dict(severity_hint="critical")},
         LIVE_USERS),
    Case("a journal that cannot be read: every file is read by name",
         {"meta/_journal.json": "{not json", "0000_a.sql": "DROP TABLE gone;"},
         {"migration_lint:..0:manifest-unreadable": dict(rule="manifest-unreadable"),
          "migration_lint:0000_a.sql.0:not-in-manifest": dict(rule="not-in-manifest"),
          key("0000_a.sql", 1, "ban-drop-table"): dict(target_table="public.gone")}),
    Case("a journal that names a missing file",
         {"meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0000_here"}, {"idx": 1, "tag": "0001_gone"}]}),
          "0000_here.sql": "CREATE TABLE t (a int);"},
         {"migration_lint:0001_gone.sql.0:missing-file": dict(rule="missing-file")}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_migration_lint(db, tmp_path, case):
    if case.live:
        db.sql(case.live)
        db.sql("ANALYZE")
    write(tmp_path, case.files)
    found = db.findings("migration_lint", migrations_dir=str(tmp_path))
    assert sorted(found) == sorted(case.expected)
    for k, expected in case.expected.items():
        expected = dict(expected)
        severity = expected.pop("severity_hint", None)
        assert {m: found[k].metrics.get(m) for m in expected} == expected, k
        if severity:
            assert found[k].severity == severity, k


def test_an_empty_folder_and_a_missing_one_skip_the_check_with_a_reason(db, tmp_path):
    (result,) = db.audit("migration_lint", migrations_dir=str(tmp_path)).checks
    assert (result.status, result.reason) == ("skipped", f"no migration files (*.sql) in {tmp_path}")
    (result,) = db.audit("migration_lint", migrations_dir=str(tmp_path / "nope")).checks
    assert (result.status, result.reason) == ("skipped", f"migrations folder {tmp_path / 'nope'} does not exist")
    # no folder given: nothing was checked, and both checks say so instead of "ok"
    assert {(c.id, c.status, c.reason) for c in db.audit("migrations").checks} == {
        (c, "skipped", "no migrations_dir given (--param migrations_dir=PATH)")
        for c in ("migration_drift", "migration_history", "migration_lint")}


def _apply(db, folder):
    """Apply a migrations folder the way a tool running statement by statement would: failures stay failed."""
    migrations, _ = load_migrations(folder)
    for migration in migrations:
        for stmt in migration.statements:
            try:
                db.sql(stmt.text)
            except psycopg.Error:
                pass


def test_drift_finds_a_rejected_fk_a_column_changed_by_hand_and_a_dropped_index(db, tmp_path):
    write(tmp_path, {
        "0001_init.sql": "CREATE TABLE accounts (id uuid PRIMARY KEY, legacy integer UNIQUE);\n"
                         "CREATE TABLE \"Tips\" (account_id integer, amount integer, memo varchar(20));\n"
                         "ALTER TABLE \"Tips\" ADD FOREIGN KEY (account_id) REFERENCES accounts (id);\n"
                         "CREATE TABLE fine (account uuid REFERENCES accounts);\n"
                         "CREATE INDEX tips_amount ON \"Tips\" (amount);\n"
                         "CREATE INDEX ON \"Tips\" (memo);"})
    _apply(db, tmp_path)
    db.sql('ALTER TABLE "Tips" ALTER COLUMN amount TYPE bigint; DROP INDEX tips_amount; CREATE TABLE extra (x int)')
    found = db.findings("migration_drift", migrations_dir=str(tmp_path))
    assert {k: f.metrics["kind"] for k, f in found.items()} == {
        "migration_drift:public.Tips.account_id": "missing foreign key",
        "migration_drift:public.Tips.amount": "column type",
        "migration_drift:public.Tips.tips_amount": "missing index",
        "migration_drift:tables not in migrations": "tables not in migrations"}
    assert "42804" in found["migration_drift:public.Tips.account_id"].metrics["reason"]
    assert found["migration_drift:public.Tips.amount"].metrics["live_type"] == "bigint"
    assert found["migration_drift:tables not in migrations"].detail.endswith(": public.extra")


def test_no_drift_when_the_database_is_what_the_migrations_meant(db, tmp_path):
    write(tmp_path, {"0001.sql": "CREATE TABLE a (id bigserial PRIMARY KEY, n numeric(10,2), t timestamptz);\n"
                                  "CREATE TABLE b (a_id bigint REFERENCES a, flag bool NOT NULL DEFAULT false);\n"
                                  "CREATE INDEX b_a ON b (a_id);",
                      "0002.sql": "ALTER TABLE b ADD COLUMN note varchar(40);\nALTER TABLE a RENAME COLUMN n TO amount;"})
    _apply(db, tmp_path)
    assert db.findings("migration_drift", migrations_dir=str(tmp_path)) == {}


def test_a_reference_declared_in_a_migration_is_evidence_for_the_references_area(db, tmp_path):
    write(tmp_path, {"0001.sql": "CREATE TABLE ledgers (id int PRIMARY KEY);\n"
                                  "CREATE TABLE entries (id int PRIMARY KEY, book int REFERENCES ledgers);\n"
                                  "CREATE TABLE accounts (id uuid PRIMARY KEY, legacy int UNIQUE);\n"
                                  "CREATE TABLE tips (id int, payer int);\n"
                                  "ALTER TABLE tips ADD FOREIGN KEY (payer) REFERENCES accounts;"})
    _apply(db, tmp_path)
    db.sql("""ALTER TABLE entries DROP CONSTRAINT entries_book_fkey;   -- dropped by hand
              INSERT INTO ledgers VALUES (1), (2);
              INSERT INTO entries VALUES (1, 1), (2, 2), (3, 9);
              INSERT INTO accounts VALUES (gen_random_uuid(), 5);
              INSERT INTO tips VALUES (1, 5), (2, 6); ANALYZE;""")
    run = db.audit("undeclared_foreign_keys,reference_type_mismatch", migrations_dir=str(tmp_path))
    found = {f.key: f.metrics for f in run.findings}
    assert set(found) == {"undeclared_foreign_keys:public.entries.book", "reference_type_mismatch:public.tips.payer"}
    assert found["undeclared_foreign_keys:public.entries.book"]["evidence"].startswith("migration: 0001.sql:2")
    assert found["undeclared_foreign_keys:public.entries.book"]["orphans"] == 1
    tips = found["reference_type_mismatch:public.tips.payer"]
    assert tips["evidence"].startswith("migration: 0001.sql:5")
    assert (tips["non_null"], tips["resolvable_via"], tips["resolvable"]) == (2, "legacy", 1)


def test_every_rule_is_declared_once_documented_and_has_a_case_that_fires():
    from pathlib import Path

    from pgvet.migrations.rules import RULES, rules_table

    doc = (Path(__file__).parents[1] / "queries" / "migrations" / "migration_lint.md").read_text()
    assert rules_table() in doc      # the table in the doc is the one the rules render
    fired = {k.rsplit(":", 1)[1] for c in CASES for k in c.expected}
    folders = (Path(__file__).parent / "test_migration_folders.py").read_text()
    fired |= {r for r in RULES if f":{r}" in folders}
    assert set(RULES) - fired == set(), "rules without a case"
