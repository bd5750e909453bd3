"""Views of references for the report: the relationship map and a capped, read-only orphan drill-down."""
from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql

from ..results import AuditRun
from .model import Reference
from .orphans import orphan_predicate

DRILL_DOWN_MAX_ROWS = 20
BROKEN_CHECKS = ("orphaned_rows", "reference_type_mismatch", "untrusted_foreign_keys", "fk_type_mismatch")
MAP_COLUMNS = ["reference", "refers to", "declared", "enforced", "confidence", "evidence", "problems", "rows"]


def reference_rows(refs: list[Reference]) -> list[dict]:
    """One JSON-able row per reference: how it is known and how sure pgvet is (problems come from a run)."""
    return [{"reference": r.key, "refers to": f"{r.referenced_table}({r.referenced_column})" if r.ref_table
             else f"polymorphic via {r.polymorphic_type_column}",
             "declared": "yes" if r.declared else "no", "enforced": "no" if r.untrusted else "yes",
             "confidence": r.confidence, "evidence": "; ".join(r.evidence), "rows": r.rows} for r in refs]


def _problems(audit: AuditRun | None) -> dict[str, list[str]]:
    """Reference key -> the broken-reference checks that reported it."""
    out: dict[str, list[str]] = {}
    for f in audit.findings if audit else []:
        if f.check in BROKEN_CHECKS or (f.check == "undeclared_foreign_keys" and f.metrics.get("orphans")):
            out.setdefault(f.key.split(":", 1)[1], []).append(f.check)
    return out


def relationships_frame(rows: list[dict], audit: AuditRun | None = None) -> pd.DataFrame:
    """The relationship map with the problems `audit` found, references with problems first."""
    problems = _problems(audit)
    frame = pd.DataFrame([{**r, "problems": ", ".join(sorted(set(problems.get(r["reference"], []))))} for r in rows],
                         columns=MAP_COLUMNS)
    return frame.sort_values(["problems", "reference"], ascending=[False, True], key=lambda s: s.ne("")
                             if s.name == "problems" else s).reset_index(drop=True)


def orphan_sample(conn: psycopg.Connection, ref: Reference, limit: int = 5) -> list[dict]:
    """A few orphaned rows of one reference: the child's primary key and the reference columns only, never
    the rest of the row, so a shared report exposes no other data. Runs in the caller's transaction."""
    limit = max(1, min(int(limit), DRILL_DOWN_MAX_ROWS))
    pk = [r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
        (ref.qualified().as_string(conn),)).fetchall()]
    cols = list(dict.fromkeys(pk + list(ref.columns)))
    query = sql.SQL("SELECT {cols} FROM {child} c WHERE {orphan} ORDER BY {cols} LIMIT {n}").format(
        cols=sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in cols), child=ref.qualified(),
        orphan=orphan_predicate(ref), n=sql.Literal(limit))
    cur = conn.execute(query)
    names = [d.name for d in cur.description]
    return [{n: str(v) for n, v in zip(names, row)} for row in cur.fetchall()]
