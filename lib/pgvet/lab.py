"""The calls a DBA reaches for in a notebook beside the audit, and the lab `make lab` opens.

    pv.query("SELECT …", {"id": 3})       read-only SQL -> DataFrame (limit rows, 1,000 by default)
    pv.table(audit, "public.orders")      one table's picture: references both ways, findings, indexes, size
    pv.orphans(audit, "public.order_items.product_id", limit=20)   the orphaned rows, every column

Each call opens pgvet's guarded connection (read-only, statement and lock timeouts) to the target the
environment names (PGVET_DSN, DATABASE_URL, PG*), or to `dsn` / `service`.
"""
from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import ranking
from .results import AuditRun
from .tables import frame_table

LAB_NOTEBOOKS = ("overview", "references", "scans", "bloat", "schema", "migrations")


def query(statement: str, params: dict | tuple | None = None, limit: int = 1000, dsn: str = "",
          service: str = "") -> pd.DataFrame:
    """The first `limit` rows of a read-only statement; values are bound parameters (`%(name)s`)."""
    from .connection import connect, resolve_target   # a page rendering a saved run needs no driver

    with connect(resolve_target(dsn=dsn or None, service=service or None)) as conn:
        cursor = conn.execute(statement, params)
        rows = cursor.fetchmany(limit) if cursor.description else []
        columns = [d.name for d in cursor.description or ()]
    return pd.DataFrame(rows, columns=columns)


def _relationships(audit: AuditRun) -> pd.DataFrame:
    data = audit.page("relationships").data
    return pd.DataFrame(data if isinstance(data, list) else [],
                        columns=["reference", "refers to", "declared", "enforced", "confidence", "evidence", "rows"])


def orphans(audit: AuditRun, reference: str, limit: int = 20, dsn: str = "", service: str = "") -> pd.DataFrame:
    """Up to `limit` rows of `schema.table.column` whose value matches no row of the table it refers to
    (as the audit's relationship map knows it), with every column of the row."""
    from psycopg import sql

    from .connection import connect, resolve_target

    rels = _relationships(audit)
    known = rels[rels["reference"] == reference]
    if known.empty:
        raise ValueError(f"{reference} is not a reference this audit knows (see pv.relationships(audit))")
    child, column = reference.rsplit(".", 1)
    parent, _, key = known.iloc[0]["refers to"].rstrip(")").partition("(")
    match = sql.SQL(" AND ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(k.strip()), sql.Identifier(c.strip()))
                                  for k, c in zip(key.split(","), column.split(",")))
    statement = sql.SQL("SELECT c.* FROM {child} c WHERE c.{first} IS NOT NULL AND NOT EXISTS "
                        "(SELECT 1 FROM {parent} p WHERE {match}) LIMIT {limit}").format(
        child=sql.Identifier(*child.split(".", 1)), first=sql.Identifier(column.split(",")[0].strip()),
        parent=sql.Identifier(*parent.split(".", 1)), match=match, limit=sql.Literal(int(limit)))
    with connect(resolve_target(dsn=dsn or None, service=service or None)) as conn:
        cursor = conn.execute(statement)
        return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])


INDEXES = """SELECT s.indexrelname AS index, s.idx_scan AS scans, pg_relation_size(s.indexrelid) AS index_bytes,
                    pg_get_indexdef(s.indexrelid) AS definition
             FROM pg_stat_user_indexes s WHERE s.schemaname = %(schema)s AND s.relname = %(table)s ORDER BY 1"""
SIZE = """SELECT pg_total_relation_size(c.oid) AS total_bytes, s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows,
                 s.seq_scan, s.idx_scan, greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE n.nspname = %(schema)s AND c.relname = %(table)s"""


@dataclass
class TablePicture:
    name: str
    size: pd.DataFrame
    references: pd.DataFrame      # this table's columns that refer to other tables
    referenced_by: pd.DataFrame   # other tables' columns that refer to this one
    findings: pd.DataFrame
    indexes: pd.DataFrame

    def _repr_html_(self) -> str:
        parts = [f"<h3>{html.escape(self.name)}</h3>"]
        for title, frame in (("Size and activity", self.size), ("Refers to", self.references),
                             ("Referred to by", self.referenced_by), ("Findings", self.findings),
                             ("Indexes", self.indexes)):
            parts.append(f"<h4>{title}</h4>" + frame_table(frame).html())
        return "".join(parts)


def table(audit: AuditRun, name: str, dsn: str = "", service: str = "") -> TablePicture:
    """Everything about one table: its size and activity now, its references both ways (from the audit's
    relationship map), every finding on it, and its indexes with their use."""
    schema, _, bare = name.rpartition(".")
    schema = schema or "public"
    qualified = f"{schema}.{bare}"
    rels = _relationships(audit)
    mine = rels[rels["reference"].str.rsplit(".", n=1).str[0] == qualified]
    theirs = rels[rels["refers to"].str.split("(").str[0] == qualified]
    found = [f for f in ranking.ranked(audit.findings) if f"{f.schema}.{f.table}" == qualified]
    findings = pd.DataFrame([{"severity": f.severity, "check": f.check, "object": ranking.object_name(f),
                              "finding": ranking.sentence(f)} for f in found],
                            columns=["severity", "check", "object", "finding"])
    names = {"schema": schema, "table": bare}
    return TablePicture(qualified, query(SIZE, names, dsn=dsn, service=service), mine.reset_index(drop=True),
                        theirs.reset_index(drop=True), findings, query(INDEXES, names, dsn=dsn, service=service))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def prepare(folder: str | Path, parameters: dict, notebooks: Path) -> list[Path]:
    """Copies of the notebooks in `folder` (outside git) with `parameters` as their defaults, the way
    `make lab` opens them; a copy the user changed since it was made is left as it is."""
    import nbformat
    from papermill.parameterize import parameterize_notebook

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LAB_NOTEBOOKS:
        copy, stamp = folder / f"{name}.ipynb", folder / f".{name}.made"   # stamp: digest of the copy as made
        if copy.exists() and stamp.exists() and _digest(copy.read_text()) != stamp.read_text():
            continue   # edited in the lab: keep the user's work
        nb = nbformat.read(notebooks / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])   # papermill reads every cell's tags
        nb.metadata["papermill"] = {}
        # as in the report: an area's notebook audits its own area
        nb = parameterize_notebook(nb, parameters if name == "overview" else {**parameters, "only": name})
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            if not cell.metadata.get("tags"):
                cell.metadata.pop("tags", None)
        text = nbformat.writes(nb)
        copy.write_text(text)
        stamp.write_text(_digest(text))
        written.append(copy)
    (folder / "parameters.json").write_text(json.dumps(parameters, indent=2) + "\n")
    return written
