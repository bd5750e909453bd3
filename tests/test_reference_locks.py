"""A bounded number of locks: on a server whose lock table is far smaller than the schema (the way
8,000 tables outgrow PostgreSQL's default one), every reference check still finishes, because
sampling and counting release each table's locks as they go."""
import psycopg
import pytest

from pgvet.connection import resolve_target
from pgvet.runner import run_audit
from pgvet.server import EmbeddedServer

TABLES = 400
REFERENCE_CHECKS = "reference_type_mismatch,undeclared_foreign_keys,untrusted_foreign_keys,orphaned_rows"


@pytest.fixture(scope="module")
def small_lock_table(tmp_path_factory):
    """Room for about 10 x 25 locks at once, against 400 children and 400 parents to sample."""
    srv = EmbeddedServer(tmp_path_factory.mktemp("locks"))
    info = srv.start()
    try:
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            for name, value in (("max_locks_per_transaction", 10), ("max_connections", 12),
                                ("max_wal_senders", 0), ("max_worker_processes", 2), ("autovacuum_max_workers", 1)):
                conn.execute(f"ALTER SYSTEM SET {name} = {value}")
        srv.stop()
        info = srv.start()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            for first in range(1, TABLES + 1, 10):   # ten tables per transaction: the lock table is small
                conn.execute(f"""DO $$ BEGIN FOR i IN {first}..{first + 9} LOOP
                    EXECUTE format('CREATE TABLE parent_%s (id int PRIMARY KEY)', i);
                    EXECUTE format('INSERT INTO parent_%s SELECT generate_series(1, 5)', i);
                    EXECUTE format('CREATE TABLE child_%s (id int PRIMARY KEY, parent_%s_id int)', i, i);
                    EXECUTE format('INSERT INTO child_%s SELECT g, CASE WHEN g = 6 THEN 99 ELSE g END
                                    FROM generate_series(1, 6) g', i);
                  END LOOP; END $$""")
            for i in range(1, TABLES + 1):
                conn.execute(f"ANALYZE parent_{i}, child_{i}")
        yield info
    finally:
        srv.remove()


def test_every_reference_check_finishes_with_exact_counts_on_a_small_lock_table(small_lock_table):
    run = run_audit(resolve_target(dsn=small_lock_table.dsn()), only=REFERENCE_CHECKS)
    assert {c.id: (c.status, c.reason) for c in run.checks} == {c: ("ok", None) for c in REFERENCE_CHECKS.split(",")}
    by_check = {}
    for f in run.findings:
        by_check.setdefault(f.check, []).append(f)
    assert {c: len(v) for c, v in by_check.items()} == {"undeclared_foreign_keys": TABLES, "orphaned_rows": TABLES}
    assert {f.metrics["orphans"] for f in by_check["orphaned_rows"]} == {1}


def test_a_server_error_with_its_own_code_is_no_lost_connection():
    from pgvet.runner import classify, connection_lost

    assert not connection_lost(psycopg.errors.OutOfMemory("out of shared memory"))
    assert classify(psycopg.errors.OutOfMemory("out of shared memory")) == ("error", "OutOfMemory: out of shared memory")
    assert connection_lost(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
    assert connection_lost(psycopg.OperationalError("server closed the connection unexpectedly"))
