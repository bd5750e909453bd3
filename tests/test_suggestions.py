"""index_suggestions: the parser rules, then the check on the real server (and on PostgreSQL 15 with
hypopg when this machine has Debian's packages: `make test` installs them when it can)."""

import psycopg
import pytest

from conftest import new_database
from pgvet.suggestions import Condition, statement_conditions



@pytest.mark.parametrize("query, expected", [
    ("SELECT * FROM orders WHERE user_id = $1 AND status IN ($2, $3)",
     [Condition((None, "orders"), "user_id", "eq"), Condition((None, "orders"), "status", "eq")]),
    ("SELECT o.id FROM shop.orders o JOIN users u ON u.id = o.user_id WHERE o.created > $1::date AND u.email = $2",
     [Condition(("shop", "orders"), "created", "range"), Condition((None, "users"), "email", "eq")]),
    ("DELETE FROM sessions WHERE expires_at < $1 AND user_id IS NULL",
     [Condition((None, "sessions"), "expires_at", "range"), Condition((None, "sessions"), "user_id", "null")]),
    ("SELECT count(*) FROM posts WHERE body ILIKE $1", [Condition((None, "posts"), "body", "like")]),
    ("SELECT * FROM t WHERE a = $1 OR b = $2", []),                  # OR: no single index serves it
    ("SELECT * FROM t WHERE lower(email) = $1", []),                 # expressions need an expression index
    ("SELECT * FROM t JOIN u ON true WHERE a = $1", []),             # unqualified column, two tables
    ("CREATE TABLE x (a int)", []),
    ("this is not SQL", []),
])
def test_statement_conditions(query, expected):
    assert statement_conditions(query) == expected


SETUP = """
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    CREATE TABLE "Orders" (id int PRIMARY KEY, customer int, status text, paid boolean, note text, created date);
    INSERT INTO "Orders" SELECT g, g % 5000, (ARRAY['new','paid','sent'])[1 + g % 3], g % 2 = 0, md5(g::text),
                                date '2024-01-01' + g % 365 FROM generate_series(1, 60000) g;
    CREATE TABLE tiny (id int, k int); INSERT INTO tiny SELECT g, g FROM generate_series(1, 100) g;
    CREATE INDEX orders_status ON "Orders" (status);
    ANALYZE;
"""
TRAFFIC = [
    ('SELECT * FROM "Orders" WHERE customer = %s', 7),          # selective, unindexed: suggest
    ('SELECT count(*) FROM "Orders" WHERE status = %s', "paid"),  # already indexed: nothing
    ('SELECT count(*) FROM "Orders" WHERE note LIKE %s', "%ab%"),  # trigram
    ("SELECT * FROM tiny WHERE k = %s", 3),                       # tiny table: nothing
]


def _traffic(db):
    db.sql("SELECT pg_stat_statements_reset()")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for statement, value in TRAFFIC:
            for _ in range(3):
                conn.execute(statement, (value,))


def test_index_suggestions_from_slow_statements_without_hypopg(db):
    db.sql(SETUP)
    _traffic(db)
    found = db.findings("index_suggestions", min_calls=1, min_mean_ms=0)
    assert {k: (f.metrics["method"], f.metrics["confirmed"]) for k, f in found.items()} == {
        "index_suggestions:public.Orders.customer": ("btree", "not tested"),
        "index_suggestions:public.Orders.note": ("gin_trgm", "not tested")}
    f = found["index_suggestions:public.Orders.customer"]
    assert f.metrics["rows_per_lookup"] == 12 and f.metrics["calls"] == 3
    assert f.fix.splitlines()[-1] == 'CREATE INDEX CONCURRENTLY ON "public"."Orders" ("customer");'
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in found["index_suggestions:public.Orders.note"].fix
    assert db.findings("index_suggestions") == {}   # PgHero's defaults: 50 calls, 20 ms


@pytest.fixture(scope="module")
def pg15(pg15_server):
    return new_database(pg15_server, "hypo")


def test_hypopg_confirms_a_selective_index_and_drops_a_useless_one(pg15):
    pg15.sql(SETUP + "CREATE EXTENSION hypopg;")
    pg15.sql("SELECT pg_stat_statements_reset()")
    with psycopg.connect(pg15.dsn, autocommit=True) as conn:
        for _ in range(3):
            conn.execute('SELECT * FROM "Orders" WHERE customer = %s', (7,))
            conn.execute('SELECT count(*) FROM "Orders" WHERE paid = %s', (True,))   # half the table
    (result,) = pg15.audit("index_suggestions", min_calls=1, min_mean_ms=0).checks
    assert result.status == "ok" and pg15.target and result.reason is None
    found = {f.key: f for f in result.findings}
    assert set(found) == {"index_suggestions:public.Orders.customer"}
    m = found["index_suggestions:public.Orders.customer"].metrics
    assert m["confirmed"] == "yes" and m["cost_after"] < m["cost_before"] / 2
    assert "hypopg: generic plan cost" in m["evidence"]
    # the hypothetical index is gone: the audit wrote nothing
    assert pg15.sql("SELECT count(*) FROM pg_indexes WHERE tablename = 'Orders'") == [(2,)]


def test_top_queries_reads_the_column_names_of_postgresql_15(pg15):
    pg15.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
    pg15.sql("SELECT count(*) FROM pg_class WHERE relname = 'x'")
    (result,) = pg15.audit("top_queries").checks
    assert result.status == "ok", result.reason
    assert "SELECT count(*) FROM pg_class WHERE relname = $1" in [f.detail for f in result.findings]
