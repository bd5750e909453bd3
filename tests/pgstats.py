"""Make activity statistics deterministic: generate the traffic, then wait until it is counted."""
import time

import psycopg


def wait_for_counter(db, table, column, at_least):
    """A backend flushes its statistics when it exits, shortly after the client closes."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if db.sql(f"select {column} from pg_stat_user_tables where relname = %s", (table,))[0][0] >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"{table}.{column} never reached {at_least}")


def run_statements(db, table, statement, times):
    """Run `statement` `times` times in one session (no parallel workers) and wait for `table`'s scans."""
    before = db.sql("select seq_scan + coalesce(idx_scan, 0) from pg_stat_user_tables where relname = %s", (table,))[0][0]
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        for _ in range(times):
            conn.execute(statement)
    wait_for_counter(db, table, "seq_scan + coalesce(idx_scan, 0)", before + times)


def reset_counters(db, table, rows):
    wait_for_counter(db, table, "n_tup_ins", rows)  # the setup's own scans (index builds) are counted by now
    db.sql("select pg_stat_reset()")
