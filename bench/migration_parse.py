"""Reading a big migration file: before (parse every statement into a tree, map each statement's line
by rescanning the file) and now (scanner split, only DDL parsed, one table of line starts), side by side.

    python bench/migration_parse.py [--mb 2 5 20 50] [--out bench/migration_parse.md]

The file is what big migrations mostly are: INSERTs of seed data, with a few DDL statements. The old
code is loaded from git (951dd53, the last commit before the change); it is skipped above 5 MB,
where it takes minutes.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from pgvet.migrations.files import parse_migration  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from catalog import emit  # noqa: E402

OLD = "951dd53"
OLD_UP_TO_MB = 5


def old_parser():
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD}:lib/pgvet/migrations/files.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("old_files")
    sys.modules["old_files"] = module   # dataclasses look their module up
    exec(compile(source, "old_files.py", "exec"), module.__dict__)
    return module.parse_migration


def generated(mb: float) -> str:
    out, size, i = [], 0, 0
    out.append("CREATE TABLE seed (id int PRIMARY KEY, label text);\n")
    while size < mb * 1e6:
        line = f"INSERT INTO seed (id, label) VALUES ({i}, 'seed row {i} with a label long enough to be real');\n"
        out.append(line)
        size += len(line)
        i += 1
        if i % 50_000 == 0:
            out.append(f"CREATE INDEX seed_{i} ON seed (label);\n")
    return "".join(out) + "ALTER TABLE seed ALTER COLUMN id TYPE uuid USING gen_random_uuid();\n"


def timed(fn, *args):
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, nargs="+", default=[2, 5, 20, 50])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    old = old_parser()
    lines = [f"# Reading one big migration file ({time.strftime('%Y-%m-%d')}, 2 cores)", "",
             f"`python bench/migration_parse.py --mb {' '.join(f'{m:g}' for m in args.mb)}`: INSERTs of seed "
             "data with an index every 50,000 rows and a destructive conversion at the end.", "",
             f"| file | statements | before ({OLD}) | now | before / now |", "|---:|---:|---:|---:|---:|"]
    for mb in args.mb:
        text = generated(mb)
        new_s, migration = timed(parse_migration, "big.sql", text, "numbered")
        assert migration.statements[-1].line == text.count("\n")
        if mb <= OLD_UP_TO_MB:
            old_s, before = timed(old, "big.sql", text, "numbered")
            assert [s.line for s in before.statements] == [s.line for s in migration.statements]
            cells = f"{old_s:.1f} s | {new_s:.1f} s | {old_s / new_s:.0f}×"
        else:
            cells = f"not run (minutes) | {new_s:.1f} s |"
        lines.append(f"| {len(text) / 1e6:.0f} MB | {len(migration.statements):,} | {cells} |")
        print(lines[-1], file=sys.stderr)
    emit(lines, args.out)


if __name__ == "__main__":
    main()
