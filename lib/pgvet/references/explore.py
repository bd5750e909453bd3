"""Interactive views of references: the relationship map and a capped, read-only orphan drill-down."""
from __future__ import annotations

import pandas as pd
from psycopg import sql

from ..connection import Target, connect
from ..errors import UsageError
from ..results import AuditRun
from .model import Reference
from .orphans import orphan_predicate

DRILL_DOWN_MAX_ROWS = 20
BROKEN_CHECKS = ("orphaned_rows", "reference_type_mismatch", "untrusted_foreign_keys", "fk_type_mismatch")


def relationships(target: Target, hints_file: str = "") -> list[Reference]:
    """Every declared and inferred reference of the target, read in one read-only transaction."""
    from . import discover

    with connect(target) as conn:
        refs = discover(conn, hints_file)
        conn.rollback()
    return refs


def _problems(audit: AuditRun | None) -> dict[str, list[str]]:
    """Reference key -> the broken-reference checks that reported it."""
    out: dict[str, list[str]] = {}
    for f in audit.findings if audit else []:
        if f.check in BROKEN_CHECKS or (f.check == "undeclared_foreign_keys" and f.metrics.get("orphans")):
            out.setdefault(f.key.split(":", 1)[1], []).append(f.check)
    return out


def relationships_frame(refs: list[Reference], audit: AuditRun | None = None) -> pd.DataFrame:
    """One row per reference: how it is known, how sure pgvet is, and what is wrong with it."""
    problems = _problems(audit)
    rows = [{"reference": r.key, "refers to": f"{r.referenced_table}({r.referenced_column})" if r.ref_table
             else f"polymorphic via {r.polymorphic_type_column}",
             "declared": "yes" if r.declared else "no",
             "enforced": "no" if r.untrusted else "yes",
             "confidence": r.confidence, "evidence": "; ".join(r.evidence),
             "problems": ", ".join(sorted(set(problems.get(r.key, [])))), "rows": r.rows}
            for r in refs]
    frame = pd.DataFrame(rows, columns=["reference", "refers to", "declared", "enforced", "confidence", "evidence",
                                        "problems", "rows"])
    return frame.sort_values(["problems", "reference"], ascending=[False, True], key=lambda s: s.ne("")
                             if s.name == "problems" else s).reset_index(drop=True)


def orphan_sample(target: Target, refs: list[Reference], reference: str, limit: int = 5) -> pd.DataFrame:
    """A few orphaned rows of one reference (`schema.table.column`): the child's primary key and the
    reference columns only, never the rest of the row, so a shared report exposes no other data."""
    ref = next((r for r in refs if r.key == reference), None)
    if ref is None or not ref.countable:
        raise UsageError(f"no countable reference {reference!r}; see the relationships table")
    limit = max(1, min(int(limit), DRILL_DOWN_MAX_ROWS))
    with connect(target) as conn:
        pk = [r[0] for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
            (ref.qualified().as_string(conn),)).fetchall()]
        cols = list(dict.fromkeys(pk + list(ref.columns)))
        query = sql.SQL("SELECT {cols} FROM {child} c WHERE {orphan} ORDER BY {cols} LIMIT {n}").format(
            cols=sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in cols), child=ref.qualified(),
            orphan=orphan_predicate(ref), n=sql.Literal(limit))
        cur = conn.execute(query)
        frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
        conn.rollback()
    return frame
