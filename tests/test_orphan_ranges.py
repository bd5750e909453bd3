"""Orphans of integer references decided by the parent's key range in the counting scan: exact counts,
the same as the anti-join's, for dense parents, parents with a few gaps, sparse and uuid parents,
NULLs, several references of one child and a composite reference."""
import pytest

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
ANALYZE;
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
    db.sql(SCHEMA)
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
    db.sql("""CREATE TABLE empty_parent (id int PRIMARY KEY);
              CREATE TABLE kids (id int PRIMARY KEY, p int);
              INSERT INTO kids SELECT g, CASE WHEN g = 1 THEN NULL ELSE g % 3 END FROM generate_series(1, 30) g;
              ALTER TABLE kids ADD FOREIGN KEY (p) REFERENCES empty_parent NOT VALID; ANALYZE;""")
    assert counted(db) == {"orphaned_rows:public.kids.p": (29, 3, 29, "key range")}
