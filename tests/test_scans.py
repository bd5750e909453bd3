"""Scans and index hygiene on the real server: traffic is generated in the test, never mocked."""
import threading
import time

import psycopg
import pytest

from pgstats import reset_counters, run_statements


# -- unused_indexes ------------------------------------------------------------------------------
def test_unused_indexes_lists_never_scanned_plain_indexes_above_the_floor(db):
    db.sql("""CREATE TABLE "Events" (id int PRIMARY KEY, kind text, "Created At" timestamptz, code text UNIQUE,
                                     owner int);
              INSERT INTO "Events" SELECT g, 'k' || g % 7, now(), 'c' || g, g % 100 FROM generate_series(1, 30000) g;
              CREATE INDEX "Events by time" ON "Events" ("Created At");     -- never used
              CREATE INDEX events_owner ON "Events" (owner);                -- used below
              CREATE INDEX events_kind_small ON "Events" (kind) WHERE id < 10;  -- unused but tiny
              ANALYZE;""")
    reset_counters(db, "Events", 30000)
    run_statements(db, "Events", 'SELECT count(*) FROM "Events" WHERE owner = 5', 3)
    db.sql('INSERT INTO "Events" VALUES (30001, \'k\', now(), \'c30001\', 1)')
    # the counters were reset just now: one finding for the server, not one per index
    (server,) = db.findings("unused_indexes", min_index_bytes=100_000).values()
    assert (server.key, server.metrics["index_bytes"] > 100_000) == ("unused_indexes:whole server", True)
    assert server.detail.startswith("the statistics were reset 0.0 days ago: 1 index (")
    assert server.detail.endswith(") has no scan yet, too soon to call unused (min_stats_days = 7)")
    found = db.findings("unused_indexes", min_index_bytes=100_000, min_stats_days=0)
    assert set(found) == {"unused_indexes:public.Events.Events by time"}
    m = found["unused_indexes:public.Events.Events by time"].metrics
    assert m["idx_scan"] == 0 and m["index_bytes"] > 100_000 and m["stats_reset"] and m["stats_age_days"] == 0
    assert found["unused_indexes:public.Events.Events by time"].fix.splitlines()[-1] == \
        '-- DROP INDEX CONCURRENTLY public."Events by time";'
    assert db.findings("unused_indexes") == {}  # the 10 MB default floor


# -- duplicate_indexes and redundant_indexes -------------------------------------------------------
def test_duplicate_indexes_finds_identical_definitions_including_a_copy_of_the_primary_key(db):
    db.sql("""CREATE SCHEMA "Shop";
              CREATE TABLE "Shop".users (id int PRIMARY KEY, email text, name text);
              CREATE INDEX "idx users id" ON "Shop".users (id);                       -- = users_pkey
              CREATE INDEX users_email_a ON "Shop".users (lower(email));
              CREATE INDEX users_email_b ON "Shop".users (lower(email));             -- = users_email_a
              CREATE INDEX users_name_c ON "Shop".users (name) WHERE name IS NOT NULL;
              CREATE INDEX users_name_d ON "Shop".users (name) WHERE name IS NOT NULL;   -- = users_name_c
              CREATE INDEX users_name_e ON "Shop".users (name);                      -- other predicate
              CREATE INDEX users_name_f ON "Shop".users (name text_pattern_ops);     -- other opclass
              CREATE INDEX users_name_g ON "Shop".users (name COLLATE "C");          -- other collation
              CREATE INDEX users_name_h ON "Shop".users USING hash (name);           -- other method""")
    found = db.findings("duplicate_indexes")
    assert {k: f.metrics["duplicate_of"] for k, f in found.items()} == {
        "duplicate_indexes:Shop.users.idx users id": "users_pkey",
        "duplicate_indexes:Shop.users.users_email_b": "users_email_a",
        "duplicate_indexes:Shop.users.users_name_d": "users_name_c"}


def test_duplicate_indexes_never_proposes_dropping_a_constraint_index(db):
    db.sql("""CREATE TABLE t (id int PRIMARY KEY, code text);
              ALTER TABLE t ADD CONSTRAINT t_id_unique UNIQUE (id);   -- two constraints, same column
              CREATE UNIQUE INDEX t_code_u ON t (code);
              CREATE INDEX t_code_plain ON t (code);                 -- plain copy of a unique index""")
    assert {k: f.metrics["duplicate_of"] for k, f in db.findings("duplicate_indexes").items()} == {
        "duplicate_indexes:public.t.t_code_plain": "t_code_u"}


def test_redundant_indexes_finds_leading_prefixes_only_when_really_covered(db):
    db.sql("""CREATE TABLE orders (id int PRIMARY KEY, user_id int, created date, status text, note text);
              CREATE INDEX orders_user ON orders (user_id);                          -- covered
              CREATE INDEX orders_user_created ON orders (user_id, created);
              CREATE INDEX orders_status ON orders (status);                         -- not a prefix:
              CREATE INDEX orders_created_status ON orders (created, status);        -- status is second
              CREATE UNIQUE INDEX orders_note_u ON orders (note);                    -- unique: kept
              CREATE INDEX orders_note_created ON orders (note, created);
              CREATE INDEX orders_created_inc ON orders (created) INCLUDE (note);    -- INCLUDE: kept
              CREATE INDEX orders_user_open ON orders (user_id) WHERE status = 'open';   -- own predicate
              CREATE INDEX orders_id_user ON orders (id, user_id);                   -- covers the pkey, which stays""")
    found = db.findings("redundant_indexes")
    assert {k: f.metrics["covered_by"] for k, f in found.items()} == {
        "redundant_indexes:public.orders.orders_user": "orders_user_created"}
    assert found["redundant_indexes:public.orders.orders_user"].detail == \
        "(user_id) is a leading prefix of orders_user_created (user_id, created)"


# -- invalid_indexes -------------------------------------------------------------------------------
def test_invalid_indexes_reports_a_failed_concurrent_build(db):
    db.sql("""CREATE TABLE "Accounts" (id int, email text);
              INSERT INTO "Accounts" VALUES (1, 'a@x'), (2, 'a@x');""")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.sql('CREATE UNIQUE INDEX CONCURRENTLY "Accounts email" ON "Accounts" (email)')
    found = db.findings("invalid_indexes")
    f = found["invalid_indexes:public.Accounts.Accounts email"]
    assert (f.severity, f.metrics["state"]) == ("warning", "failed build")
    assert 'REINDEX INDEX CONCURRENTLY public."Accounts email";' in f.fix
    db.sql('DROP INDEX "Accounts email"')
    assert db.findings("invalid_indexes") == {}


def test_invalid_indexes_tells_an_index_still_being_built_apart(db):
    db.sql("CREATE TABLE busy (id int); INSERT INTO busy SELECT generate_series(1, 1000);")
    with psycopg.connect(db.dsn) as old_snapshot:  # CREATE INDEX CONCURRENTLY waits for this transaction
        old_snapshot.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ   # holds its snapshot
        old_snapshot.execute("SELECT count(*) FROM busy")
        builder = threading.Thread(target=db.sql, args=("CREATE INDEX CONCURRENTLY busy_id ON busy (id)",))
        builder.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and db.sql(
                "SELECT to_regclass('busy_id') IS NULL OR NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index)")[0][0]:
            time.sleep(0.05)
        found = db.findings("invalid_indexes")
        old_snapshot.rollback()
    builder.join()
    f = found["invalid_indexes:public.busy.busy_id"]
    assert (f.severity, f.metrics["state"], f.fix) == ("info", "being built", None)
    assert db.findings("invalid_indexes") == {}


# -- top_queries -----------------------------------------------------------------------------------
def test_top_queries_ranks_statements_and_leaves_pgvet_out(db):
    db.sql("""CREATE EXTENSION pg_stat_statements;
              CREATE TABLE hits (id int, path text);
              INSERT INTO hits SELECT g, '/p/' || g % 100 FROM generate_series(1, 50000) g;""")
    db.sql("SELECT pg_stat_statements_reset()")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for i in range(5):
            conn.execute("SELECT count(*) FROM hits WHERE path = %s", (f"/p/{i}",))
        conn.execute("SELECT 1")
        conn.execute("CREATE ROLE top_queries_probe PASSWORD 'Not-For-Reports-42'")   # kept as typed by the extension
        conn.execute("DROP ROLE top_queries_probe")
    db.findings("fk_type_mismatch")   # pgvet's own statements must not show up
    found = db.findings("top_queries", top=1)
    (f,) = found.values()
    assert f.detail == "SELECT count(*) FROM hits WHERE path = $1"
    assert (f.metrics["calls"], f.metrics["rows"], f.metrics["time_rank"], f.metrics["blocks_rank"]) == (5, 5, 1, 1)
    every = db.findings("top_queries", top=100).values()
    assert all("pgvet" not in g.detail and "Not-For-Reports" not in g.detail for g in every)
    assert any(g.detail == "DROP ROLE top_queries_probe" for g in every)


@pytest.mark.parametrize("major", ["18", "15"])
def test_top_queries_after_a_whole_audit_lists_the_users_statements_and_none_of_pgvets(major, request):
    """PostgreSQL 18 stores a statement from its first token (a leading comment is dropped), 15 keeps it:
    pgvet's tag after the first keyword survives on both."""
    from conftest import new_database
    from pgvet.runner import run_audit

    database = new_database(request.getfixturevalue("server" if major == "18" else "pg15_server"), f"topq{major}")
    database.sql("""CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                    CREATE TABLE hits (id int PRIMARY KEY, path text, user_id int);
                    INSERT INTO hits SELECT g, '/p/' || g % 100, g FROM generate_series(1, 20000) g; ANALYZE;""")
    database.sql("SELECT pg_stat_statements_reset()")
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        for i in range(5):
            conn.execute("SELECT count(*) FROM hits WHERE path = %s", (f"/p/{i}",))
        conn.execute("UPDATE hits SET user_id = user_id WHERE id = %s", (7,))
    run = run_audit(database.target)                       # every check: well over a hundred statements
    assert run.server_version.startswith(major)
    listed = {f.detail for f in database.findings("top_queries", top=1000).values()}
    assert listed - {"SELECT pg_stat_statements_reset()"} == {"SELECT count(*) FROM hits WHERE path = $1",
                                                               "UPDATE hits SET user_id = user_id WHERE id = $1"}


def test_top_queries_is_skipped_with_a_reason_without_the_extension(db):
    (result,) = db.audit("top_queries").checks
    assert (result.status, result.reason) == ("skipped", "extension pg_stat_statements is not installed in this "
                                                         "database (CREATE EXTENSION pg_stat_statements)")


# -- seq_scan_hotspots on partitioned tables -------------------------------------------------------
def test_seq_scan_hotspots_rolls_partitions_up_to_their_table(db):
    db.sql("""CREATE TABLE "Log" (id int, at date, msg text) PARTITION BY RANGE (at);
              CREATE TABLE log_2024 PARTITION OF "Log" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
              CREATE TABLE log_2025 PARTITION OF "Log" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
              INSERT INTO "Log" SELECT g, date '2024-01-01' + g % 700, md5(g::text) FROM generate_series(1, 20000) g;""")
    reset_counters(db, "log_2025", 1)
    run_statements(db, "log_2024", "SELECT count(*) FROM \"Log\" WHERE msg LIKE '%zz%'", 11)
    found = db.findings("seq_scan_hotspots", min_seq_scans=20, min_table_bytes=500_000)
    m = found["seq_scan_hotspots:public.Log"].metrics
    assert (m["seq_scan"], m["seq_tup_read"], m["partitions"]) == (22, 220000, 2)
    assert set(found) == {"seq_scan_hotspots:public.Log"}
