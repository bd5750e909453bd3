"""The demo database: every planted defect that a shipped check covers is found with its exact
numbers, and nothing outside the planted set is reported."""
import pytest

from pgvet.catalog import load_checks
from pgvet.demo import planted

SHIPPED = {c.id for c in load_checks()}
LISTINGS = set(planted()["listings"])
EXPECTED = {key: (name, metrics) for name, d in planted()["defects"].items()
            for key, metrics in (d.get("findings") or {}).items() if key.split(":")[0] in SHIPPED}


NOTES = {"migration_lint": ["Migration folders read: ./ (drizzle, 4 files)"],
         "migration_history": ["./ (drizzle): the database has no __drizzle_migrations table, so whether its files "
                               "were applied is unknown"]}


def test_every_shipped_check_ran_cleanly_on_the_demo(demo_audit):
    assert {c.id: (c.status, c.notes) for c in demo_audit.checks} == {c: ("ok", NOTES.get(c, [])) for c in SHIPPED}


def test_every_fix_on_the_demo_is_written_as_statements_of_its_checks_kinds(demo_audit):
    from pgvet.fixsafety import safe_fix

    with_fix = [f for f in demo_audit.findings if f.fix]
    assert len({f.check for f in with_fix}) >= 12
    assert [f.key for f in with_fix if safe_fix(f).startswith("-- pgvet wrote this fix commented out")] == []


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_planted_defect_is_found_with_its_exact_numbers(demo_audit, key):
    name, expected = EXPECTED[key]
    found = {f.key: f for f in demo_audit.findings}
    assert key in found, f"{name} not found"
    metrics = found[key].metrics
    assert {k: metrics.get(k) for k in expected} == expected


def test_orders_bloat_is_estimated_above_its_planted_share(demo_audit):
    (f,) = [f for f in demo_audit.findings if f.key == "table_bloat:public.orders"]
    assert f.metrics["bloat_pct"] >= planted()["defects"]["orders_bloat"]["min_bloat_pct"]


def test_nothing_outside_the_planted_set_is_reported(demo_audit):
    assert sorted(f.key for f in demo_audit.findings if f.check not in LISTINGS) == sorted(EXPECTED)


def test_the_planted_search_is_the_top_statement_by_time_and_by_blocks(demo_audit):
    (top,) = [f for f in demo_audit.findings if f.check == "top_queries" and f.metrics["time_rank"] == 1]
    assert top.detail == planted()["defects"]["posts_seq_scans"]["top_statement"]
    assert top.metrics["calls"] == planted()["defects"]["posts_seq_scans"]["scans"]
    assert top.metrics["blocks_rank"] == 1


def test_the_demo_plants_the_defects_later_checks_will_look_for(demo_db):
    d = planted()["defects"]
    rain = d["rain_events_transaction_id"]
    assert demo_db.sql("""SELECT count(transaction_id), count(*) - count(transaction_id),
                                 count(t.id) FROM rain_events r LEFT JOIN transactions t ON t.legacy_id = r.transaction_id
                       """) == [(rain["rows_with_value"], rain["rows_null"], rain["resolvable_via_legacy_id"])]
    assert demo_db.sql("SELECT count(*) FROM user_badges ub WHERE NOT EXISTS "
                       "(SELECT 1 FROM badges b WHERE b.id = ub.badge_id)") == [(d["user_badges_not_valid_fk"]["orphans"],)]
    assert demo_db.sql("SELECT convalidated FROM pg_constraint WHERE conname = 'user_badges_badge_id_fkey'") == [(False,)]
    assert demo_db.sql("SELECT count(*) FROM order_items oi WHERE NOT EXISTS "
                       "(SELECT 1 FROM products p WHERE p.id = oi.product_id)") == [(d["order_items_disabled_fk_trigger"]["orphans"],)]
    assert demo_db.sql("SELECT count(*) FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint "
                       "WHERE c.conname = 'order_items_product_id_fkey' AND t.tgrelid = 'order_items'::regclass "
                       "AND t.tgenabled = 'D'") == [(2,)]
    assert demo_db.sql("SELECT count(*) FROM user_titles ut WHERE NOT EXISTS "
                       "(SELECT 1 FROM users u WHERE u.id = ut.user_id)") == [(d["user_titles_orphans_under_valid_fk"]["orphans"],)]
    assert demo_db.sql("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'users'::regclass "
                       "AND indkey::text = '1' ORDER BY 1") == [("idx_users_id",), ("users_pkey",)]
