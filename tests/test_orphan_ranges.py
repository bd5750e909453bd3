"""Orphans of integer references decided by the parent's key range in the counting scan: exact counts,
the same as the anti-join's, for dense parents, parents with a few gaps, sparse and uuid parents,
NULLs, several references of one child, a composite reference, partitioned tables, and a parent that
changes during the count."""
import math
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from pgvet.options import RunOptions
from pgvet.references.model import Reference
from pgvet.references.orphans import KeyRange, count_orphans, expected_orphans

SCHEMA = """
CREATE TABLE dense (id bigint PRIMARY KEY);                  -- 1..1000, no gap
INSERT INTO dense SELECT generate_series(1, 1000);
CREATE TABLE gappy (id int PRIMARY KEY);                     -- 1..1000 but 100-104 and 777
INSERT INTO gappy SELECT g FROM generate_series(1, 1000) g WHERE g NOT BETWEEN 100 AND 104 AND g <> 777;
CREATE TABLE holey (id smallint PRIMARY KEY);                -- 1..2000 but 250-849 (whole buckets) and 1999
INSERT INTO holey SELECT g FROM generate_series(1, 2000) g WHERE g NOT BETWEEN 250 AND 849 AND g <> 1999;
CREATE TABLE sparse (id bigint PRIMARY KEY);                 -- 1,000, 2,000 … 100,000: 98,901 gaps
INSERT INTO sparse SELECT g * 1000 FROM generate_series(1, 100) g;
CREATE TABLE tokens (id uuid PRIMARY KEY);
INSERT INTO tokens SELECT md5('t' || g)::uuid FROM generate_series(1, 50) g;
CREATE TABLE pairs (a int, b int, PRIMARY KEY (a, b));
INSERT INTO pairs SELECT g, g FROM generate_series(1, 100) g;
CREATE TABLE child (id int PRIMARY KEY, dense_id bigint, gappy_id int, sparse_id bigint, token uuid, a int, b int,
                    holey_id int);
INSERT INTO child SELECT g,
    CASE WHEN g % 20 = 0 THEN NULL                          -- 100 NULLs, never orphans
         WHEN g <= 7 THEN 1000 + g                          -- 7 orphans above the range, 7 missing keys
         WHEN g BETWEEN 8 AND 10 THEN 0                     -- 3 orphans below it, 1 missing key
         ELSE 1 + g % 1000 END,
    1 + g % 1000,                                           -- values 100-104 and 777 twice each: 12 orphans, 6 keys
    CASE WHEN g <= 5 THEN 1500 ELSE 1000 * (1 + g % 100) END, -- 5 orphans, 1 key
    CASE WHEN g <= 4 THEN md5('gone' || g)::uuid ELSE md5('t' || (1 + g % 50))::uuid END,   -- 4 orphans
    1 + g % 100, CASE WHEN g <= 2 THEN 0 ELSE 1 + g % 100 END,                   -- 2 orphans, 2 keys
    1 + g % 2000                                            -- 1..2000 once each: 601 orphans, 601 keys
FROM generate_series(1, 2000) g;
ALTER TABLE child ADD FOREIGN KEY (dense_id) REFERENCES dense NOT VALID,
                  ADD FOREIGN KEY (gappy_id) REFERENCES gappy NOT VALID,
                  ADD FOREIGN KEY (sparse_id) REFERENCES sparse NOT VALID,
                  ADD FOREIGN KEY (token) REFERENCES tokens NOT VALID,
                  ADD FOREIGN KEY (a, b) REFERENCES pairs NOT VALID,
                  ADD FOREIGN KEY (holey_id) REFERENCES holey NOT VALID;
CREATE TABLE few (id int PRIMARY KEY, dense_id bigint REFERENCES dense);   -- a tiny child of a big parent
ALTER TABLE few DROP CONSTRAINT few_dense_id_fkey;
INSERT INTO few VALUES (1, 5), (2, 5000), (3, NULL);
ALTER TABLE few ADD FOREIGN KEY (dense_id) REFERENCES dense NOT VALID;
"""
EXPECTED = {  # key: (orphans, missing_parents, non_null, counted_by)
    "orphaned_rows:public.child.dense_id": (10, 8, 1900, "key range"),
    "orphaned_rows:public.child.gappy_id": (12, 6, 2000, "key range"),
    "orphaned_rows:public.child.holey_id": (601, 601, 2000, "key range"),
    "orphaned_rows:public.child.sparse_id": (5, 1, 2000, "anti-join"),    # 98,901 gaps: more than max_gaps
    "orphaned_rows:public.child.token": (4, 4, 2000, "anti-join"),        # uuid
    "orphaned_rows:public.child.a, b": (2, 2, 2000, "anti-join"),         # composite
    "orphaned_rows:public.few.dense_id": (1, 1, 2, "anti-join"),          # the parent is 333x the child
}


@pytest.fixture
def child(db):
    return loaded(db, SCHEMA)


def loaded(db, schema):
    """The schema, then its statistics, in their own transaction (an ANALYZE in the loading transaction
    leaves every row counted as changed since it)."""
    db.sql(schema)
    db.sql("ANALYZE")
    return db


def counted(db, **params):
    return {k: (f.metrics["orphans"], f.metrics["missing_parents"], f.metrics["non_null"], f.metrics["counted_by"])
            for k, f in db.findings("orphaned_rows", **params).items()}


def test_integer_references_are_decided_by_key_range_with_exact_counts(child):
    assert counted(child) == EXPECTED


def test_the_missing_keys_come_out_the_same_from_a_second_scan_when_many_orphans_are_expected(child):
    # collect_orphans_up_to 0: the counting scan only counts, a filtered scan counts the distinct keys
    assert counted(child, collect_orphans_up_to=0) == EXPECTED


def test_the_anti_join_gives_the_same_counts_where_the_range_is_not_used(child):
    # max_gaps 0: only gapless parents by range; the gappy one falls back to an anti-join, same numbers
    found = counted(child, max_gaps=0)
    assert found["orphaned_rows:public.child.gappy_id"] == (12, 6, 2000, "anti-join")
    assert found["orphaned_rows:public.child.holey_id"] == (601, 601, 2000, "anti-join")
    assert found["orphaned_rows:public.child.dense_id"] == EXPECTED["orphaned_rows:public.child.dense_id"]
    assert {k: v[:3] for k, v in found.items()} == {k: v[:3] for k, v in EXPECTED.items()}


def test_a_parent_with_no_row_makes_every_value_an_orphan(db):
    loaded(db, """CREATE TABLE empty_parent (id int PRIMARY KEY);
              CREATE TABLE kids (id int PRIMARY KEY, p int);
              INSERT INTO kids SELECT g, CASE WHEN g = 1 THEN NULL ELSE g % 3 END FROM generate_series(1, 30) g;
              ALTER TABLE kids ADD FOREIGN KEY (p) REFERENCES empty_parent NOT VALID;""")
    assert counted(db) == {"orphaned_rows:public.kids.p": (29, 3, 29, "key range")}


def test_a_stale_row_estimate_of_the_parent_changes_the_way_not_the_numbers(db):
    # analyzed with 1,000 keys, then three deleted inside the range: the estimate says gapless
    loaded(db, """CREATE TABLE plans (id int PRIMARY KEY);
              INSERT INTO plans SELECT generate_series(1, 1000);
              CREATE TABLE subs (id int PRIMARY KEY, plan_id int);
              INSERT INTO subs SELECT g, g FROM generate_series(1, 1000) g;""")
    db.sql("DELETE FROM plans WHERE id IN (10, 20, 30); INSERT INTO subs VALUES (1001, 0), (1002, 5000);")
    assert db.sql("SELECT reltuples FROM pg_class WHERE relname = 'plans'") == [(1000,)]
    assert counted(db) == {"orphaned_rows:public.subs.plan_id": (5, 5, 1002, "key range")}


def test_partitioned_parents_and_children_are_decided_by_key_range(db):
    loaded(db, """CREATE TABLE accounts (id bigint PRIMARY KEY) PARTITION BY RANGE (id);
              CREATE TABLE accounts_low PARTITION OF accounts FOR VALUES FROM (1) TO (501);
              CREATE TABLE accounts_high PARTITION OF accounts FOR VALUES FROM (501) TO (1001);
              INSERT INTO accounts SELECT g FROM generate_series(1, 1000) g WHERE g <> 600;   -- one gap
              CREATE TABLE moves (id int, account_id bigint, at date) PARTITION BY RANGE (at);
              CREATE TABLE moves_2025 PARTITION OF moves FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
              CREATE TABLE moves_2026 PARTITION OF moves FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
              INSERT INTO moves SELECT g, CASE WHEN g <= 3 THEN 5000 + g WHEN g <= 5 THEN 600 ELSE 1 + g % 1000 END,
                                       date '2025-01-01' + g % 700 FROM generate_series(1, 3000) g;
              ALTER TABLE moves ADD FOREIGN KEY (account_id) REFERENCES accounts NOT VALID;""")
    # 3 above the range (3 keys) + 2 rows on the gap 600 + the 3 rows whose 1 + g % 1000 is 600: 8 rows, 4 keys
    assert counted(db) == {"orphaned_rows:public.moves.account_id": (8, 4, 3000, "key range")}
    moves = Reference(schema="public", table="moves", columns=("account_id",), ref_schema="public",
                      ref_table="accounts", ref_columns=("id",), column_type="bigint", referenced_type="bigint", rows=3000)
    ranges = {moves.key: KeyRange(1, 1000, (600,))}
    with psycopg.connect(db.dsn) as conn:
        assert expected_orphans(conn, [moves], ranges) < 100
    db.sql("INSERT INTO moves SELECT g, 1 + g % 500, date '2026-03-01' FROM generate_series(3001, 4000) g")
    with psycopg.connect(db.dsn) as conn:     # 1,000 rows changed in a partition since its ANALYZE: stale
        assert expected_orphans(conn, [moves], ranges) == math.inf


def test_a_parent_changed_during_the_count_does_not_change_the_numbers(db):
    """The parent's keys are profiled and the child counted in one snapshot: parents deleted while the
    count waits for the child are not seen, nor the child's new rows: the orphans are those of the moment
    the count began."""
    loaded(db, """CREATE TABLE parent (id int PRIMARY KEY);
              INSERT INTO parent SELECT generate_series(1, 1000);
              CREATE TABLE kid (id int PRIMARY KEY, parent_id int);
              INSERT INTO kid SELECT g, CASE WHEN g <= 3 THEN 2000 + g ELSE g END FROM generate_series(1, 1000) g;""")
    ref = Reference(schema="public", table="kid", columns=("parent_id",), ref_schema="public", ref_table="parent",
                    ref_columns=("id",), column_type="integer", referenced_type="integer", declared=False,
                    rows=1000, ref_rows=1000)
    with psycopg.connect(db.dsn) as other, psycopg.connect(db.dsn, autocommit=True) as watch, \
            ThreadPoolExecutor(1) as pool:
        other.execute("LOCK kid IN ACCESS EXCLUSIVE MODE")      # the count will wait for the child...
        counting = pool.submit(count_orphans, db.target, [ref], jobs=1,
                               options=RunOptions(lock_timeout_ms=60_000))
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvet' AND wait_event_type = 'Lock'"
        while not watch.execute(waiting).fetchone()[0]:   # (a snapshot of pg_stat_activity per transaction)
            time.sleep(0.05)
        other.execute("DELETE FROM parent WHERE id > 900")     # ...while 100 of its parents go away
        other.execute("INSERT INTO kid VALUES (1001, 5000)")   # and a new orphan comes
        other.commit()
        found = counting.result()[ref.key]
    assert (found.method, found.orphans, found.missing_parents, found.counted_by) == ("exact", 3, 3, "key range")
    again = count_orphans(db.target, [ref], jobs=1)[ref.key]
    assert (again.orphans, again.missing_parents) == (104, 104)


def test_orphan_values_are_collected_in_the_scan_only_when_the_childs_statistics_are_fresh(db):
    # the planner's estimate bounds the memory of the collected values: a child whose rows changed
    # since its last ANALYZE could hold any number of orphans, so its missing keys get their own scan
    loaded(db, """CREATE TABLE owners (id int PRIMARY KEY);
              INSERT INTO owners SELECT generate_series(1, 100);
              CREATE TABLE pets (id int PRIMARY KEY, owner_id int);
              INSERT INTO pets SELECT g, 1 + g % 100 FROM generate_series(1, 1000) g;""")
    ref = Reference(schema="public", table="pets", columns=("owner_id",), ref_schema="public", ref_table="owners",
                    ref_columns=("id",), column_type="integer", referenced_type="integer", rows=1000, ref_rows=100)
    ranges = {ref.key: KeyRange(1, 100)}

    def expected():
        with psycopg.connect(db.dsn) as conn:
            return expected_orphans(conn, [ref], ranges)
    assert expected() < 10
    db.sql("""INSERT INTO pets SELECT g, 500 + g FROM generate_series(1001, 1300) g;   -- 300 new rows, all orphans
              ALTER TABLE pets ADD FOREIGN KEY (owner_id) REFERENCES owners NOT VALID;""")
    assert expected() == math.inf
    assert counted(db) == {"orphaned_rows:public.pets.owner_id": (300, 300, 1300, "key range")}
