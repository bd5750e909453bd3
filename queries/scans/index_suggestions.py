"""
---
id: index_suggestions
title: Indexes the slow statements and sequential-scan hot spots would use
area: scans
severity: info
reads: data
params:
  min_calls: 50
  min_mean_ms: 20
  min_cost_reduction_pct: 50
requires:
  extensions: [pg_stat_statements]
sentence: "an index on {table}({column}) would serve {statements:# statement}"
tier: latent
harm: {metric: calls, unit: calls}
label: "index suggested"
section: "Where whole tables are read"
fixes: [CreateExtensionStmt, IndexStmt]
---
Candidate statements (from pg_stat_statements): those with at least `min_calls` calls and
`min_mean_ms` mean time (PgHero's thresholds), and every statement that reads a table
seq_scan_hotspots reported in this run (`reads: data` only makes this check run after it).
See lib/pgvet/suggestions.py for the rules; with hypopg each btree suggestion is confirmed by
EXPLAIN cost (Dexter's 50 % rule) and dropped when the plan would not change enough.
"""

from pgvet.suggestions import confirm_with_hypopg, suggest

STATEMENTS = """
SELECT q.query, q.calls, round(q.mean_exec_time::numeric, 2)::float AS mean_ms
FROM pg_stat_statements q
WHERE q.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND strpos(q.query, '/* pgvet */') = 0
  AND q.query ~* '^\\s*(select|update|delete|with)\\M'
ORDER BY q.total_exec_time DESC
LIMIT 500
"""


def findings(ctx):
    hot = {(f.schema, f.table) for f in ctx.cache.get("results", {}).get("seq_scan_hotspots", ())}
    candidates = []
    for query, calls, mean_ms in ctx.pg.execute(STATEMENTS).fetchall():
        slow = calls >= ctx.params["min_calls"] and mean_ms >= ctx.params["min_mean_ms"]
        reads_hot = any(t in query for _, t in hot)
        if slow or reads_hot:
            why = "slow statement" if slow else "reads a sequential-scan hot spot"
            candidates.append({"query": query, "calls": calls, "mean_ms": mean_ms, "why": why})
    suggestions = suggest(ctx.pg, candidates)
    hypopg = ctx.pg.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'").fetchone() is not None
    rows = []
    for s in suggestions:
        if hot and (s.schema, s.table) not in hot and not any(st["why"] == "slow statement" for st in s.statements):
            continue
        if s.method == "btree" and hypopg:
            if not confirm_with_hypopg(ctx.pg, s, ctx.params["min_cost_reduction_pct"]):
                continue
        elif s.method == "btree":
            s.evidence.append("not confirmed: install hypopg to compare EXPLAIN costs")
        prelude = "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n" if s.method == "gin_trgm" else ""
        rows.append({"schema": s.schema, "table": s.table, "column": ", ".join(s.columns), "object": s.method,
                     "detail": f"{s.definition().as_string(ctx.pg)}; " + "; ".join(s.evidence),
                     "method": s.method, "statements": len(s.statements), "calls": s.statements[0]["calls"],
                     "mean_ms": s.statements[0]["mean_ms"], "rows_per_lookup": s.rows_per_lookup,
                     "cost_before": s.cost_before, "cost_after": s.cost_after, "confirmed": s.confirmed,
                     "evidence": "; ".join(s.evidence),
                     "fix": "-- " + "; ".join(s.evidence) + "\n-- CONCURRENTLY: no write lock; "
                            "not inside a transaction block.\n" + prelude + s.definition().as_string(ctx.pg) + ";"})
    return sorted(rows, key=lambda r: (r["schema"], r["table"], r["column"]))
