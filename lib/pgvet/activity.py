"""Table activity for the scans page: every table's reads by sequential and index scans (one query)."""
from __future__ import annotations

import pandas as pd

from .connection import Target, connect

TABLE_ACTIVITY = """
SELECT s.schemaname || '.' || s.relname AS "table", s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan,
       pg_relation_size(s.relid) AS table_bytes, greatest(c.reltuples, 0)::bigint AS table_rows
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
ORDER BY s.seq_tup_read DESC, 1
"""


def table_activity(target: Target) -> pd.DataFrame:
    """Per table: sequential scans, rows they read, index scans, size and rows."""
    with connect(target) as conn:
        cur = conn.execute(TABLE_ACTIVITY)
        frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
        conn.rollback()
    return frame
