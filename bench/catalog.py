"""Catalog checks on a big schema: 2,000 tables, 3,000 foreign keys, ~5,000 indexes.

    python bench/catalog.py [--tables 2000] [--repeat 5] [--out bench/catalog.md]

Times every catalog check of the scans area, plus the declared-FK query of
unindexed_foreign_keys, and the estimate queries of the bloat area (thresholds at 0, so every
relation goes through the arithmetic), each through pgvet's runner (read-only transaction, timeouts), best of
`--repeat`; and, side by side, the plain catalog reads they need (the same catalogs read with
SELECT *), to show what pgvet's joins cost on top. One query per check, never one per table.
"""
from __future__ import annotations

import argparse
import runpy
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from pgvet.catalog import load_checks  # noqa: E402
from pgvet.connection import engine, resolve_target  # noqa: E402
from pgvet.runner import run_check  # noqa: E402
from pgvet.server import EmbeddedServer  # noqa: E402

SCANS_CATALOG_CHECKS = ["seq_scan_hotspots", "unused_indexes", "duplicate_indexes", "redundant_indexes",
                        "invalid_indexes"]
BLOAT_CHECKS = ["table_bloat", "index_bloat", "dead_tuples", "vacuum_analyze_lag", "xid_wraparound",
                "sequence_overflow", "toast_heavy_columns"]
PLAIN = ["SELECT * FROM pg_stat_user_tables", "SELECT * FROM pg_stat_user_indexes", "SELECT * FROM pg_index",
         "SELECT * FROM pg_constraint", "SELECT * FROM pg_class", "SELECT * FROM pg_attribute"]


def build(dsn: str, tables: int) -> dict:
    """Tables t0..tN: a primary key, FKs a_id (all) and b_id (half), indexes on a_id (all) and c (half),
    and 50 plain copies of a primary key."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, tables, 200):
            with conn.transaction():
                for i in range(start, min(start + 200, tables)):
                    conn.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY, a_id int, b_id int, c int, d text)")
        for start in range(0, tables, 200):
            with conn.transaction():
                for i in range(start, min(start + 200, tables)):
                    conn.execute(f"ALTER TABLE t{i} ADD FOREIGN KEY (a_id) REFERENCES t{(i + 1) % tables}")
                    conn.execute(f"CREATE INDEX ON t{i} (a_id)")
                    if i % 2 == 0:
                        conn.execute(f"ALTER TABLE t{i} ADD FOREIGN KEY (b_id) REFERENCES t{(i + 7) % tables}")
                        conn.execute(f"CREATE INDEX ON t{i} (c)")
                    if i % 40 == 0:
                        conn.execute(f"CREATE INDEX t{i}_id_copy ON t{i} (id)")
        conn.execute("ANALYZE")
        counts = conn.execute("""SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^t[0-9]+$'),
                                        (SELECT count(*) FROM pg_constraint WHERE contype = 'f'),
                                        (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                                         WHERE c.relname ~ '^t[0-9]+$')""").fetchone()
    return dict(zip(("tables", "foreign_keys", "indexes"), counts))


def emit(lines: list[str], out: Path | None) -> None:
    """Print a result and, with --out, commit-ready markdown."""
    text_out = "\n".join(lines)
    print(text_out)
    if out:
        out.write_text(text_out + "\n")


def best_of(repeat, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    checks = {c.id: c for c in load_checks()}
    declared_fk_sql = runpy.run_path(str(checks["unindexed_foreign_keys"].path))["DECLARED"]
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(tmp)
        info = server.start()
        try:
            t0 = time.perf_counter()
            shape = build(info.dsn(), args.tables)
            built = time.perf_counter() - t0
            eng = engine(resolve_target(dsn=info.dsn()))
            rows = []
            with eng.connect() as conn:
                for cid in SCANS_CATALOG_CHECKS:
                    secs, result = best_of(args.repeat, lambda cid=cid: run_check(conn, checks[cid]))
                    assert result.status == "ok", result.reason
                    rows.append((cid, secs, len(result.findings)))
                forced = {"min_table_bytes": 0, "min_index_bytes": 0, "warn_pct": 0}
                bloat_rows = []
                for cid in BLOAT_CHECKS:
                    secs, result = best_of(args.repeat, lambda cid=cid: run_check(conn, checks[cid], forced))
                    assert result.status == "ok", result.reason
                    bloat_rows.append((cid, secs, len(result.findings)))

                def declared():
                    with conn.begin() as tx:
                        n = len(conn.execute(text(declared_fk_sql), {"min_table_rows": 0}).all())
                        tx.rollback()
                    return n
                secs, n = best_of(args.repeat, declared)
                rows.append(("unindexed_foreign_keys (declared FKs query)", secs, n))

                def plain():
                    with conn.begin() as tx:
                        for q in PLAIN:
                            conn.exec_driver_sql(q).all()
                        tx.rollback()
                plain_secs, _ = best_of(args.repeat, plain)
            eng.dispose()
        finally:
            server.remove()
    total = sum(r[1] for r in rows)
    bloat_total = sum(r[1] for r in bloat_rows)
    lines = [f"# Catalog checks on a big schema ({time.strftime('%Y-%m-%d')}, best of {args.repeat})", "",
             f"Schema generated by `python bench/catalog.py` in {built:.0f} s: {shape['tables']:,} tables, "
             f"{shape['foreign_keys']:,} foreign keys, {shape['indexes']:,} indexes (embedded PostgreSQL).", "",
             "| check | seconds | findings |", "|---|---:|---:|"]
    lines += [f"| {cid} | {secs:.3f} | {n:,} |" for cid, secs, n in rows]
    lines += [f"| **all of them** | **{total:.3f}** | |",
              f"| plain reads of the catalogs they use ({', '.join(q.split()[-1] for q in PLAIN)}) | {plain_secs:.3f} | |",
              "", f"Ratio, checks / plain catalog reads: {total / plain_secs:.1f}×. Target: all under 1 s "
              f"({'met' if total < 1 else 'NOT met'}).", "",
              "## Bloat area (estimates with thresholds forced to 0)", "",
              "| check | seconds | rows |", "|---|---:|---:|"]
    lines += [f"| {cid} | {secs:.3f} | {n:,} |" for cid, secs, n in bloat_rows]
    lines += [f"| **all of them** | **{bloat_total:.3f}** | |", "",
              f"Target: the estimate queries under 1 s ({'met' if bloat_total < 1 else 'NOT met'})."]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
