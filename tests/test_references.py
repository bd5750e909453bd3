"""Broken references on the real server, table-driven: each case builds a small messy schema and
lists EVERY finding the reference checks must report on it (key -> the metrics that matter).
A case that lists nothing must produce nothing."""
from dataclasses import dataclass, field

import psycopg
import pytest

from pgvet.references.orphans import wilson_interval

REFERENCE_CHECKS = "reference_type_mismatch,undeclared_foreign_keys,untrusted_foreign_keys,orphaned_rows,fk_type_mismatch"


@dataclass
class Case:
    name: str
    setup: str
    expected: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


UUID_PARENT = """
    CREATE TABLE transactions (id uuid PRIMARY KEY, legacy_id integer NOT NULL UNIQUE);
    INSERT INTO transactions SELECT md5('tx' || g)::uuid, g FROM generate_series(1, 200) g;
"""

CASES = [
    Case("integer column referring to a uuid key, resolvable through the legacy key", UUID_PARENT + """
        CREATE TABLE rain_events (id int PRIMARY KEY, transaction_id integer);
        INSERT INTO rain_events SELECT g, CASE WHEN g <= 40 THEN g WHEN g <= 45 THEN 9000 + g END
        FROM generate_series(1, 50) g;""",
         {"reference_type_mismatch:public.rain_events.transaction_id": dict(
             referenced_table="public.transactions", referenced_column="id", column_type="integer",
             referenced_type="uuid", non_null=45, resolvable_via="legacy_id", resolvable=40, unresolvable=5,
             confidence="high")}),

    Case("integer column referring to a uuid key without a legacy key", """
        CREATE TABLE wallets (id uuid PRIMARY KEY);
        CREATE TABLE deposits (id int PRIMARY KEY, wallet_id int);
        INSERT INTO deposits SELECT g, g FROM generate_series(1, 10) g;""",
         {"reference_type_mismatch:public.deposits.wallet_id": dict(
             column_type="integer", referenced_type="uuid", non_null=10, resolvable_via=None, confidence="medium")}),

    Case("varchar holding uuids referring to a uuid key", UUID_PARENT + """
        CREATE TABLE refunds (id int PRIMARY KEY, transaction_id varchar(36));
        INSERT INTO refunds SELECT g, CASE WHEN g <= 8 THEN md5('tx' || g)::uuid::text
                                           WHEN g = 9 THEN md5('gone')::uuid::text END
        FROM generate_series(1, 10) g;""",
         {"reference_type_mismatch:public.refunds.transaction_id": dict(
             column_type="character varying(36)", referenced_type="uuid", non_null=9,
             resolvable_via="cast to uuid", resolvable=8, unresolvable=1)}),

    Case("a string id of an unrelated domain is not a reference", UUID_PARENT + """
        CREATE TABLE bank_lines (id int PRIMARY KEY, transaction_id text);
        INSERT INTO bank_lines SELECT g, 'TRX-' || g FROM generate_series(1, 30) g;"""),

    Case("int4 column referring to an int8 key without a constraint", """
        CREATE TABLE forums (id bigint PRIMARY KEY);
        INSERT INTO forums SELECT generate_series(1, 20);
        CREATE TABLE threads (id int PRIMARY KEY, forum_id int);
        INSERT INTO threads SELECT g, 1 + g % 20 FROM generate_series(1, 100) g;""",
         {"undeclared_foreign_keys:public.threads.forum_id": dict(
             referenced_table="public.forums", column_type="integer", referenced_type="bigint", orphans=0,
             confidence="high")}),

    Case("declared int4 -> int8 foreign key", """
        CREATE TABLE forums (id bigint PRIMARY KEY);
        CREATE TABLE threads (id int PRIMARY KEY, forum_id int REFERENCES forums);""",
         {"fk_type_mismatch:public.threads.forum_id": dict(column_type="integer", referenced_type="bigint")}),

    Case("camelCase column names", """
        CREATE TABLE "Transactions" ("Id" uuid PRIMARY KEY);
        INSERT INTO "Transactions" SELECT md5('t' || g)::uuid FROM generate_series(1, 50) g;
        CREATE TABLE "Tips" ("Id" int PRIMARY KEY, "transactionId" uuid);
        INSERT INTO "Tips" SELECT g, md5('t' || g)::uuid FROM generate_series(1, 50) g;
        INSERT INTO "Tips" VALUES (51, md5('lost')::uuid), (52, NULL);""",
         {"undeclared_foreign_keys:public.Tips.transactionId": dict(referenced_table="public.Transactions",
                                                                   referenced_column="Id", orphans=1, non_null=51),
          "orphaned_rows:public.Tips.transactionId": dict(orphans=1, non_null=51, checked_rows=52, method="exact",
                                                         declared="no")}),

    Case("a suffix after _id, and a role name", """
        CREATE TABLE groups (id int PRIMARY KEY);
        INSERT INTO groups SELECT generate_series(1, 10);
        CREATE TABLE users (id int PRIMARY KEY);
        INSERT INTO users SELECT generate_series(1, 100);
        CREATE TABLE forums (id int PRIMARY KEY, min_group_id_required int, creator_id int);
        INSERT INTO forums SELECT g, 1 + g % 10, 1 + g % 100 FROM generate_series(1, 40) g;""",
         {"undeclared_foreign_keys:public.forums.min_group_id_required": dict(
             referenced_table="public.groups", orphans=0, confidence="high"),
          "undeclared_foreign_keys:public.forums.creator_id": dict(
             referenced_table="public.users", orphans=0, confidence="high")}),

    Case("names that repeat the child table's prefix", """
        CREATE TABLE poll_options (id uuid PRIMARY KEY);
        INSERT INTO poll_options SELECT md5('o' || g)::uuid FROM generate_series(1, 30) g;
        CREATE TABLE poll_votes (id int PRIMARY KEY, option_id uuid);
        INSERT INTO poll_votes SELECT g, md5('o' || (1 + g % 30))::uuid FROM generate_series(1, 90) g;""",
         {"undeclared_foreign_keys:public.poll_votes.option_id": dict(referenced_table="public.poll_options",
                                                                     orphans=0, confidence="high")}),

    Case("self reference and plural forms in -ies", """
        CREATE TABLE categories (id int PRIMARY KEY, parent_id int);
        INSERT INTO categories SELECT g, CASE WHEN g > 1 THEN g / 2 END FROM generate_series(1, 50) g;
        CREATE TABLE products (id int PRIMARY KEY, category_id int);
        INSERT INTO products SELECT g, 1 + g % 50 FROM generate_series(1, 60) g;
        INSERT INTO products VALUES (61, 999);""",
         {"undeclared_foreign_keys:public.categories.parent_id": dict(referenced_table="public.categories", orphans=0),
          "undeclared_foreign_keys:public.products.category_id": dict(referenced_table="public.categories", orphans=1),
          "orphaned_rows:public.products.category_id": dict(orphans=1, missing_parents=1)}),

    Case("polymorphic pairs are reported as polymorphic", """
        CREATE TABLE events (id int PRIMARY KEY);
        CREATE TABLE groups (id int PRIMARY KEY);
        CREATE TABLE comments (id int PRIMARY KEY, subject_type text, subject_id int);
        INSERT INTO comments VALUES (1, 'Event', 1), (2, 'Group', 7), (3, 'Admin::Group', 7);""",
         {"undeclared_foreign_keys:public.comments.subject_id": dict(
             type_column="subject_type", types="Admin::Group, Event, Group", referenced_table=None),
          # both tables are empty: every value is an orphan, counted per type (Admin::Group -> groups, its last name)
          "orphaned_rows:public.comments.subject_id": dict(orphans=3, unknown_types=None, per_type=(
              "Admin::Group -> public.groups: 1 of 1 orphaned; Event -> public.events: 1 of 1 orphaned; "
              "Group -> public.groups: 1 of 1 orphaned"))}),

    Case("amounts, counts, external ids, retired copies, nested sets and a table's own key are not references", """
        CREATE TABLE customers (id int PRIMARY KEY);
        INSERT INTO customers SELECT generate_series(1, 50);
        CREATE TABLE tokens (id int PRIMARY KEY, coin_id text UNIQUE);
        INSERT INTO tokens SELECT g, 'coin' || g FROM generate_series(1, 50) g;
        CREATE TABLE sessions (id text PRIMARY KEY);
        CREATE TABLE accounts (id int PRIMARY KEY, stripe_customer_id text, external_customer_id int,
                               session_id text, price_paid numeric, reply_count int, lft int, rgt int,
                               account_id int UNIQUE, old_customer_id int, customer_id_legacy int);
        INSERT INTO accounts SELECT g, 'cus_' || g, g, 'sess' || g, g, g, g, g + 1, g, g, g FROM generate_series(1, 50) g;"""),

    Case("a unique non-primary key as target: wallets.coin_id -> tokens.coin_id", """
        CREATE TABLE tokens (id int PRIMARY KEY, coin_id text UNIQUE);
        INSERT INTO tokens SELECT g, 'coin' || g FROM generate_series(1, 20) g;
        CREATE TABLE wallets (id int PRIMARY KEY, coin_id text);
        INSERT INTO wallets SELECT g, 'coin' || (1 + g % 20) FROM generate_series(1, 40) g;""",
         {"undeclared_foreign_keys:public.wallets.coin_id": dict(referenced_table="public.tokens",
                                                                referenced_column="coin_id", orphans=0)}),

    Case("a name that matches but whose values do not is not reported", """
        CREATE TABLE orders (id int PRIMARY KEY);
        INSERT INTO orders SELECT generate_series(1, 10);
        CREATE TABLE shipments (id int PRIMARY KEY, order_id int);
        INSERT INTO shipments SELECT g, 100000 + g FROM generate_series(1, 30) g;"""),

    Case("a NOT VALID foreign key with orphans", """
        CREATE TABLE badges (id int PRIMARY KEY);
        INSERT INTO badges SELECT generate_series(1, 5);
        CREATE TABLE user_badges (user_ref int, badge_id int);
        INSERT INTO user_badges SELECT g, 1 + g % 8 FROM generate_series(1, 80) g;
        ALTER TABLE user_badges ADD FOREIGN KEY (badge_id) REFERENCES badges NOT VALID;""",
         {"untrusted_foreign_keys:public.user_badges.badge_id": dict(reason="not valid", referenced_table="public.badges"),
          "orphaned_rows:public.user_badges.badge_id": dict(orphans=30, missing_parents=3, non_null=80,
                                                           declared="yes")}),

    Case("disabled RI triggers with orphans, and NULLs that are not orphans", """
        CREATE TABLE products (id int PRIMARY KEY);
        INSERT INTO products SELECT generate_series(1, 5);
        CREATE TABLE order_items (id int, product_id int REFERENCES products);
        ALTER TABLE order_items DISABLE TRIGGER ALL;
        INSERT INTO order_items SELECT g, CASE WHEN g <= 10 THEN 1 WHEN g <= 14 THEN 50 + g END
        FROM generate_series(1, 20) g;""",
         {"untrusted_foreign_keys:public.order_items.product_id": dict(reason="triggers disabled"),
          "orphaned_rows:public.order_items.product_id": dict(orphans=4, non_null=14, checked_rows=20)}),

    Case("orphans under a VALID foreign key, loaded in replica mode", """
        CREATE TABLE users (id int PRIMARY KEY);
        INSERT INTO users SELECT generate_series(1, 5);
        CREATE TABLE titles (user_id int REFERENCES users);
        INSERT INTO titles SELECT 1 + g % 5 FROM generate_series(1, 10) g;
        SET session_replication_role = replica;
        INSERT INTO titles VALUES (77), (78);
        RESET session_replication_role;""",
         {"orphaned_rows:public.titles.user_id": dict(orphans=2, declared="yes")}),

    Case("orphans_scope untrusted skips valid foreign keys", """
        CREATE TABLE users (id int PRIMARY KEY);
        INSERT INTO users SELECT generate_series(1, 5);
        CREATE TABLE titles (user_id int REFERENCES users);
        SET session_replication_role = replica;
        INSERT INTO titles VALUES (77);
        RESET session_replication_role;""", {}, {"orphans_scope": "untrusted"}),

    Case("composite foreign keys: a NULL in either column is not checked", """
        CREATE TABLE sites (region int, code int, PRIMARY KEY (region, code));
        INSERT INTO sites VALUES (1, 1), (1, 2);
        CREATE TABLE visits (region int, code int, FOREIGN KEY (region, code) REFERENCES sites NOT VALID);
        ALTER TABLE visits DISABLE TRIGGER ALL;
        INSERT INTO visits VALUES (1, 1), (1, 3), (2, 1), (2, 1), (NULL, 9), (9, NULL);""",
         {"untrusted_foreign_keys:public.visits.region, code": dict(reason="triggers disabled"),
          "orphaned_rows:public.visits.region, code": dict(orphans=3, missing_parents=2, non_null=4,
                                                          checked_rows=6)}),

    Case("schemas and names that need quoting", '''
        CREATE SCHEMA "Shop ""EU""";
        CREATE TABLE "Shop ""EU"""."Order Items" ("Item Id" int PRIMARY KEY);
        INSERT INTO "Shop ""EU"""."Order Items" SELECT generate_series(1, 3);
        CREATE TABLE "Shop ""EU"""."Line's" (x int, "Item Id" int);
        INSERT INTO "Shop ""EU"""."Line's" VALUES (1, 1), (2, 4);
        ALTER TABLE "Shop ""EU"""."Line's" ADD FOREIGN KEY ("Item Id") REFERENCES "Shop ""EU"""."Order Items" NOT VALID;''',
         {"untrusted_foreign_keys:Shop \"EU\".Line's.Item Id": dict(reason="not valid"),
          "orphaned_rows:Shop \"EU\".Line's.Item Id": dict(orphans=1, referenced_table='Shop "EU".Order Items')}),

    Case("partitioned tables: the reference is counted across every partition", """
        CREATE TABLE users (id int PRIMARY KEY);
        INSERT INTO users SELECT generate_series(1, 10);
        CREATE TABLE posts (id int, user_id int, created date) PARTITION BY RANGE (created);
        CREATE TABLE posts_2024 PARTITION OF posts FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE posts_2025 PARTITION OF posts FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        INSERT INTO posts SELECT g, 1 + g % 10, date '2024-06-01' + g * 10 FROM generate_series(1, 40) g;
        INSERT INTO posts VALUES (41, 99, '2024-02-02'), (42, 98, '2025-02-02');""",
         {"undeclared_foreign_keys:public.posts.user_id": dict(referenced_table="public.users", orphans=2),
          "orphaned_rows:public.posts.user_id": dict(orphans=2, checked_rows=42)}),

    Case("a column comment names the target", """
        CREATE TABLE ledgers (id int PRIMARY KEY);
        INSERT INTO ledgers SELECT generate_series(1, 5);
        CREATE TABLE entries (id int PRIMARY KEY, book int);
        COMMENT ON COLUMN entries.book IS 'references ledgers(id)';
        INSERT INTO entries SELECT g, 1 + g % 6 FROM generate_series(1, 12) g;""",
         {"undeclared_foreign_keys:public.entries.book": dict(referenced_table="public.ledgers", orphans=2,
                                                             confidence="high"),
          "orphaned_rows:public.entries.book": dict(orphans=2, missing_parents=1)}),

    Case("a clean schema with declared, valid, fully used foreign keys", """
        CREATE TABLE users (id uuid PRIMARY KEY);
        INSERT INTO users SELECT md5('u' || g)::uuid FROM generate_series(1, 20) g;
        CREATE TABLE posts (id int PRIMARY KEY, user_id uuid NOT NULL REFERENCES users, reply_to_id int REFERENCES posts);
        INSERT INTO posts SELECT g, md5('u' || (1 + g % 20))::uuid, NULLIF(g - 1, 0) FROM generate_series(1, 50) g;"""),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reference_checks_report_exactly_the_expected_findings(db, case):
    db.sql(case.setup)
    db.sql("ANALYZE")
    run = db.audit(REFERENCE_CHECKS, **case.params)
    assert {c.id: (c.status, c.reason, c.notes) for c in run.checks} == {
        c: ("ok", None, []) for c in REFERENCE_CHECKS.split(",")}
    found = {f.key: f.metrics for f in run.findings}
    assert sorted(found) == sorted(case.expected)
    for key, metrics in case.expected.items():
        assert {k: found[key].get(k) for k in metrics} == metrics, key


def test_a_column_with_no_value_is_critical_only_on_strong_evidence(db):
    db.sql("""CREATE TABLE wallets (id uuid PRIMARY KEY);
              CREATE TABLE pending (id int PRIMARY KEY, wallet_id int, last_wallet_id int, wallet_ref_id text);
              INSERT INTO pending SELECT g, NULL, NULL, NULL FROM generate_series(1, 20) g;
              COMMENT ON COLUMN pending.wallet_ref_id IS 'references wallets';
              CREATE TABLE deposits (id int PRIMARY KEY, last_wallet_id int);
              INSERT INTO deposits SELECT g, g FROM generate_series(1, 5) g; ANALYZE;""")
    found = {f.key.removeprefix("reference_type_mismatch:public."): (f.severity, f.metrics["confidence"], f.metrics["non_null"])
             for f in db.findings("reference_type_mismatch").values()}
    assert found == {"pending.wallet_id": ("critical", "medium", 0),        # the exact name: still critical
                     "pending.last_wallet_id": ("warning", "low", 0),       # a qualifier and no data: a low warning
                     "pending.wallet_ref_id": ("info", "medium", 0),        # a string column, all NULL: a note
                     "deposits.last_wallet_id": ("warning", "low", 5)}      # a qualifier the data cannot confirm
    detail = db.findings("reference_type_mismatch")["reference_type_mismatch:public.pending.wallet_id"].detail
    assert detail.endswith("it holds no value yet, so no data confirms the reference")


def test_hints_file_adds_a_reference_and_ignores_another(db, tmp_path):
    db.sql("""CREATE TABLE ledgers (id int PRIMARY KEY);
              INSERT INTO ledgers SELECT generate_series(1, 5);
              CREATE TABLE users (id int PRIMARY KEY);
              INSERT INTO users SELECT generate_series(1, 5);
              CREATE TABLE entries (id int PRIMARY KEY, book int, user_id int);
              INSERT INTO entries SELECT g, 1 + g % 7, 1 + g % 5 FROM generate_series(1, 14) g; ANALYZE;""")
    hints = tmp_path / "references.yml"
    hints.write_text("references:\n  entries.book: public.ledgers.id\nignore:\n  - public.entries.user_id\n")
    found = db.findings("undeclared_foreign_keys", hints_file=str(hints))
    assert {k: (f.metrics["orphans"], f.metrics["evidence"].split(";")[0]) for k, f in found.items()} == {
        "undeclared_foreign_keys:public.entries.book": (4, "hint: references.yml")}


def test_a_large_table_is_sampled_and_the_estimate_brackets_the_truth(db):
    db.sql("""CREATE TABLE users (id int PRIMARY KEY);
              INSERT INTO users SELECT generate_series(1, 1000);
              CREATE TABLE logins (user_id int REFERENCES users);
              ALTER TABLE logins DISABLE TRIGGER ALL;
              -- 2,000 orphans in ONE contiguous block: what SYSTEM sampling misses
              INSERT INTO logins SELECT CASE WHEN g BETWEEN 50001 AND 52000 THEN 5000 ELSE 1 + g % 1000 END
              FROM generate_series(1, 100000) g;
              ANALYZE;""")
    found = db.findings("orphaned_rows", sample_above_rows=50000, sample_rows=20000)
    m = found["orphaned_rows:public.logins.user_id"].metrics
    assert m["method"] == "sampled"
    assert 15000 <= m["checked_rows"] <= 25000
    assert m["estimate_low"] <= 2000 <= m["estimate_high"]
    assert m["estimate_low"] <= m["orphans"] <= m["estimate_high"]


def test_a_relationship_that_times_out_is_reported_and_the_others_still_count(db):
    db.sql("""CREATE TABLE users (id int PRIMARY KEY);
              INSERT INTO users SELECT generate_series(1, 10);
              CREATE TABLE small (user_id int);
              INSERT INTO small VALUES (1), (42);
              CREATE TABLE locked (user_id int);
              INSERT INTO locked VALUES (43);
              ALTER TABLE small ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;
              ALTER TABLE locked ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID; ANALYZE;""")
    with psycopg.connect(db.dsn) as holder:   # a migration holding ACCESS EXCLUSIVE on one child table
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        run = db.audit("orphaned_rows", jobs=2)
    (result,) = run.checks
    assert result.status == "partial"
    assert {f.key: f.metrics["orphans"] for f in result.findings} == {"orphaned_rows:public.small.user_id": 1}
    assert result.unchecked == ["orphans of public.locked.user_id -> public.users (lock timeout: the table is locked "
                                "by another session)"]
    assert result.reason.startswith("1 not checked (lock timeout")


def test_wilson_interval_brackets_the_observed_share():
    low, high = wilson_interval(20, 1000)
    assert low < 0.02 < high and round(low, 4) == 0.013 and round(high, 4) == 0.0307
    assert wilson_interval(0, 100)[0] == 0.0 and wilson_interval(0, 100)[1] > 0.03


# -- remediation: the suggested SQL is valid and does what it says -----------------------------
def _apply(db, fix: str):
    """Run a fix statement by statement, as a DBA would paste it (CONCURRENTLY needs autocommit)."""
    statement = []
    for line in fix.splitlines():
        if line.startswith("--"):
            continue
        statement.append(line)
        if line.rstrip().endswith(";"):
            db.sql("\n".join(statement))
            statement = []


def test_the_type_mismatch_fix_preserves_every_resolvable_relationship(db):
    db.sql(UUID_PARENT + """
        CREATE TABLE rain_events (id int PRIMARY KEY, transaction_id integer);
        INSERT INTO rain_events SELECT g, CASE WHEN g <= 40 THEN g WHEN g <= 45 THEN 9000 + g END
        FROM generate_series(1, 50) g; ANALYZE;""")
    (finding,) = db.findings("reference_type_mismatch").values()
    assert "gen_random_uuid()" not in finding.fix.replace("USING gen_random_uuid()", "")
    _apply(db, finding.fix)
    assert db.sql("""SELECT count(*) FILTER (WHERE t.legacy_id = r.transaction_id_legacy), count(r.transaction_id),
                            count(*) FILTER (WHERE r.transaction_id_legacy IS NOT NULL AND r.transaction_id IS NULL)
                     FROM rain_events r LEFT JOIN transactions t ON t.id = r.transaction_id""") == [(40, 40, 5)]
    assert db.sql("SELECT convalidated FROM pg_constraint WHERE conname = 'rain_events_transaction_id_fkey'") == [(True,)]
    db.sql("ANALYZE")
    assert db.findings("reference_type_mismatch") == {}


def test_the_undeclared_fix_declares_and_indexes_the_reference(db):
    db.sql("""CREATE TABLE "Users" (id int PRIMARY KEY);
              INSERT INTO "Users" SELECT generate_series(1, 10);
              CREATE TABLE "Posts" (id int PRIMARY KEY, "user_id" int);
              INSERT INTO "Posts" SELECT g, 1 + g % 10 FROM generate_series(1, 30) g; ANALYZE;""")
    (finding,) = db.findings("undeclared_foreign_keys").values()
    _apply(db, finding.fix)
    assert db.sql("""SELECT c.convalidated, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                            AND i.indkey[0] = c.conkey[1]) FROM pg_constraint c WHERE c.contype = 'f'""") == [(True, True)]
    assert db.findings("undeclared_foreign_keys") == {}


def test_the_untrusted_fix_validates_and_re_enables_triggers_once_orphans_are_gone(db):
    db.sql("""CREATE TABLE products (id int PRIMARY KEY);
              INSERT INTO products SELECT generate_series(1, 5);
              CREATE TABLE "Order Items" (product_id int);
              INSERT INTO "Order Items" VALUES (1), (99);
              ALTER TABLE "Order Items" ADD FOREIGN KEY (product_id) REFERENCES products NOT VALID;
              ALTER TABLE "Order Items" DISABLE TRIGGER ALL;""")
    (finding,) = db.findings("untrusted_foreign_keys").values()
    db.sql('DELETE FROM "Order Items" WHERE product_id = 99')
    _apply(db, finding.fix)
    assert db.findings("untrusted_foreign_keys") == {}


# -- drill-down ------------------------------------------------------------------------------------
def test_the_orphan_drill_down_shows_keys_only_and_is_capped(db):
    from pgvet.references import discover
    from pgvet.references.explore import orphan_sample

    db.sql("""CREATE TABLE users (id int PRIMARY KEY);
              CREATE TABLE notes (id int PRIMARY KEY, user_id int, secret text);
              INSERT INTO notes SELECT g, 100 + g, 'do not show' FROM generate_series(1, 50) g;
              ALTER TABLE notes ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;""")
    with psycopg.connect(db.dsn) as conn:
        (ref,) = [r for r in discover(conn) if r.key == "public.notes.user_id"]
        rows = orphan_sample(conn, ref, limit=500)
    assert [list(r) for r in rows[:1]] == [["id", "user_id"]]
    assert len(rows) == 20 and [r["id"] for r in rows[:3]] == ["1", "2", "3"]
    page = db.audit("orphaned_rows").page("orphans").data     # the run captures the worst reference's sample
    assert page["reference"] == "public.notes.user_id" and len(page["rows"]) == 5


def test_an_unknown_orphans_scope_is_a_usage_error(db):
    from pgvet.errors import UsageError

    with pytest.raises(UsageError, match="orphans_scope"):
        db.audit("orphaned_rows", orphans_scope="some")


def test_polymorphic_orphans_are_counted_per_type_value(db):
    db.sql("""CREATE TABLE posts (id int PRIMARY KEY); INSERT INTO posts SELECT generate_series(1, 30);
              CREATE TABLE comments (id int PRIMARY KEY); INSERT INTO comments SELECT generate_series(1, 20);
              CREATE TABLE events (id int PRIMARY KEY); INSERT INTO events SELECT generate_series(1, 9);
              CREATE TABLE photos (id int PRIMARY KEY);
              CREATE TABLE reactions (id serial PRIMARY KEY, subject_id int, subject_type text);
              INSERT INTO reactions (subject_id, subject_type)
                  SELECT g, 'Post' FROM generate_series(1, 32) g                 -- 31, 32: 2 orphans
                  UNION ALL SELECT g, 'Comment' FROM generate_series(1, 20) g    -- none
                  UNION ALL SELECT g, 'Event::Course' FROM generate_series(1, 10) g   -- STI parent events: 1
                  UNION ALL SELECT g, 'public.photos' FROM generate_series(1, 5) g    -- empty table: 5
                  UNION ALL SELECT g, 'Ghost' FROM generate_series(1, 3) g       -- names no table
                  UNION ALL SELECT NULL, 'Post';
              ANALYZE;""")
    (f,) = [f for f in db.findings("orphaned_rows").values() if f.metrics["counted_by"] == "per type"]
    assert (f.key, f.severity, f.metrics["orphans"], f.metrics["non_null"]) == (
        "orphaned_rows:public.reactions.subject_id", "critical", 8, 70)
    assert f.metrics["per_type"] == ("Comment -> public.comments: 0 of 20 orphaned; "
                                     "Event::Course -> public.events: 1 of 10 orphaned; "
                                     "Post -> public.posts: 2 of 32 orphaned; public.photos -> public.photos: 5 of 5 orphaned")
    assert f.metrics["unknown_types"] == "Ghost (3 rows)"
