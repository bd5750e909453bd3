"""Bloat and maintenance debt on the real server: estimates against pgstattuple, with asserted tolerances."""
import time

from psycopg.conninfo import make_conninfo

from pgstats import wait_for_counter
from pgvet.connection import resolve_target
from pgvet.runner import run_audit

TABLE_TOLERANCE_PCT = 10   # |estimate - pgstattuple_approx| in percentage points, on the tables built here
INDEX_TOLERANCE_PCT = 10   # |estimate - pgstatindex| after VACUUM


def test_table_bloat_estimate_is_within_tolerance_of_pgstattuple_after_deletes_and_updates(db):
    db.sql("""CREATE EXTENSION pgstattuple;
              CREATE TABLE deleted (id int PRIMARY KEY, memo text) WITH (autovacuum_enabled = false);
              INSERT INTO deleted SELECT g, repeat('d', 120) FROM generate_series(1, 40000) g;
              DELETE FROM deleted WHERE id % 4 <> 0;
              CREATE TABLE updated (id int PRIMARY KEY, n int, memo text) WITH (autovacuum_enabled = false);
              INSERT INTO updated SELECT g, 0, repeat('u', 80) FROM generate_series(1, 40000) g;
              UPDATE updated SET n = n + 1;
              UPDATE updated SET n = n + 1;
              CREATE TABLE fresh (id int PRIMARY KEY, memo text);
              INSERT INTO fresh SELECT g, repeat('f', 100) FROM generate_series(1, 40000) g;
              ANALYZE;""")
    found = db.findings("table_bloat", exact_bloat=True)
    assert set(found) == {"table_bloat:public.deleted", "table_bloat:public.updated"}
    for f in found.values():
        m = f.metrics
        assert m["exact_method"] == "pgstattuple_approx"
        assert abs(m["bloat_pct"] - m["exact_bloat_pct"]) <= TABLE_TOLERANCE_PCT, (f.key, m)
    assert 70 <= found["table_bloat:public.deleted"].metrics["exact_bloat_pct"] <= 80
    assert 60 <= found["table_bloat:public.updated"].metrics["exact_bloat_pct"] <= 70


def test_index_bloat_after_heavy_updates_is_found_and_matches_pgstatindex(db):
    db.sql("""CREATE EXTENSION pgstattuple;
              CREATE TABLE "Scores" (id int PRIMARY KEY, score int, pad text) WITH (autovacuum_enabled = false);
              INSERT INTO "Scores" SELECT g, g, 'p' FROM generate_series(1, 100000) g;
              CREATE INDEX "Scores by score" ON "Scores" (score);
              CREATE TABLE steady (id int PRIMARY KEY, score int);
              INSERT INTO steady SELECT g, g FROM generate_series(1, 100000) g;
              CREATE INDEX steady_score ON steady (score);""")
    db.sql('UPDATE "Scores" SET score = score + 1000000 WHERE id % 10 <> 0')   # new keys at the right edge
    db.sql('VACUUM "Scores"')
    db.sql("ANALYZE")
    found = db.findings("index_bloat", exact_bloat=True)
    assert set(found) == {"index_bloat:public.Scores.Scores by score", "index_bloat:public.Scores.Scores_pkey"}
    for f in found.values():
        m = f.metrics
        assert m["exact_method"] == "pgstatindex"
        assert abs(m["bloat_pct"] - m["exact_bloat_pct"]) <= INDEX_TOLERANCE_PCT, (f.key, m)
    f = found["index_bloat:public.Scores.Scores by score"]
    assert f.fix.splitlines()[-1] == 'REINDEX INDEX CONCURRENTLY public."Scores by score";'


def test_exact_measurement_is_skipped_with_a_reason_without_the_extension_or_privilege(db, server):
    db.sql("""CREATE TABLE gone (id int, memo text) WITH (autovacuum_enabled = false);
              INSERT INTO gone SELECT g, repeat('g', 100) FROM generate_series(1, 30000) g;
              DELETE FROM gone WHERE id % 2 = 0; ANALYZE;""")
    (result,) = db.audit("table_bloat", exact_bloat=True).checks
    assert result.status == "ok" and [f.key for f in result.findings] == ["table_bloat:public.gone"]
    assert result.notes == ["exact measurement skipped: extension pgstattuple is not installed in this database "
                            "(CREATE EXTENSION pgstattuple)"]
    db.sql("CREATE EXTENSION pgstattuple; CREATE ROLE bloat_reader LOGIN; GRANT pg_read_all_stats TO bloat_reader;"
               "GRANT SELECT ON gone TO bloat_reader")
    try:
        reader = resolve_target(dsn=make_conninfo(db.dsn, user="bloat_reader"))
        (result,) = run_audit(reader, only="table_bloat", params={"exact_bloat": True}).checks
        assert result.notes == ["exact measurement skipped: needs superuser or membership in pg_stat_scan_tables"]
    finally:
        db.sql("DROP OWNED BY bloat_reader; DROP ROLE bloat_reader")


def test_dead_tuples_reports_tables_waiting_for_vacuum(db):
    db.sql("""CREATE TABLE "Carts" (id int) WITH (autovacuum_enabled = false);
              INSERT INTO "Carts" SELECT generate_series(1, 10000);
              DELETE FROM "Carts" WHERE id <= 4000;
              CREATE TABLE tidy (id int) WITH (autovacuum_enabled = false);
              INSERT INTO tidy SELECT generate_series(1, 10000);
              DELETE FROM tidy WHERE id <= 4000;""")
    db.sql("VACUUM tidy")
    db.sql("ANALYZE")
    wait_for_counter(db, "Carts", "n_dead_tup", 4000)
    found = db.findings("dead_tuples")
    assert set(found) == {"dead_tuples:public.Carts"}
    m = found["dead_tuples:public.Carts"].metrics
    assert (m["dead_tuples"], m["live_tuples"], m["dead_pct"], m["last_any_vacuum"]) == (4000, 6000, 40, None)


def test_vacuum_analyze_lag_flags_disabled_never_analysed_and_overdue_tables(db):
    db.sql("""CREATE TABLE "Off" (id int) WITH (autovacuum_enabled = false);
              INSERT INTO "Off" SELECT generate_series(1, 100);
              CREATE TABLE never (id int) WITH (autovacuum_enabled = off);
              INSERT INTO never SELECT generate_series(1, 100);
              CREATE TABLE churned (id int) WITH (autovacuum_analyze_threshold = 10, autovacuum_analyze_scale_factor = 0,
                                                 autovacuum_enabled = false);
              INSERT INTO churned SELECT generate_series(1, 100);
              CREATE TABLE healthy (id int);
              INSERT INTO healthy SELECT generate_series(1, 100);""")
    wait_for_counter(db, "churned", "n_tup_ins", 100)   # the inserts are counted before ANALYZE resets the count
    db.sql('ANALYZE "Off", churned, healthy')
    db.sql("UPDATE churned SET id = id + 1 WHERE id <= 30")
    wait_for_counter(db, "churned", "n_mod_since_analyze", 30)
    found = db.findings("vacuum_analyze_lag")
    assert {k: f.metrics["reason"] for k, f in found.items()} == {
        "vacuum_analyze_lag:public.Off": "autovacuum is disabled on this table",
        "vacuum_analyze_lag:public.never": "autovacuum is disabled on this table; never analysed",
        "vacuum_analyze_lag:public.churned": "autovacuum is disabled on this table; 30 rows changed since the last "
                                             "ANALYZE (autovacuum would analyse at 10)"}
    assert 'ALTER TABLE public."Off" RESET (autovacuum_enabled);' in found["vacuum_analyze_lag:public.Off"].fix


def test_xid_wraparound_reports_exact_ages_from_a_forced_threshold_and_nothing_by_default(db):
    db.sql("CREATE TABLE aged (id int); INSERT INTO aged VALUES (1);")
    assert db.findings("xid_wraparound") == {}
    found = db.findings("xid_wraparound", warn_age=0)
    (expected_db_age, expected_table_age), = db.sql(
        "SELECT (SELECT age(datfrozenxid) FROM pg_database WHERE datname = current_database()), "
        "(SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'aged')")
    database = found[f"xid_wraparound:{db.name}"]
    assert (database.metrics["kind"], database.metrics["xid_age"]) == ("database", expected_db_age)
    assert found["xid_wraparound:public.aged"].metrics["xid_age"] == expected_table_age
    assert found["xid_wraparound:public.aged"].metrics["above_freeze_max_age"] is False


def test_sequence_overflow_measures_against_the_column_type(db):
    db.sql("""CREATE SEQUENCE big_seq AS bigint;
              CREATE TABLE "Tips" ("Tip Id" integer DEFAULT nextval('big_seq'), note text);
              SELECT setval('big_seq', 1717986918);            -- 80 % of int4
              CREATE TABLE tiny (id smallint GENERATED ALWAYS AS IDENTITY, x int);
              SELECT setval(pg_get_serial_sequence('tiny', 'id'), 31500);   -- 96 % of int2
              CREATE TABLE young (id serial, x int);
              SELECT setval('young_id_seq', 1000);
              CREATE SEQUENCE lonely MAXVALUE 1000;
              SELECT setval('lonely', 910);                    -- 91 % of its own maximum
              CREATE SEQUENCE unused_seq;""")
    found = db.findings("sequence_overflow")
    assert {k: (f.severity, f.metrics["used_pct"], f.metrics["limited_by"]) for k, f in found.items()} == {
        "sequence_overflow:public.Tips.Tip Id": ("warning", 80, "column type"),
        "sequence_overflow:public.tiny.id": ("critical", 96.1, "sequence"),
        "sequence_overflow:public.lonely.lonely": ("critical", 91, "sequence")}
    assert found["sequence_overflow:public.Tips.Tip Id"].fix.splitlines()[-1] == \
        'ALTER TABLE public."Tips" ALTER COLUMN "Tip Id" TYPE bigint;'


def test_toast_heavy_columns_finds_wide_inline_and_toasted_columns(db):
    db.sql("""CREATE TABLE docs (id int, body text, title text, payload jsonb);
              INSERT INTO docs SELECT g, (SELECT string_agg(md5(g::text || k), '') FROM generate_series(1, 20) k),
                                      'title ' || g, NULL
              FROM generate_series(1, 2000) g;
              CREATE TABLE blobs (id int, payload jsonb);
              INSERT INTO blobs SELECT g, jsonb_build_object('data',
                  (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)))
              FROM generate_series(1, 300) g;
              ANALYZE;""")
    found = db.findings("toast_heavy_columns", min_toast_bytes=1_000_000)
    assert set(found) == {"toast_heavy_columns:public.docs.body", "toast_heavy_columns:public.blobs.payload"}
    assert found["toast_heavy_columns:public.docs.body"].metrics["avg_width"] >= 640
    assert found["toast_heavy_columns:public.blobs.payload"].metrics["toast_bytes"] >= 1_000_000
    assert db.findings("toast_heavy_columns", min_avg_width=100_000) == {}   # 100 MB TOAST default


def _server_setting(db, name, value):
    """ALTER SYSTEM on the test server, reloaded, and wait until a new session sees it."""
    db.sql(f"ALTER SYSTEM {'RESET ' + name if value is None else f'SET {name} = {value}'}")
    db.sql("SELECT pg_reload_conf()")
    want = "on" if value is None else value
    deadline = time.monotonic() + 10
    while db.sql(f"SHOW {name}")[0][0] != want:
        assert time.monotonic() < deadline, f"{name} never became {want}"
        time.sleep(0.05)


def test_autovacuum_off_for_the_server_is_one_finding_not_one_per_table(db):
    db.sql("""DO $$ BEGIN FOR i IN 1..50 LOOP
                  EXECUTE format('CREATE TABLE t%s (id int) %s', i,
                                 CASE WHEN i IN (7, 31) THEN 'WITH (autovacuum_enabled = off)' ELSE '' END);
                  EXECUTE format('INSERT INTO t%s SELECT generate_series(1, 10)', i);
              END LOOP; END $$; ANALYZE;""")
    planted = {"vacuum_analyze_lag:public.t7", "vacuum_analyze_lag:public.t31"}
    assert set(db.findings("vacuum_analyze_lag")) == planted
    _server_setting(db, "autovacuum", "off")
    try:
        found = db.findings("vacuum_analyze_lag")
    finally:
        _server_setting(db, "autovacuum", None)
    assert {k: f.metrics["reason"].split(":")[0] for k, f in found.items()} == {
        "vacuum_analyze_lag:whole server": "autovacuum is off for the whole server",
        "vacuum_analyze_lag:public.t7": "autovacuum is disabled on this table",
        "vacuum_analyze_lag:public.t31": "autovacuum is disabled on this table"}
    assert found["vacuum_analyze_lag:whole server"].fix is None
