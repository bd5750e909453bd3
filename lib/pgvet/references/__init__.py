"""References between tables: declared foreign keys, inferred ones, and the rows that break them.

The checks in `queries/references/*.py` call these two functions; both cache their result for
the whole audit run, so the catalog is read once and each child table is scanned once.
"""
from __future__ import annotations

from .inference import Hints, infer_references
from .model import Reference, read_snapshot
from .orphans import COLLECT_UP_TO, OrphanCount, count_orphans

__all__ = ["Reference", "OrphanCount", "all_references", "discover", "orphan_counts", "reference_row"]


def discover(conn, hints_file: str = "", migrations_dir: str = "", unreadable: set[str] = frozenset()) \
        -> list[Reference]:
    """Declared foreign keys plus inferred references, each with its evidence. Tables in `unreadable`
    (`schema.table` the role cannot SELECT) are left out: nothing can be inferred or counted there."""
    snap = read_snapshot(conn)
    hints = Hints.load(hints_file)
    if migrations_dir:
        hints = hints.with_migrations(migrations_dir)
    if unreadable:
        snap.columns = [c for c in snap.columns if f"{c.schema}.{c.table}" not in unreadable]
        snap.declared = [r for r in snap.declared if not _touches(r, unreadable)]
    return snap.declared + infer_references(conn, snap, hints)


def _touches(ref: Reference, tables: set[str]) -> bool:
    return f"{ref.schema}.{ref.table}" in tables or ref.referenced_table in tables


def all_references(ctx) -> list[Reference]:
    """`discover` for a check, read once per run, without the tables the role cannot read."""
    hints_file = ctx.params.get("hints_file") or ""
    migrations_dir = ctx.params.get("migrations_dir") or ""
    key = ("references", hints_file, migrations_dir)
    if key not in ctx.cache:
        ctx.cache[key] = discover(ctx.pg, hints_file, migrations_dir, ctx.unreadable)
    return ctx.cache[key]


def orphan_counts(ctx, refs: list[Reference]) -> dict[str, OrphanCount]:
    """Orphan counts for `refs`, counting only what this run has not counted yet."""
    cache = ctx.cache.setdefault("orphans", {})
    todo = [r for r in refs if r.countable and r.key not in cache]
    if todo:
        cache.update(count_orphans(ctx.target, todo, jobs=ctx.params.get("jobs", 2), options=ctx.options,
                                   sample_above_rows=ctx.params.get("sample_above_rows", 0),
                                   sample_rows=ctx.params.get("sample_rows", 1_000_000),
                                   max_gaps=ctx.params.get("max_gaps", 10_000),
                                   collect_up_to=ctx.params.get("collect_orphans_up_to", COLLECT_UP_TO),
                                   progress=ctx.progress))
    counts = {r.key: cache[r.key] for r in refs if r.key in cache}
    for c in counts.values():
        if c.method in ("timeout", "error"):
            ctx.not_checked(f"orphans of {c.reference.key} -> {c.reference.referenced_table}", c.reason)
    return counts


def reference_row(ref: Reference, detail: str, **metrics) -> dict:
    """The identity and evidence columns every reference finding shares."""
    return {"schema": ref.schema, "table": ref.table, "column": ref.column, "object": ref.constraint,
            "detail": detail, "referenced_table": ref.referenced_table, "referenced_column": ref.referenced_column,
            "column_type": ref.column_type, "referenced_type": ref.referenced_type,
            "evidence": "; ".join(ref.evidence), "confidence": ref.confidence, **metrics}
