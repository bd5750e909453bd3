"""migration_history: each tool's history table held against the files — applied, never applied,
gone, edited after applied, failed, rolled back, dirty — with the hashes computed as the tools
compute them (vectors from the tools themselves: tests/fixtures/history/make_vectors.sh)."""
import hashlib
import json
from pathlib import Path

import pytest

from folders import write

from pgvet.migrations.applied import flyway_checksum, prisma_checksums, sha256, sqitch_hash

FIXTURES = Path(__file__).parent / "fixtures" / "history"
VECTORS = json.loads((FIXTURES / "vectors.json").read_text())["files"]


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_hashes_are_the_tools_own(name):
    data = (FIXTURES / name).read_bytes()
    assert sha256(data) == VECTORS[name]["drizzle"]
    assert flyway_checksum(data) == VECTORS[name]["flyway"]
    assert sqitch_hash(data) == VECTORS[name]["sqitch"]
    assert hashlib.sha256(data).hexdigest() in prisma_checksums(data)


def test_prisma_accepts_a_file_whose_line_endings_changed():
    lf = b"CREATE TABLE a (id int);\nSELECT 1;\n"
    assert sha256(lf) in prisma_checksums(lf.replace(b"\n", b"\r\n"))
    assert sha256(lf) not in prisma_checksums(b"CREATE TABLE a (id bigint);\nSELECT 1;\n")


A, B, C = "CREATE TABLE a (id int);\n", "CREATE TABLE b (id int);\n", "CREATE TABLE c (id int);\n"


def h(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_state_of_every_tool(db, tmp_path):
    journal = {"entries": [{"idx": 0, "tag": "0000_a", "when": 1000}, {"idx": 1, "tag": "0001_b", "when": 2000}]}
    write(tmp_path, {
        "drizzle/meta/_journal.json": json.dumps(journal),
        "drizzle/0000_a.sql": A, "drizzle/0001_b.sql": B, "drizzle/0002_c.sql": C,
        "prisma/20240101000000_a/migration.sql": A, "prisma/20240102000000_b/migration.sql": B,
        "prisma/20240103000000_c/migration.sql": C, "prisma/20240104000000_d/migration.sql": "SELECT 1;\n",
        "prisma/20240105000000_e/migration.sql": "SELECT 3;\n",
        "flyway/V1__a.sql": A, "flyway/V2__b.sql": B, "flyway/V3__c.sql": C, "flyway/R__view.sql": "SELECT 2;\n",
        "golang/1_a.up.sql": A, "golang/2_b.up.sql": B, "golang/3_c.up.sql": C,
        "dbmate/20240101000000_a.sql": "-- migrate:up\n" + A, "dbmate/20240102000000_b.sql": "-- migrate:up\n" + B,
        "sqitch/sqitch.plan": "%project=x\n\na 2024-01-01T00:00:00Z A <a@b>\nb 2024-01-02T00:00:00Z A <a@b>\n",
        "sqitch/deploy/a.sql": A, "sqitch/deploy/b.sql": B})
    db.sql(f"""
        CREATE SCHEMA drizzle;
        CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
        INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES
            ('{h(A)}', 1000), ('{h("CREATE TABLE b (id bigint);")}', 2000), ('{h("gone")}', 500);
        CREATE TABLE _prisma_migrations (id text PRIMARY KEY, checksum text, finished_at timestamptz,
            migration_name text, logs text, rolled_back_at timestamptz, started_at timestamptz DEFAULT now(),
            applied_steps_count int DEFAULT 0);
        INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at) VALUES
            ('1', '{h(A)}', now(), '20240101000000_a', NULL, NULL),
            ('2', '{h(B)}', NULL, '20240102000000_b', E'Database error: relation "b" already exists\\n...', NULL),
            ('3', '{h(C)}', NULL, '20240103000000_c', NULL, now()),
            ('4', '{h("x")}', now(), '20231231000000_gone', NULL, NULL),
            ('5', '{h("SELECT 2;")}', now(), '20240104000000_d', NULL, NULL);
        CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version text, description text,
            type text, script text, checksum int, installed_by text, installed_on timestamp DEFAULT now(),
            execution_time int, success boolean);
        INSERT INTO flyway_schema_history (installed_rank, version, type, script, checksum, success) VALUES
            (1, '1', 'SQL', 'V1__a.sql', {flyway_checksum(A.encode())}, true),
            (2, '2', 'SQL', 'V2__b.sql', 12345, true),
            (3, '3', 'SQL', 'V3__c.sql', {flyway_checksum(C.encode())}, false),
            (4, NULL, 'SQL', 'R__view.sql', 999, true),
            (5, '0', 'SQL', 'V0__gone.sql', 1, true);
        CREATE SCHEMA golang;
        CREATE TABLE golang.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO golang.schema_migrations VALUES (2, true);
        CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
        INSERT INTO schema_migrations VALUES ('20240101000000'), ('20231201000000');
        CREATE SCHEMA sqitch;
        CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, script_hash text, change text, project text);
        INSERT INTO sqitch.changes VALUES ('1', '{hashlib.sha1(A.encode()).hexdigest()}', 'a', 'x'),
                                          ('2', 'beef', 'b', 'x');""")
    found = db.findings("migration_history", migrations_dir=str(tmp_path))
    assert {k.removeprefix("migration_history:"): (f.metrics["state"], f.severity) for k, f in found.items()} == {
        "drizzle/0001_b.sql": ("edited after applied", "warning"),
        "drizzle/0002_c.sql": ("never applied", "warning"),
        "drizzle.__drizzle_migrations row 500": ("file gone", "warning"),
        "prisma/20240102000000_b/migration.sql": ("failed", "critical"),
        "prisma/20240105000000_e/migration.sql": ("never applied", "warning"),
        "prisma/20240103000000_c/migration.sql": ("rolled back", "info"),
        "prisma/20240104000000_d/migration.sql": ("edited after applied", "warning"),
        "20231231000000_gone/migration.sql": ("file gone", "warning"),
        "flyway/V2__b.sql": ("edited after applied", "warning"),
        "flyway/V3__c.sql": ("failed", "critical"),
        "flyway/R__view.sql": ("edited after applied", "warning"),
        "V0__gone.sql": ("file gone", "warning"),
        "golang/2_b.up.sql": ("dirty", "critical"),
        "golang/3_c.up.sql": ("never applied", "warning"),
        "dbmate/20240102000000_b.sql": ("never applied", "warning"),
        "version 20231201000000": ("file gone", "warning"),
        "sqitch/deploy/b.sql": ("edited after applied", "warning")}
    assert "relation \"b\" already exists" in found["migration_history:prisma/20240102000000_b/migration.sql"].detail
    (result,) = db.audit("migration_history", migrations_dir=str(tmp_path)).checks
    assert sorted(result.notes) == [
        "dbmate/ (dbmate): 1 of 2 files applied according to public.schema_migrations",
        "drizzle/ (drizzle): 1 of 3 files applied according to drizzle.__drizzle_migrations",
        "flyway/ (flyway): 1 of 4 files applied according to public.flyway_schema_history",
        "golang/ (golang-migrate): 1 of 3 files applied according to golang.schema_migrations",
        "prisma/ (prisma): 1 of 5 files applied according to public._prisma_migrations",
        "sqitch/ (sqitch): 1 of 2 files applied according to sqitch.changes"]


def test_a_folder_fully_applied_has_no_finding_and_says_so(db, tmp_path):
    journal = {"entries": [{"idx": 0, "tag": "0000_a", "when": 1000}]}
    write(tmp_path, {"meta/_journal.json": json.dumps(journal), "0000_a.sql": A})
    db.sql(f"""CREATE SCHEMA drizzle;
               CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
               INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('{h(A)}', 1000);""")
    assert db.findings("migration_history", migrations_dir=str(tmp_path)) == {}
    (result,) = db.audit("migration_history", migrations_dir=str(tmp_path)).checks
    assert result.notes == ["./ (drizzle): 1 of 1 files applied according to drizzle.__drizzle_migrations"]
    # without a history table, nothing can be said about what was applied: a note, no finding
    db.sql("DROP SCHEMA drizzle CASCADE")
    (result,) = db.audit("migration_history", migrations_dir=str(tmp_path)).checks
    assert (result.status, result.findings) == ("ok", [])
    assert result.notes == ["./ (drizzle): the database has no __drizzle_migrations table, so whether its files "
                            "were applied is unknown"]
