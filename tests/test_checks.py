"""Each check on the real server: a case that must find something, a case that must find nothing,
exact expectations. Identifiers that need quoting are part of the positive cases."""
from pgstats import reset_counters, run_statements, wait_for_counter


# -- fk_type_mismatch -----------------------------------------------------------------------
def test_fk_type_mismatch_finds_type_and_typmod_differences(db):
    db.sql("""
        CREATE SCHEMA "Shop";
        CREATE TABLE "Shop"."Parent" (id bigint PRIMARY KEY, code varchar(50) UNIQUE, amount numeric(10,2) UNIQUE);
        CREATE TABLE "Shop"."Order Items" (
            "Parent Id" integer REFERENCES "Shop"."Parent" (id),
            code text REFERENCES "Shop"."Parent" (code),
            amount numeric REFERENCES "Shop"."Parent" (amount));
    """)
    found = db.findings("fk_type_mismatch")
    assert set(found) == {"fk_type_mismatch:Shop.Order Items.Parent Id", "fk_type_mismatch:Shop.Order Items.code",
                          "fk_type_mismatch:Shop.Order Items.amount"}
    f = found["fk_type_mismatch:Shop.Order Items.Parent Id"]
    assert f.metrics == {"column_type": "integer", "referenced_table": "Shop.Parent", "referenced_column": "id",
                         "referenced_type": "bigint", "differs_in": "type"}
    assert found["fk_type_mismatch:Shop.Order Items.amount"].metrics["differs_in"] == "typmod"


def test_fk_type_mismatch_is_silent_when_types_match(db):
    db.sql("""
        CREATE TABLE p (id bigint PRIMARY KEY, code varchar(50) UNIQUE, a int, b int, UNIQUE (a, b));
        CREATE TABLE c (p_id bigint REFERENCES p, code varchar(50) REFERENCES p (code), a int, b int,
                        FOREIGN KEY (a, b) REFERENCES p (a, b));
        CREATE TABLE partitioned (p_id bigint REFERENCES p, k int) PARTITION BY RANGE (k);
        CREATE TABLE part1 PARTITION OF partitioned FOR VALUES FROM (0) TO (10);
    """)
    assert db.findings("fk_type_mismatch") == {}


# -- unindexed_foreign_keys ------------------------------------------------------------------
UNINDEXED_SETUP = """
    CREATE TABLE parent (id int PRIMARY KEY, a int, b int, UNIQUE (a, b));
    CREATE TABLE "Child Table" ("Parent Id" int REFERENCES parent);                         -- no index
    CREATE TABLE partial_child (parent_id int REFERENCES parent);
    CREATE INDEX ON partial_child (parent_id) WHERE parent_id > 0;                          -- partial: no
    CREATE TABLE second_col_child (x int, parent_id int REFERENCES parent);
    CREATE INDEX ON second_col_child (x, parent_id);                                        -- not leading
    CREATE TABLE composite_child (a int, b int, FOREIGN KEY (a, b) REFERENCES parent (a, b));
    CREATE INDEX ON composite_child (a);                                                    -- half only
"""


def test_unindexed_foreign_keys_finds_missing_partial_and_non_leading_indexes(db):
    db.sql(UNINDEXED_SETUP)
    db.sql("INSERT INTO parent SELECT g, g, g FROM generate_series(1, 10) g;"
           "INSERT INTO \"Child Table\" SELECT 1 + g % 10 FROM generate_series(1, 500) g; ANALYZE;")
    found = db.findings("unindexed_foreign_keys")
    assert set(found) == {"unindexed_foreign_keys:public.Child Table.Parent Id",
                          "unindexed_foreign_keys:public.partial_child.parent_id",
                          "unindexed_foreign_keys:public.second_col_child.parent_id",
                          "unindexed_foreign_keys:public.composite_child.a, b"}
    child = found["unindexed_foreign_keys:public.Child Table.Parent Id"]
    assert child.metrics["table_rows"] == 500 and child.metrics["referenced_table"] == "public.parent"
    assert child.object == "Child Table_Parent Id_fkey"
    assert list(found)[0] == "unindexed_foreign_keys:public.Child Table.Parent Id"  # the biggest child first
    assert db.findings("unindexed_foreign_keys", min_table_rows=100).keys() == {
        "unindexed_foreign_keys:public.Child Table.Parent Id"}


def test_unindexed_foreign_keys_accepts_leading_and_composite_pk_prefix_indexes(db):
    db.sql("""
        CREATE TABLE parent (id int PRIMARY KEY, a int, b int, UNIQUE (a, b));
        CREATE TABLE plain (parent_id int REFERENCES parent);
        CREATE INDEX ON plain (parent_id);
        CREATE TABLE membership (parent_id int REFERENCES parent, k int, PRIMARY KEY (parent_id, k));
        CREATE TABLE swapped (a int, b int, FOREIGN KEY (a, b) REFERENCES parent (a, b));
        CREATE INDEX ON swapped (b, a);
    """)
    assert db.findings("unindexed_foreign_keys") == {}


# -- seq_scan_hotspots -----------------------------------------------------------------------
def test_seq_scan_hotspots_ranks_tables_read_in_full(db):
    db.sql("""CREATE TABLE "Big Events" (id int PRIMARY KEY, note text);
              INSERT INTO "Big Events" SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
              CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small SELECT generate_series(1, 100);""")
    reset_counters(db, "Big Events", 20000)
    run_statements(db, "Big Events", "SELECT count(*) FROM \"Big Events\" WHERE note LIKE '%zz%'", 12)
    run_statements(db, "small", "SELECT count(*) FROM small", 3)
    found = db.findings("seq_scan_hotspots", min_seq_scans=10, min_table_bytes=1_000_000)
    assert set(found) == {"seq_scan_hotspots:public.Big Events"}
    m = found["seq_scan_hotspots:public.Big Events"].metrics
    assert (m["seq_scan"], m["seq_tup_read"], m["idx_scan"], m["avg_rows_per_seq_scan"]) == (12, 240000, 0, 20000)
    assert m["seq_scan_pct"] == 100 and "many scans on a large table" in m["reason"]
    assert "no index used at all" in m["reason"] and m["stats_reset"]


def test_seq_scan_hotspots_is_silent_when_index_scans_dominate(db):
    db.sql("""CREATE TABLE events (id int PRIMARY KEY, note text);
              INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE events;""")
    reset_counters(db, "events", 20000)
    run_statements(db, "events", "SELECT count(*) FROM events", 12)
    run_statements(db, "events", "SELECT note FROM events WHERE id = 42", 30)
    assert db.findings("seq_scan_hotspots", min_seq_scans=10, min_table_bytes=1_000_000) == {}
    # the production defaults (1000 scans, 32 MB) ignore this small table as well
    assert db.findings("seq_scan_hotspots") == {}


# -- table_bloat -----------------------------------------------------------------------------
def test_table_bloat_estimates_waste_after_deletes_without_vacuum(db):
    db.sql("""CREATE TABLE "Ledger" (id int PRIMARY KEY, memo text) WITH (autovacuum_enabled = false);
              INSERT INTO "Ledger" SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;""")
    db.sql('DELETE FROM "Ledger" WHERE id % 10 < 6')
    wait_for_counter(db, "Ledger", "n_tup_del", 30000)   # counted before ANALYZE resets the change count
    db.sql('ANALYZE "Ledger"')
    found = db.findings("table_bloat")
    assert set(found) == {"table_bloat:public.Ledger"}
    f = found["table_bloat:public.Ledger"]
    m = f.metrics
    assert m["live_rows_estimate"] == 20000 and m["dead_tuples"] == 30000
    assert 55 <= m["bloat_pct"] <= 65, m  # pgstattuple measures 63 % dead + free space here
    assert m["wasted_bytes"] == m["table_bytes"] - m["expected_bytes"]
    assert m["confidence"] == "high" and f.severity == "warning"
    assert db.findings("table_bloat", critical_pct=50)["table_bloat:public.Ledger"].severity == "critical"


def test_table_bloat_is_silent_on_freshly_loaded_and_tiny_tables(db):
    db.sql("""CREATE TABLE fresh (id int PRIMARY KEY, memo text, maybe int);
              INSERT INTO fresh SELECT g, repeat('y', 80), CASE WHEN g % 2 = 0 THEN g END
              FROM generate_series(1, 50000) g;
              CREATE TABLE tiny (id int); INSERT INTO tiny SELECT generate_series(1, 100);
              DELETE FROM tiny WHERE id > 10;""")
    db.sql("ANALYZE")
    assert db.findings("table_bloat") == {}


def test_table_bloat_flags_missing_statistics_as_low_confidence(db):
    db.sql("""CREATE TABLE never_analyzed (id int, memo text) WITH (autovacuum_enabled = false);
              INSERT INTO never_analyzed SELECT g, repeat('z', 100) FROM generate_series(1, 30000) g;
              DELETE FROM never_analyzed WHERE id % 2 = 0;""")
    db.sql("VACUUM never_analyzed")  # sets reltuples but collects no column statistics
    found = db.findings("table_bloat")
    f = found["table_bloat:public.never_analyzed"]
    assert f.metrics["confidence"] == "low" and "2 of 2 columns have no statistics" in f.metrics["confidence_note"]


def test_unindexed_foreign_keys_covers_inferred_references(db):
    db.sql("""CREATE TABLE users (id int PRIMARY KEY);
              INSERT INTO users SELECT generate_series(1, 50);
              CREATE TABLE "Visits" (id int PRIMARY KEY, user_id int, page_id int);
              INSERT INTO "Visits" SELECT g, 1 + g % 50, g FROM generate_series(1, 300) g;
              CREATE TABLE pages (id int PRIMARY KEY);
              INSERT INTO pages SELECT generate_series(1, 300);
              CREATE INDEX ON "Visits" (page_id);
              ANALYZE;""")
    found = db.findings("unindexed_foreign_keys")
    assert set(found) == {"unindexed_foreign_keys:public.Visits.user_id"}
    f = found["unindexed_foreign_keys:public.Visits.user_id"]
    assert (f.metrics["referenced_table"], f.metrics["table_rows"]) == ("public.users", 300)
    assert f.metrics["evidence"].startswith("name: user_id -> users")
    assert f.fix.splitlines()[-1] == 'CREATE INDEX CONCURRENTLY ON "public"."Visits" ("user_id");'
