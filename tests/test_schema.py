"""Schema hygiene on the real server: each check finds its case, with quoted identifiers, and stays silent
on a near miss."""


def test_tables_without_primary_key_and_without_indexes(db):
    db.sql("""CREATE SCHEMA "Ops";
              CREATE TABLE "Ops"."Audit Log" (at timestamptz, message text);
              CREATE TABLE keyed_later (code text NOT NULL, n int);
              CREATE UNIQUE INDEX keyed_later_code ON keyed_later (code);
              CREATE TABLE fine (id int PRIMARY KEY);
              CREATE TABLE parted (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
              CREATE TABLE parted_2025 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');""")
    no_pk = db.findings("tables_without_primary_key")
    assert {k: f.metrics["unique_not_null"] for k, f in no_pk.items()} == {
        "tables_without_primary_key:Ops.Audit Log": None, "tables_without_primary_key:public.keyed_later": "keyed_later_code"}
    assert no_pk["tables_without_primary_key:public.keyed_later"].fix.splitlines()[-1] == \
        "ALTER TABLE public.keyed_later ADD PRIMARY KEY USING INDEX keyed_later_code;"
    assert set(db.findings("tables_without_indexes")) == {"tables_without_indexes:Ops.Audit Log"}


def test_unused_columns_always_null_constant_and_deprecated(db):
    db.sql("""CREATE TABLE "Users" (id int PRIMARY KEY, "Group Id" int, plan text, legacy_flag bool, note text,
                                    kind text);
              INSERT INTO "Users" SELECT g, NULL, 'free', g % 2 = 0, 'n' || g, (ARRAY['a','b'])[1 + g % 2]
              FROM generate_series(1, 2000) g;
              COMMENT ON COLUMN "Users".legacy_flag IS 'Deprecated: to be removed after the v2 launch';
              CREATE TABLE small (id int, empty text); INSERT INTO small SELECT g, NULL FROM generate_series(1, 10) g;
              ANALYZE;""")
    found = db.findings("unused_columns")
    assert {k: f.metrics["reason"] for k, f in found.items()} == {
        "unused_columns:public.Users.Group Id": "always NULL",
        "unused_columns:public.Users.plan": "always free",
        "unused_columns:public.Users.legacy_flag": "comment says: Deprecated: to be removed after the v2 launch"}
    assert found["unused_columns:public.Users.plan"].metrics["statistics"] == "present"
    assert found["unused_columns:public.Users.Group Id"].fix.splitlines()[-1] == \
        '-- ALTER TABLE public."Users" DROP COLUMN "Group Id";'


def test_a_flag_never_set_is_its_own_finding_and_a_parameter_leaves_it_out(db):
    db.sql("""CREATE TABLE prefs (id int, beta_opt_in bool, verified bool, active bool);
              INSERT INTO prefs SELECT g, false, g % 3 = 0, true FROM generate_series(1, 1500) g;
              CREATE TABLE empty_prefs (id int, beta bool); ANALYZE;""")
    assert {k: f.metrics["reason"] for k, f in db.findings("unused_columns").items()} == {
        "unused_columns:public.prefs.beta_opt_in": "feature flag never set: always false",
        "unused_columns:public.prefs.active": "always true"}
    assert set(db.findings("unused_columns", unset_flags=False)) == {"unused_columns:public.prefs.active"}


def test_empty_tables_get_no_data_claims_even_with_no_row_floor(db):
    # ten tables with rows and ten of the same shape without: only the full ones can say anything
    db.sql("""DO $$ BEGIN FOR i IN 1..20 LOOP
                  EXECUTE format('CREATE TABLE t%s (id int, gone text, status text, amount int)', i);
                  IF i <= 10 THEN
                      EXECUTE format('INSERT INTO t%s SELECT g, NULL, (ARRAY[''a'',''b''])[1 + g %% 2], g
                                      FROM generate_series(1, 200) g', i);
                  END IF;
              END LOOP; END $$; ANALYZE;""")
    run = db.audit("unused_columns,enum_candidates,check_constraint_candidates", **{
        "unused_columns.min_rows": 0, "enum_candidates.min_rows": 0, "check_constraint_candidates.min_rows": 0})
    tables = {f.table for f in run.findings}
    assert tables == {f"t{i}" for i in range(1, 11)}
    assert {f.check for f in run.findings} == {"unused_columns", "enum_candidates", "check_constraint_candidates"}


def test_deprecated_comment_is_reported_even_without_statistics(db):
    db.sql("""CREATE TABLE t (old_code text); COMMENT ON COLUMN t.old_code IS 'legacy, do not use';""")
    (f,) = db.findings("unused_columns").values()
    assert f.metrics["statistics"] == "missing (run ANALYZE)"


def test_enum_candidates_skip_columns_something_validates(db):
    db.sql("""CREATE TABLE "Orders" (id int PRIMARY KEY, "Status" text, checked text CHECK (checked IN ('x', 'y')),
                                     code text UNIQUE, free text, many text);
              INSERT INTO "Orders" SELECT g, (ARRAY['new','paid','sent'])[1 + g % 3], (ARRAY['x','y'])[1 + g % 2],
                                          'c' || g, 'same', 'v' || (g % 50) FROM generate_series(1, 3000) g;
              ANALYZE;""")
    found = db.findings("enum_candidates")
    assert {k: (f.metrics["distinct_values"], f.metrics["values"]) for k, f in found.items()} == {
        "enum_candidates:public.Orders.Status": (3, "new,paid,sent")}
    fix = found["enum_candidates:public.Orders.Status"].fix
    assert """CHECK ("Status" IN ('new', 'paid', 'sent')) NOT VALID;""" in fix


def test_duplicate_enum_types_and_unused_labels(db):
    db.sql("""CREATE TYPE mood AS ENUM ('happy', 'sad');
              CREATE TYPE "Feeling" AS ENUM ('sad', 'happy');
              CREATE TYPE wide AS ENUM ('happy', 'sad', 'meh');
              CREATE TYPE lonely AS ENUM ('x');
              CREATE TABLE diary (m mood, w wide);
              INSERT INTO diary SELECT (ARRAY['happy','sad']::mood[])[1 + g % 2], 'happy' FROM generate_series(1, 100) g;
              ANALYZE;""")
    found = db.findings("duplicate_enum_types")
    assert {k: (f.metrics["kind"], f.metrics["unused_labels"]) for k, f in found.items()} == {
        "duplicate_enum_types:public.Feeling.public.mood": ("same labels", None),
        "duplicate_enum_types:public.Feeling.public.wide": ("subset", None),
        "duplicate_enum_types:public.mood.public.wide": ("subset", None),
        "duplicate_enum_types:public.Feeling.unused labels": ("unused type", "sad, happy"),
        "duplicate_enum_types:public.lonely.unused labels": ("unused type", "x"),
        "duplicate_enum_types:public.wide.unused labels": ("unused labels", "sad, meh")}


def test_check_constraint_candidates_need_a_money_like_name_non_negative_data_and_no_check(db):
    db.sql("""CREATE TABLE "Wallets" (id int, "Balance" numeric(12,2), fee int, total int CHECK (total >= 0),
                                      delta_amount int, label_count text, temperature int);
              INSERT INTO "Wallets" SELECT g, g * 1.5, g % 7, g, g - 50, 'x', g FROM generate_series(1, 200) g;
              ANALYZE;""")
    found = db.findings("check_constraint_candidates")
    assert {k: f.metrics["observed_min"] for k, f in found.items()} == {
        "check_constraint_candidates:public.Wallets.Balance": 1.5,
        "check_constraint_candidates:public.Wallets.fee": 0}
    assert 'ADD CONSTRAINT "Wallets_Balance_nonnegative" CHECK ("Balance" >= 0) NOT VALID;' in \
        found["check_constraint_candidates:public.Wallets.Balance"].fix


def test_column_type_inconsistency_names_the_odd_tables(db):
    db.sql("""CREATE TABLE a (id uuid, user_id uuid); CREATE TABLE b (id int, user_id uuid);
              CREATE TABLE "C" (id bigint, user_id integer, "Team_id" int); CREATE TABLE d ("Team_id" int);""")
    found = db.findings("column_type_inconsistency")
    assert {k: (f.metrics["types"], f.metrics["minority"]) for k, f in found.items()} == {
        "column_type_inconsistency:user_id": ("uuid (2 tables), integer (1 tables)", "public.C")}


def test_partitioning_candidates_pick_the_time_column(db):
    db.sql("""CREATE TABLE events (id int, updated_at timestamptz, created_at timestamptz, payload text);
              INSERT INTO events SELECT g, now(), now(), repeat('p', 200) FROM generate_series(1, 20000) g;
              CREATE TABLE no_time (id int, payload text);
              INSERT INTO no_time SELECT g, repeat('p', 200) FROM generate_series(1, 20000) g;
              ANALYZE;""")
    found = db.findings("partitioning_candidates", min_table_bytes=1_000_000)
    assert {k: (f.metrics["time_column"], f.metrics["rows"]) for k, f in found.items()} == {
        "partitioning_candidates:public.events": ("created_at", 20000)}
    assert db.findings("partitioning_candidates") == {}


def test_set_null_on_not_null_and_nullable_fks_without_nulls(db):
    db.sql("""CREATE TABLE users (id int PRIMARY KEY);
              INSERT INTO users SELECT generate_series(1, 10);
              CREATE TABLE "Tips" ("From" int NOT NULL REFERENCES users ON DELETE SET NULL,
                                   "To" int REFERENCES users ON DELETE SET NULL,
                                   maybe int REFERENCES users);
              INSERT INTO "Tips" SELECT 1 + g % 10, 1 + g % 10, CASE WHEN g % 2 = 0 THEN 1 END
              FROM generate_series(1, 2000) g;
              ANALYZE;""")
    found = db.findings("nullable_fk_set_null_conflicts")
    assert {k: (f.severity, f.metrics["kind"]) for k, f in found.items()} == {
        "nullable_fk_set_null_conflicts:public.Tips.From": ("critical", "set null on not null"),
        "nullable_fk_set_null_conflicts:public.Tips.To": ("info", "nullable without nulls")}
