"""Migration folders as real projects keep them: every file read whatever a journal says, the layouts
of the common tools found in a project tree, statements inside DO blocks, files that do not decode,
and files too big to read — each a finding with its file and line, never a silent skip."""
import json
import os
from pathlib import Path

from folders import write
from pgvet.migrations.files import load_sources, parse_migration
from pgvet.migrations.layouts import discover

LIVE = """CREATE TABLE users (id int PRIMARY KEY, note text);
          INSERT INTO users SELECT g, 'n' || g FROM generate_series(1, 10) g;
          CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);
          INSERT INTO posts SELECT g, 1 + g % 10 FROM generate_series(1, 6) g; ANALYZE;"""


def lint(db, folder, **params):
    return {k.removeprefix("migration_lint:"): f for k, f in
            db.findings("migration_lint", migrations_dir=str(folder), **params).items()}


def test_files_the_drizzle_journal_does_not_list_are_read_reported_and_linted(db, tmp_path):
    # the real failure: the journal lists the first migration only; the id conversion was run by hand
    db.sql(LIVE)
    write(tmp_path, {
        "meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0000_init"}, {"idx": 1, "tag": "0001_gone"}]}),
        "0000_init.sql": "CREATE TABLE tags (id int);",
        "0002_uuid.sql": "ALTER TABLE users ALTER COLUMN id TYPE uuid USING gen_random_uuid();\n"
                         "--> statement-breakpoint\nALTER TABLE posts ALTER COLUMN user_id TYPE uuid USING NULL;",
        "0003_idx.sql": "CREATE INDEX ON posts (user_id);"})
    found = lint(db, tmp_path)
    assert {k: f.metrics["rule"] for k, f in found.items()} == {
        "0001_gone.sql.0:missing-file": "missing-file",
        "0002_uuid.sql.0:not-in-manifest": "not-in-manifest",
        "0002_uuid.sql.1:destructive-type-conversion": "destructive-type-conversion",
        "0002_uuid.sql.3:destructive-type-conversion": "destructive-type-conversion",
        "0003_idx.sql.0:not-in-manifest": "not-in-manifest",
        "0003_idx.sql.1:require-concurrent-index-creation": "require-concurrent-index-creation"}
    assert found["0002_uuid.sql.1:destructive-type-conversion"].metrics["rows_losing_reference"] == 6
    assert found["0002_uuid.sql.0:not-in-manifest"].detail.startswith(
        "0002_uuid.sql is not in the Drizzle journal: its tool never applies it")
    assert found["0001_gone.sql.0:missing-file"].detail == \
        "the Drizzle journal names 0001_gone.sql, which does not exist: nothing of it can be checked"
    (result,) = db.audit("migration_lint", migrations_dir=str(tmp_path)).checks
    assert result.notes == ["Migration folders read: ./ (drizzle, 4 files, 2 not in the Drizzle journal)"]


def test_a_tidy_journal_has_no_file_finding(db, tmp_path):
    write(tmp_path, {"meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0000_init"}]}),
                     "0000_init.sql": "CREATE TABLE tags (id int);"})
    assert lint(db, tmp_path) == {}


def test_every_common_layout_is_found_in_a_project_tree_and_archives_are_set_aside(tmp_path):
    write(tmp_path, {
        "0001_loose.sql": "CREATE TABLE loose (id int);",
        "drizzle/meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0000_a"}]}),
        "drizzle/0000_a.sql": "SELECT 1;", "drizzle/0001_b.sql": "SELECT 1;",
        "prisma/migrations/20240102000000_two/migration.sql": "SELECT 1;",
        "prisma/migrations/20240101000000_one/migration.sql": "SELECT 1;",
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"',
        "db/migrations/20240101000000_x.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\nDROP TABLE x;",
        "sqitch/sqitch.plan": "%syntax-version=1.0.0\n%project=app\n\nusers 2024-01-01T00:00:00Z A <a@b> # u\n"
                              "@v1 2024-01-02T00:00:00Z A <a@b>\nposts [users] 2024-01-03T00:00:00Z A <a@b>\n",
        "sqitch/deploy/posts.sql": "SELECT 1;", "sqitch/deploy/users.sql": "SELECT 1;",
        "sqitch/deploy/stray.sql": "SELECT 1;", "sqitch/revert/users.sql": "DROP TABLE users;",
        "flyway/V10__ten.sql": "SELECT 1;", "flyway/V2__two.sql": "SELECT 1;", "flyway/V1.1__one.sql": "SELECT 1;",
        "flyway/R__view.sql": "SELECT 1;", "flyway/U2__undo.sql": "DROP TABLE t;",
        "golang/2_b.up.sql": "SELECT 1;", "golang/10_c.up.sql": "SELECT 1;", "golang/2_b.down.sql": "DROP TABLE b;",
        "supabase/migrations/20240101000000_init.sql": "SELECT 1;",
        "diesel/2024-01-01-000000_init/up.sql": "SELECT 1;", "diesel/2024-01-01-000000_init/down.sql": "SELECT 1;",
        "rails/db/structure.sql": "CREATE TABLE r (id int);",
        "archive/0001_old.sql": "DROP TABLE users;",
        "node_modules/pkg/0001.sql": "DROP TABLE users;",
        ".git/x.sql": "DROP TABLE users;"})
    sources, aside = discover(tmp_path)
    assert [(s.folder, s.layout, [(e.name, e.listed) for e in s.entries]) for s in sources] == [
        (".", "numbered", [("0001_loose.sql", True)]),
        ("db/migrations", "dbmate", [("db/migrations/20240101000000_x.sql", True)]),
        ("diesel", "diesel", [("diesel/2024-01-01-000000_init/up.sql", True)]),
        ("drizzle", "drizzle", [("drizzle/0000_a.sql", True), ("drizzle/0001_b.sql", False)]),
        ("flyway", "flyway", [("flyway/V1.1__one.sql", True), ("flyway/V2__two.sql", True),
                              ("flyway/V10__ten.sql", True), ("flyway/R__view.sql", True)]),
        ("golang", "golang-migrate", [("golang/2_b.up.sql", True), ("golang/10_c.up.sql", True)]),
        ("prisma/migrations", "prisma", [("prisma/migrations/20240101000000_one/migration.sql", True),
                                         ("prisma/migrations/20240102000000_two/migration.sql", True)]),
        ("rails/db", "structure", [("rails/db/structure.sql", True)]),
        ("sqitch", "sqitch", [("sqitch/deploy/users.sql", True), ("sqitch/deploy/posts.sql", True),
                              ("sqitch/deploy/stray.sql", False)]),
        ("supabase/migrations", "supabase", [("supabase/migrations/20240101000000_init.sql", True)])]
    assert aside == [("archive", "an archive folder: old migrations kept for reference"),
                     ("sqitch/revert", "sqitch revert scripts: not applied by deploy")]
    # dbmate: only the up section is a migration
    (_, _, migrations, _) = load_sources(tmp_path / "db")
    assert [s.text for s in migrations[0].statements] == ["SELECT 1"]


def test_statements_inside_do_blocks_and_constant_execute_are_linted_with_their_lines(db, tmp_path):
    db.sql(LIVE)
    write(tmp_path, {"0001_guarded.sql": """-- drizzle-kit's older foreign key wrapper
DO $$ BEGIN
 ALTER TABLE "posts" ADD CONSTRAINT "posts_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id");
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
DO $guard$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attname = 'uid') THEN
    EXECUTE 'ALTER TABLE users ALTER COLUMN id TYPE uuid USING gen_random_uuid()';
    EXECUTE 'ALTER TABLE ' || quote_ident('posts') || ' DROP COLUMN user_id';
  END IF;
END $guard$;
CREATE TABLE wallets (id uuid PRIMARY KEY);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'posts_wallet_fk') THEN
    ALTER TABLE posts ADD CONSTRAINT posts_wallet_fk FOREIGN KEY (user_id) REFERENCES wallets (id) NOT VALID;
  END IF;
END $$;
"""})
    found = lint(db, tmp_path)
    assert {k: f.metrics["rule"] for k, f in found.items()} == {
        "0001_guarded.sql.3:adding-foreign-key-constraint": "adding-foreign-key-constraint",
        "0001_guarded.sql.10:destructive-type-conversion": "destructive-type-conversion",   # line 11 is not constant
        "0001_guarded.sql.17:fk-type-mismatch": "fk-type-mismatch"}     # integer -> uuid, inside IF NOT EXISTS
    assert found["0001_guarded.sql.10:destructive-type-conversion"].metrics["rows_losing_reference"] == 6


def test_a_file_that_does_not_decode_is_a_finding_with_its_line_and_is_still_linted(db, tmp_path):
    write(tmp_path, {"0001_latin1.sql": "CREATE TABLE t (a text);\n-- caf\xe9\n".encode("latin-1") +
                     b"DROP TABLE t;\n", "0002_ok.sql": "DROP TABLE u;"})
    found = lint(db, tmp_path)
    assert {k: f.metrics["line"] for k, f in found.items()} == {
        "0001_latin1.sql.2:does-not-decode": 2, "0001_latin1.sql.3:ban-drop-table": 3, "0002_ok.sql.1:ban-drop-table": 1}
    assert found["0001_latin1.sql.3:ban-drop-table"].metrics["statement"] == "DROP TABLE t"
    assert found["0001_latin1.sql.2:does-not-decode"].detail == \
        "0001_latin1.sql: line 2 is not UTF-8 (byte 0xe9): read with replacement characters"


def test_a_file_that_cannot_be_read_is_a_finding_and_the_others_go_on(db, tmp_path, monkeypatch):
    write(tmp_path, {"0001_locked.sql": "DROP TABLE t;", "0002_ok.sql": "DROP TABLE u;"})
    real = Path.read_bytes

    def refuse(self):    # root reads every file, so the refusal is simulated for this one
        if self.name == "0001_locked.sql":
            raise PermissionError(13, "Permission denied")
        return real(self)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    found = lint(db, tmp_path)
    assert {k: f.detail for k, f in found.items()} == {
        "0001_locked.sql.0:unreadable": "0001_locked.sql cannot be read: Permission denied",
        "0002_ok.sql.1:ban-drop-table": "drops the table and its data"}


def test_a_file_above_the_size_limit_is_reported_and_skipped(db, tmp_path):
    write(tmp_path, {"0001_big.sql": "DROP TABLE t;\n" * 100, "0002_ok.sql": "DROP TABLE u;"})
    found = lint(db, tmp_path, max_file_mb=0.001)
    assert sorted(found) == ["0001_big.sql.0:too-large", "0002_ok.sql.1:ban-drop-table"]
    assert found["0001_big.sql.0:too-large"].detail == \
        "0001_big.sql is 1.4 kB, above the limit of 1.0 kB (max_file_mb): not read"


def test_a_folder_that_cannot_be_listed_skips_both_checks_with_the_reason(db, tmp_path, monkeypatch):
    write(tmp_path, {"0001.sql": "SELECT 1;"})
    real = os.listdir

    def refuse(path="."):   # root reads every folder, so the refusal is simulated for this one path
        if os.fspath(path) == os.fspath(tmp_path):
            raise PermissionError(13, "Permission denied")
        return real(path)
    monkeypatch.setattr(os, "listdir", refuse)
    assert {(c.id, c.status, c.reason) for c in db.audit("migrations", migrations_dir=str(tmp_path)).checks} == {
        (c, "skipped", f"migrations folder {tmp_path} cannot be read: Permission denied")
        for c in ("migration_drift", "migration_history", "migration_lint")}


def test_a_20_mb_file_is_parsed_in_one_pass_with_the_right_last_line():
    # bench/migration_parse.py records the time; here: every statement, and the last one's line
    rows = 230_000
    text = "".join(f"INSERT INTO t (a, b) VALUES ({i}, 'row {i} with some text to make it a real line');\n"
                   for i in range(rows)) + "\n-- the end\nDROP TABLE t;\n"
    assert len(text) > 20_000_000
    migration = parse_migration("big.sql", text, "numbered")
    assert len(migration.statements) == rows + 1
    assert (migration.statements[-1].line, migration.statements[-1].text) == (rows + 3, "DROP TABLE t")
    assert migration.statements[123_456].line == 123_457


def test_rails_structure_sql_is_the_intended_schema_not_a_step(db, tmp_path):
    db.sql(LIVE)
    write(tmp_path, {"db/structure.sql": "CREATE TABLE users (id int PRIMARY KEY, note text);\n"
                                   "CREATE TABLE posts (id int PRIMARY KEY, user_id int);\n"
                                   "ALTER TABLE ONLY posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) "
                                   "REFERENCES users(id);\nCREATE INDEX posts_user ON posts (user_id);"})
    assert lint(db, tmp_path) == {}
    drift = db.findings("migration_drift", migrations_dir=str(tmp_path))
    assert {k: f.metrics["kind"] for k, f in drift.items()} == {"migration_drift:public.posts.posts_user": "missing index"}


IMPACT_LIVE = """CREATE TABLE users (id int PRIMARY KEY, note text, n int, code text, tag text, big int);
    INSERT INTO users SELECT g, CASE WHEN g <= 4 THEN NULL ELSE 'n' END, g - 3,
                             CASE WHEN g <= 2 THEN 'x' || g ELSE g::text END, repeat('t', g),
                             CASE WHEN g <= 3 THEN 40000 + g ELSE g END FROM generate_series(1, 10) g;
    CREATE TABLE posts (id int PRIMARY KEY, user_id int);
    INSERT INTO posts SELECT g, CASE WHEN g <= 2 THEN 100 + g ELSE 1 + g % 10 END FROM generate_series(1, 8) g;
    ANALYZE;"""
IMPACT_FILE = """ALTER TABLE posts ADD FOREIGN KEY (user_id) REFERENCES users;
ALTER TABLE users ADD CHECK (n > 0);
ALTER TABLE users ADD CHECK (pg_sleep(1) IS NOT NULL);
ALTER TABLE users ALTER COLUMN note SET NOT NULL;
ALTER TABLE users ADD COLUMN z int NOT NULL;
ALTER TABLE users ALTER COLUMN code TYPE int USING code::int;
ALTER TABLE users ALTER COLUMN tag TYPE varchar(5);
ALTER TABLE users DROP COLUMN note;
ALTER TABLE users DROP COLUMN never_there;
DROP TABLE posts;
ALTER TABLE users ADD UNIQUE (code);
CREATE UNIQUE INDEX ON users ((n > 0));
ALTER TABLE users ADD CONSTRAINT u UNIQUE (note);
CREATE UNIQUE INDEX users_note ON users (note);
ALTER TABLE users ALTER COLUMN big TYPE smallint;
"""


def test_what_each_risky_statement_would_do_to_todays_rows_is_counted(db, tmp_path):
    db.sql(IMPACT_LIVE)
    write(tmp_path, {"0001_risky.sql": IMPACT_FILE})
    found = lint(db, tmp_path)
    affected = {k: f.metrics.get("rows_affected") for k, f in found.items() if "rows_affected" in f.metrics}
    assert affected == {
        "0001_risky.sql.1:adding-foreign-key-constraint": 2,     # posts 1 and 2 point at users 101, 102
        "0001_risky.sql.2:constraint-missing-not-valid": 3,      # n = -2, -1, 0
        "0001_risky.sql.3:constraint-missing-not-valid": None,   # calls pg_sleep: not run
        "0001_risky.sql.4:adding-not-nullable-field": 4,
        "0001_risky.sql.5:adding-required-field": 10,
        "0001_risky.sql.6:changing-column-type": 2,              # 'x1', 'x2' are no integers
        "0001_risky.sql.7:changing-column-type": 5,              # tags of 6 to 10 characters
        "0001_risky.sql.8:ban-drop-column": 6,
        "0001_risky.sql.10:ban-drop-table": 8,                   # line 9: the column is not there, nothing to lose
        "0001_risky.sql.11:disallowed-unique-constraint": 0,     # every code differs
        "0001_risky.sql.13:disallowed-unique-constraint": 6,     # 'n' six times; NULLs never collide
        "0001_risky.sql.14:require-concurrent-index-creation": 6,  # the same, as a unique index
        "0001_risky.sql.15:changing-column-type": 3}             # 40001-40003 do not fit a smallint
    # line 12: an index on an expression is not counted, the rule still fires
    assert "0001_risky.sql.12:require-concurrent-index-creation" in found
    assert found["0001_risky.sql.1:adding-foreign-key-constraint"].detail.endswith(
        "; today: 2 of today's rows of public.posts have no parent in public.users: adding it validated fails")
    assert "not counted: the CHECK calls a function" in found["0001_risky.sql.3:constraint-missing-not-valid"].detail


def test_statements_of_an_applied_file_are_not_counted_again(db, tmp_path):
    db.sql(IMPACT_LIVE)
    db.sql("CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('0001')")
    write(tmp_path, {"0001_risky.sql": IMPACT_FILE})
    assert [k for k, f in lint(db, tmp_path).items() if "rows_affected" in f.metrics] == []


def test_a_table_above_the_sampling_threshold_gets_an_estimate_with_its_interval(db, tmp_path):
    db.sql("""CREATE TABLE big (id int PRIMARY KEY, note text);
              INSERT INTO big SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'x' END FROM generate_series(1, 4000) g;
              CREATE TABLE kids (id int PRIMARY KEY, big_id int REFERENCES big); ANALYZE;""")
    write(tmp_path, {"0001.sql": "ALTER TABLE big ALTER COLUMN note SET NOT NULL;\nDROP TABLE big;"})
    found = lint(db, tmp_path, sample_above_rows=1000, sample_rows=800)
    m = found["0001.sql.1:adding-not-nullable-field"].metrics
    assert m["rows_affected_low"] <= 1000 <= m["rows_affected_high"] and 500 < m["sampled_rows"] < 1100
    assert "today: about " in found["0001.sql.1:adding-not-nullable-field"].detail
    exact = lint(db, tmp_path)      # below the default threshold: exact, and who refers to the dropped table
    assert exact["0001.sql.1:adding-not-nullable-field"].metrics["rows_affected"] == 1000
    assert "sampled_rows" not in exact["0001.sql.1:adding-not-nullable-field"].metrics
    assert exact["0001.sql.2:ban-drop-table"].detail.endswith(
        "today: 4,000 rows of public.big would be lost, and public.kids.big_id would refer to nothing")


def test_a_drizzle_journal_listing_one_file_of_five(db, tmp_path):
    # the incident: the journal lists the first file; the other four were run by hand, or never
    db.sql("""CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users SELECT generate_series(1, 20);
              CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users, editor_id int);
              INSERT INTO posts SELECT g, 1 + g % 20, CASE WHEN g <= 7 THEN g END FROM generate_series(1, 30) g;
              CREATE TABLE likes (id int PRIMARY KEY, post_id int REFERENCES posts, user_id int REFERENCES users);
              INSERT INTO likes SELECT g, 1 + g % 30, CASE WHEN g <= 12 THEN 1 + g % 20 END FROM generate_series(1, 40) g;
              ANALYZE;""")
    write(tmp_path, {
        "meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0000_init", "when": 1}]}),
        "0000_init.sql": "CREATE TABLE tags (id int);",
        "0001_more.sql": "CREATE TABLE notes (id int);",
        "0002_ids.sql": "ALTER TABLE users ALTER COLUMN id TYPE uuid USING gen_random_uuid();",
        "0003_refs.sql": "ALTER TABLE posts ALTER COLUMN user_id TYPE uuid USING NULL;\n"
                         "--> statement-breakpoint\nALTER TABLE likes ALTER COLUMN user_id TYPE uuid USING NULL;",
        "0004_idx.sql": "CREATE INDEX CONCURRENTLY ON posts (editor_id);"})
    found = lint(db, tmp_path)
    assert sorted(k for k in found if k.endswith("not-in-manifest")) == [
        f"{n}.0:not-in-manifest" for n in ("0001_more.sql", "0002_ids.sql", "0003_refs.sql", "0004_idx.sql")]
    ids = found["0002_ids.sql.1:destructive-type-conversion"]
    # users.id is referenced by posts.user_id (30 rows), likes.user_id (12) and, inferred from its name,
    # posts.editor_id (7)
    assert (ids.severity, ids.metrics["rows_losing_reference"]) == ("critical", 49)
    assert {k: (f.severity, f.metrics["rows_losing_reference"]) for k, f in found.items()
            if k.startswith("0003_refs.sql") and "destructive" in k} == {
        "0003_refs.sql.1:destructive-type-conversion": ("critical", 30),      # every posts.user_id emptied
        "0003_refs.sql.3:destructive-type-conversion": ("critical", 12)}
    # CONCURRENTLY in a Drizzle migration fails: the tool runs each file in a transaction
    assert found["0004_idx.sql.1:concurrently-in-transaction"].severity == "critical"


def test_a_tree_with_loose_files_a_stale_journal_a_drizzle_subfolder_and_an_archive(db, tmp_path):
    db.sql("""CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts SELECT generate_series(1, 9);
              CREATE TABLE tips (id int PRIMARY KEY, account_id int REFERENCES accounts);
              INSERT INTO tips SELECT g, 1 + g % 9 FROM generate_series(1, 15) g; ANALYZE;""")
    write(tmp_path, {
        "meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "20230101000000_gone_a"},
                                                      {"idx": 1, "tag": "20230102000000_gone_b"}]}),
        "20240101000000_init.sql": "CREATE TABLE extra (id int);",
        "20240102000000_convert.sql": "ALTER TABLE accounts ALTER COLUMN id TYPE uuid USING gen_random_uuid();",
        "drizzle/meta/_journal.json": json.dumps({"entries": [{"idx": 0, "tag": "0000_a"}]}),
        "drizzle/0000_a.sql": "ALTER TABLE tips DROP COLUMN account_id;",
        "archive/0001_old.sql": "DROP TABLE accounts;"})
    found = lint(db, tmp_path)
    assert {k: f.metrics["rule"] for k, f in found.items()} == {
        "20230101000000_gone_a.sql.0:missing-file": "missing-file",
        "20230102000000_gone_b.sql.0:missing-file": "missing-file",
        "20240101000000_init.sql.0:not-in-manifest": "not-in-manifest",
        "20240102000000_convert.sql.0:not-in-manifest": "not-in-manifest",
        "20240102000000_convert.sql.1:destructive-type-conversion": "destructive-type-conversion",
        "drizzle/0000_a.sql.1:ban-drop-column": "ban-drop-column"}
    assert found["20240102000000_convert.sql.1:destructive-type-conversion"].metrics["rows_losing_reference"] == 15
    (result,) = db.audit("migration_lint", migrations_dir=str(tmp_path)).checks
    assert result.notes == ["Migration folders read: ./ (drizzle, 4 files, 2 not in the Drizzle journal); "
                            "drizzle/ (drizzle, 1 file). Set aside: archive/ (an archive folder: old migrations "
                            "kept for reference)"]
