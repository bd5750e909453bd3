"""Reference discovery at scale: 2,000 and 8,000 tables on PostgreSQL's default lock table.

    python bench/discovery.py [--tables 2000 8000] [--out bench/discovery.md]

Per size, half the tables are parents (int key, 20 rows) and half children with a reference
`p<i>_id` (declared on even children, revealed by its name alone on odd ones) and a column
`other_<i>_id` no name explains and whose small integers many tables could hold (so no reference):
two candidate columns per child, 8,000 at 8,000 tables. Every `p<i>_id` holds one orphan (99),
loaded with `session_replication_role = replica` where the foreign key is declared (as a bulk load
that bypasses triggers does), so orphaned_rows must find one per child. Each
reference check runs once through pgvet's runner on the embedded server with default settings
(max_locks_per_transaction = 64), so a check that held a lock per table would end in "out of
shared memory"; the table shows the time of each and the discovery time per candidate column.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
# --lib: the pgvet to measure (another checkout's lib/, e.g. a worktree of an older commit)
LIB = Path(sys.argv[sys.argv.index("--lib") + 1]) if "--lib" in sys.argv else ROOT / "lib"
sys.path.insert(0, str(LIB))

from pgvet.connection import resolve_target  # noqa: E402
from pgvet.runner import run_audit  # noqa: E402
from pgvet.server import EmbeddedServer  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from catalog import emit  # noqa: E402

CHECKS = ["undeclared_foreign_keys", "reference_type_mismatch", "untrusted_foreign_keys", "orphaned_rows"]


def build(dsn: str, tables: int) -> None:
    pairs = tables // 2
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")   # the declared FKs let the orphans in
        for first in range(1, pairs + 1, 50):   # fifty pairs per transaction
            last = min(first + 49, pairs)
            conn.execute(f"""DO $$ BEGIN FOR i IN {first}..{last} LOOP
                EXECUTE format('CREATE TABLE p%s (id int PRIMARY KEY)', i);
                EXECUTE format('INSERT INTO p%s SELECT generate_series(1, 20)', i);
                EXECUTE format('CREATE TABLE c%s (id int PRIMARY KEY, p%s_id int %s, other_%s_id int, note text)',
                               i, i, CASE WHEN i % 2 = 0 THEN format('REFERENCES p%s', i) ELSE '' END, i);
                EXECUTE format('INSERT INTO c%s SELECT g, CASE WHEN g = 20 THEN 99 ELSE 1 + g %% 19 END,
                                1 + (g * 7) %% 20, %L FROM generate_series(1, 20) g', i, 'x');
              END LOOP; END $$""")
        conn.execute("ANALYZE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, nargs="+", default=[2000, 8000])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--lib", type=Path, default=LIB)
    ap.add_argument("--label", default="now")
    ap.add_argument("--checks", nargs="+", default=CHECKS)
    args = ap.parse_args()
    lines = [f"`python bench/discovery.py --tables {' '.join(map(str, args.tables))} --label {args.label}`", "",
             "| pgvet | tables | candidate columns | check | status | seconds | ms per candidate |",
             "|---|---:|---:|---|---|---:|---:|"]
    for tables in args.tables:
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedServer(tmp)
            info = server.start()
            try:
                t0 = time.perf_counter()
                build(info.dsn(), tables)
                print(f"built {tables:,} tables in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
                candidates = tables // 2 * 2
                for check in args.checks:   # each on its own: discovery runs once per audit, so each pays it once
                    t0 = time.perf_counter()
                    run = run_audit(resolve_target(dsn=info.dsn()), only=check)
                    secs = time.perf_counter() - t0
                    (result,) = run.checks
                    status = result.status if result.status == "ok" else f"{result.status}: {result.reason}"
                    lines.append(f"| {args.label} | {tables:,} | {candidates:,} | {check} | {status} ({len(result.findings):,} "
                                 f"findings) | {secs:.1f} | {1000 * secs / candidates:.2f} |")
                    print(lines[-1], file=sys.stderr)
            finally:
                server.remove()
    emit(lines, args.out)


if __name__ == "__main__":
    main()
