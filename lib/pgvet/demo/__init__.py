"""The demo database: a forum with a crypto economy and planted defects (see planted.yml)."""
from __future__ import annotations

import hashlib
import time
import uuid
from functools import lru_cache
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def planted() -> dict:
    """planted.yml: sizes, report parameters and every planted defect with its exact count."""
    return yaml.safe_load((HERE / "planted.yml").read_text())


def report_params() -> dict:
    """The parameters the demo report runs with (planted.yml), the migrations folder made absolute."""
    params = dict(planted()["report_params"])
    params["migrations_dir"] = str(HERE / planted()["migrations_dir"])
    return params


def lab_parameters(dsn: str, reports_root: str | Path) -> dict:
    """The notebook parameters of the demo report, for the lab: same target name, checks parameters and
    reports folder (so the lab compares with the demo's dated reports)."""
    return {"dsn": dsn, "target": "demo", "params": report_params(), "reports_root": str(Path(reports_root).resolve())}


def _uid(kind: str, i: int) -> str:
    """The demo's deterministic ids, as schema.sql's pg_temp.uid makes them."""
    return str(uuid.UUID(hashlib.md5(f"{kind}:{i}".encode()).hexdigest()))


def _settings(spec: dict) -> dict[str, str]:
    """The pgvet_demo.* settings schema.sql reads: sizes plus the counts of the planted defects."""
    d = spec["defects"]
    values = dict(spec["sizes"])
    values.update(
        seed=spec["seed"],
        user_badges_orphans=d["user_badges_not_valid_fk"]["orphans"],
        user_badges_missing_parents=d["user_badges_not_valid_fk"]["missing_parents"],
        user_titles_orphans=d["user_titles_orphans_under_valid_fk"]["orphans"],
        rain_with_value=d["rain_events_transaction_id"]["rows_with_value"],
        rain_resolvable=d["rain_events_transaction_id"]["resolvable_via_legacy_id"],
        orders_deleted=d["orders_bloat"]["deleted"],
        thread_subscriptions_orphans=d["thread_subscriptions_no_fks"]["orphans"],
        tips_id_used_pct=d["tips_id_sequence"]["used_pct"],
        order_items_orphans=d["order_items_disabled_fk_trigger"]["orphans"],
    )
    return {f"pgvet_demo.{k}": str(v) for k, v in values.items()}


def build(admin_conninfo: str, dbname: str | None = None) -> str:
    """(Re)create the demo database through a superuser connection; returns its name."""
    spec = planted()
    dbname = dbname or spec["database"]
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    db = psycopg.conninfo.make_conninfo(admin_conninfo, dbname=dbname)
    with psycopg.connect(db) as conn:
        for name, value in _settings(spec).items():
            conn.execute("select set_config(%s, %s, false)", (name, value))
        conn.execute((HERE / "schema.sql").read_text())
    with psycopg.connect(db, autocommit=True) as conn:
        # reset first: ANALYZE then records exact live/dead counts for the small tables
        conn.execute("select pg_stat_reset()")
        conn.execute("ANALYZE")
        conn.execute("select pg_stat_statements_reset()")
    _scan_traffic(db, spec)
    return dbname


def _scan_traffic(db: str, spec: dict) -> None:
    """Planted sequential-scan traffic on posts (a LIKE search with no usable index), and the
    everyday lookups that use posts' other indexes, so that only the planted one stays unused."""
    scans = spec["defects"]["posts_seq_scans"]["scans"]
    lookups = spec["traffic"]["index_lookups"]
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        for i in range(scans):
            conn.execute("SELECT count(*) FROM posts WHERE body LIKE %s", (f"%needle{i}%",))
        for i in range(1, lookups + 1):
            conn.execute("SELECT count(*) FROM posts WHERE thread_id = %s", (str(_uid("thread", i)),))
            conn.execute("SELECT count(*) FROM posts WHERE author_id = %s", (str(_uid("user", i)),))
    # statistics reach shared memory when the backend exits; wait until they are visible
    deadline = time.monotonic() + 10
    with psycopg.connect(db, autocommit=True) as conn:
        while time.monotonic() < deadline:
            conn.execute("select pg_stat_clear_snapshot()")
            seen = conn.execute("select seq_scan from pg_stat_user_tables where relname = 'posts'").fetchone()[0]
            if seen >= scans:
                return
            time.sleep(0.05)
