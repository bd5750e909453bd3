"""A whole `pgvet report` on a wide schema, this checkout against an earlier commit, side by side:
the wall time of each run and the size of the report folder it writes.

    python bench/report.py [--tables 2000] [--before 7bfd904] [--rounds 2] [--out bench/report.md]

Builds the schema of bench/catalog.py (2,000 tables, 3,000 foreign keys, ~5,000 indexes) once, then
runs the two CLIs in turn (before, after, before, after …) against it, each into a fresh folder,
and prints the wall time of each run, where the new one spends it (audit vs pages, from its own
stderr progress), and the ratio after/before. The earlier commit runs from a `git worktree` with
this checkout's interpreter and its own `lib/` first on the path.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "bench"))

from catalog import build, emit  # noqa: E402
from pgvet.server import EmbeddedServer  # noqa: E402


def timed(command: list[str], cwd: Path, env: dict) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - t0, done.returncode, done.stderr


def folder_size(folder: Path) -> tuple[int, int, int]:
    """(bytes of every file, number of files, bytes of the largest .html) of a report folder."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return (sum(p.stat().st_size for p in files), len(files),
            max((p.stat().st_size for p in files if p.suffix == ".html"), default=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=2000)
    ap.add_argument("--before", default="7bfd904", help="the commit to compare with")
    ap.add_argument("--before-is", default="a page per area, each inlining plotly.js; a process and kernel per page")
    ap.add_argument("--after-is", default="one self-contained page, plotly.js once and gzipped; a process and kernel per job")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = tmp / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.before], check=True,
                       capture_output=True)
        server = EmbeddedServer(tmp / "server")
        info = server.start()
        try:
            shape = build(info.dsn(), args.tables)
            dsn = info.dsn()
            base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            runs = {"before": ([sys.executable, "-m", "pgvet.cli"], old, {**base, "PYTHONPATH": str(old / "lib")}),
                    "after": ([sys.executable, "-m", "pgvet.cli"], ROOT, {**base, "PYTHONPATH": str(ROOT / "lib")})}
            times: dict[str, list[float]] = {"before": [], "after": []}
            sizes: dict[str, tuple[int, int, int]] = {}
            for n in range(args.rounds):
                for name, (command, cwd, env) in runs.items():
                    out = tmp / f"{name}-{n}"
                    secs, code, err = timed(command + ["report", "--dsn", dsn, "--target", "wide", "--out", str(out)],
                                            cwd, env)
                    assert code in (0, 1), f"{name}: exit {code}: {err[-2000:]}"
                    times[name].append(secs)
                    sizes[name] = folder_size(out / time.strftime("%Y-%m-%d") / "wide")
                    print(f"{name} round {n + 1}: {secs:.1f} s, folder {sizes[name][0] / 1e6:.1f} MB", flush=True)
        finally:
            server.remove()
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    before, after = min(times["before"]), min(times["after"])
    mb = {name: f"{total / 1e6:.1f} MB ({files} files; largest page {page / 1e6:.1f} MB)"
          for name, (total, files, page) in sizes.items()}
    lines = [f"# A whole report on a wide schema ({time.strftime('%Y-%m-%d')}, best of {args.rounds}, 2 cores)", "",
             f"{shape['tables']:,} tables, {shape['foreign_keys']:,} foreign keys, {shape['indexes']:,} indexes "
             f"(bench/catalog.py's schema), `pgvet report` with the default options, runs interleaved.", "",
             "| code | runs (s) | best (s) | report folder |", "|---|---|---:|---|",
             f"| before ({args.before}: {args.before_is}) | "
             f"{', '.join(f'{t:.1f}' for t in times['before'])} | {before:.1f} | {mb['before']} |",
             f"| after ({args.after_is}) | "
             f"{', '.join(f'{t:.1f}' for t in times['after'])} | {after:.1f} | {mb['after']} |", "",
             f"Ratio after/before: time {after / before:.2f}, folder size {sizes['after'][0] / sizes['before'][0]:.2f}."]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
