-- The pgvet demo database: a forum with a crypto economy, and the defects real audits find.
-- Sizes and defect counts come from planted.yml through settings pgvet_demo.<name>
-- (read by pg_temp.n). Identifiers are deterministic (md5 of a label), random() is seeded.
CREATE FUNCTION pg_temp.n(name text) RETURNS int LANGUAGE sql STABLE
    AS $$ SELECT current_setting('pgvet_demo.' || name)::int $$;
CREATE FUNCTION pg_temp.uid(kind text, i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
    AS $$ SELECT md5(kind || ':' || i)::uuid $$;
SELECT setseed(current_setting('pgvet_demo.seed')::float8);

CREATE EXTENSION IF NOT EXISTS pgstattuple;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

-- people -------------------------------------------------------------------------------
-- planted: the same enum defined twice; 'admin' is used by no row, member_role by no column
CREATE TYPE user_role AS ENUM ('member', 'moderator', 'admin');
CREATE TYPE member_role AS ENUM ('member', 'moderator', 'admin');

CREATE TABLE roles (id uuid PRIMARY KEY, name text NOT NULL UNIQUE);
INSERT INTO roles SELECT pg_temp.uid('role', g), (ARRAY['member','moderator','admin','banned'])[g]
FROM generate_series(1, pg_temp.n('roles')) g;

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    username    text NOT NULL UNIQUE,
    email       text NOT NULL,
    role_id     uuid NOT NULL REFERENCES roles (id),
    role        user_role NOT NULL,            -- planted: deprecated, see its comment
    group_id    integer,                       -- planted: a legacy column nobody fills any more
    balance     numeric(20, 8) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at  timestamptz NOT NULL
);
COMMENT ON COLUMN users.role IS 'deprecated: use role_id';
CREATE INDEX users_role_id_idx ON users (role_id);
CREATE INDEX idx_users_id ON users (id);   -- planted: duplicates users_pkey
INSERT INTO users
SELECT pg_temp.uid('user', g), 'user' || g, 'user' || g || '@example.org',
       pg_temp.uid('role', 1 + (g % pg_temp.n('roles'))), (ARRAY['member', 'moderator']::user_role[])[1 + g % 2],
       NULL, round((random() * 1000)::numeric, 8),
       timestamptz '2024-01-01' + g * interval '1 hour'
FROM generate_series(1, pg_temp.n('users')) g;

CREATE TABLE badges (id uuid PRIMARY KEY, name text NOT NULL);
INSERT INTO badges SELECT pg_temp.uid('badge', g), 'badge ' || g FROM generate_series(1, pg_temp.n('badges')) g;

CREATE TABLE titles (id uuid PRIMARY KEY, code varchar(64) NOT NULL UNIQUE, name text NOT NULL);
INSERT INTO titles SELECT pg_temp.uid('title', g), 'title_' || g, 'Title ' || g FROM generate_series(1, pg_temp.n('titles')) g;

CREATE TABLE user_badges (
    user_id    uuid NOT NULL REFERENCES users (id),
    badge_id   uuid NOT NULL,
    awarded_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, badge_id)
);
CREATE INDEX user_badges_badge_id_idx ON user_badges (badge_id);
INSERT INTO user_badges
SELECT pg_temp.uid('user', u), pg_temp.uid('badge', b), timestamptz '2025-01-01' + u * interval '1 minute'
FROM generate_series(1, pg_temp.n('users')) u, generate_series(1, pg_temp.n('badges')) b
WHERE (u + b) % 7 = 0;
-- planted: many rows pointing at a few badges that were deleted, then an FK added NOT VALID
INSERT INTO user_badges
SELECT pg_temp.uid('user', g), pg_temp.uid('deleted-badge', 1 + g % pg_temp.n('user_badges_missing_parents')),
       timestamptz '2025-06-01'
FROM generate_series(1, pg_temp.n('user_badges_orphans')) g;
ALTER TABLE user_badges ADD CONSTRAINT user_badges_badge_id_fkey
    FOREIGN KEY (badge_id) REFERENCES badges (id) NOT VALID;

CREATE TABLE user_titles (
    user_id    uuid NOT NULL REFERENCES users (id),
    title_code varchar(32) NOT NULL REFERENCES titles (code),   -- planted: varchar(32) -> varchar(64)
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, title_code)
);
CREATE INDEX user_titles_title_code_idx ON user_titles (title_code);
INSERT INTO user_titles
SELECT pg_temp.uid('user', g), 'title_' || (1 + g % pg_temp.n('titles')), timestamptz '2025-02-01'
FROM generate_series(1, pg_temp.n('users'), 3) g;
-- planted: rows loaded by a replication-role session bypass even a VALID foreign key
SET session_replication_role = replica;
INSERT INTO user_titles
SELECT pg_temp.uid('ghost-user', g), 'title_1', timestamptz '2025-03-01'
FROM generate_series(1, pg_temp.n('user_titles_orphans')) g;
RESET session_replication_role;

-- forum structure ----------------------------------------------------------------------
CREATE TABLE forums (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id bigint REFERENCES forums (id),
    name      text NOT NULL
);
CREATE INDEX forums_parent_id_idx ON forums (parent_id);
INSERT INTO forums (parent_id, name) SELECT NULL, 'Forum ' || g FROM generate_series(1, pg_temp.n('forums')) g;

CREATE TABLE thread_prefixes (id uuid PRIMARY KEY, label text NOT NULL);
INSERT INTO thread_prefixes SELECT pg_temp.uid('prefix', g), 'prefix ' || g FROM generate_series(1, pg_temp.n('thread_prefixes')) g;

CREATE TABLE threads (
    id         uuid PRIMARY KEY,
    forum_id   integer NOT NULL REFERENCES forums (id),    -- planted: int4 -> int8
    prefix_id  uuid REFERENCES thread_prefixes (id),
    author_id  uuid NOT NULL REFERENCES users (id),
    title      text NOT NULL,
    status     text NOT NULL,                  -- planted: three values, nothing validates them
    created_at timestamptz NOT NULL
);
CREATE INDEX threads_forum_id_idx ON threads (forum_id);
CREATE INDEX threads_prefix_id_idx ON threads (prefix_id);
CREATE INDEX threads_author_id_idx ON threads (author_id);
INSERT INTO threads
SELECT pg_temp.uid('thread', g), 1 + g % pg_temp.n('forums'),
       CASE WHEN g % 3 = 0 THEN pg_temp.uid('prefix', 1 + g % pg_temp.n('thread_prefixes')) END,
       pg_temp.uid('user', 1 + g % pg_temp.n('users')), 'Thread ' || g,
       (ARRAY['open', 'closed', 'archived'])[1 + g % 3], timestamptz '2024-02-01' + g * interval '10 minutes'
FROM generate_series(1, pg_temp.n('threads')) g;

CREATE TABLE posts (
    id         uuid PRIMARY KEY,
    thread_id  uuid NOT NULL,
    author_id  uuid NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    edited_at  timestamptz
);
INSERT INTO posts
SELECT pg_temp.uid('post', g), pg_temp.uid('thread', 1 + g % pg_temp.n('threads')),
       pg_temp.uid('user', 1 + (g * 7) % pg_temp.n('users')),
       'Post ' || g || ': ' || repeat(md5(g::text), 2 + g % 3),
       timestamptz '2024-02-01' + g * interval '1 minute',
       CASE WHEN g % 10 = 0 THEN timestamptz '2024-02-01' + g * interval '1 minute' + interval '5 minutes' END
FROM generate_series(1, pg_temp.n('posts')) g;
-- bulk load first, then one validating scan per FK instead of a trigger call per row
ALTER TABLE posts ADD CONSTRAINT posts_thread_id_fkey FOREIGN KEY (thread_id) REFERENCES threads (id),
                  ADD CONSTRAINT posts_author_id_fkey FOREIGN KEY (author_id) REFERENCES users (id);
CREATE INDEX posts_thread_id_idx ON posts (thread_id);
CREATE INDEX posts_author_id_idx ON posts (author_id);
CREATE INDEX idx_posts_edited_at ON posts (edited_at);   -- planted: never used

-- crypto economy -----------------------------------------------------------------------
CREATE TABLE transactions (
    id         uuid PRIMARY KEY,
    legacy_id  integer NOT NULL UNIQUE,      -- the old serial key, kept after the uuid migration
    user_id    uuid NOT NULL REFERENCES users (id),
    kind       text NOT NULL CHECK (kind IN ('tip', 'rain', 'deposit', 'withdrawal')),
    amount     numeric(20, 8) NOT NULL,       -- planted: never negative, no CHECK says so
    created_at timestamptz NOT NULL
);
CREATE INDEX transactions_user_id_idx ON transactions (user_id);
INSERT INTO transactions
SELECT pg_temp.uid('tx', g), g, pg_temp.uid('user', 1 + g % pg_temp.n('users')),
       (ARRAY['tip','rain','deposit','withdrawal'])[1 + g % 4], round((random() * 50)::numeric, 8),
       timestamptz '2024-03-01' + g * interval '5 minutes'
FROM generate_series(1, pg_temp.n('transactions')) g;

-- planted: transaction_id integer "references" transactions(id) uuid; the REFERENCES was rejected
CREATE TABLE rain_events (
    id             uuid PRIMARY KEY,
    host_user_id   uuid NOT NULL REFERENCES users (id),
    transaction_id integer,
    amount         numeric(20, 8) NOT NULL CHECK (amount >= 0),
    created_at     timestamptz NOT NULL
);
CREATE INDEX rain_events_host_user_id_idx ON rain_events (host_user_id);
INSERT INTO rain_events
SELECT pg_temp.uid('rain', g), pg_temp.uid('user', 1 + g % pg_temp.n('users')),
       CASE WHEN g <= pg_temp.n('rain_resolvable') THEN g * 17                        -- an existing legacy_id
            WHEN g <= pg_temp.n('rain_with_value') THEN 1000000 + g                    -- matches nothing
       END,
       round((random() * 5)::numeric, 8), timestamptz '2025-01-01' + g * interval '1 hour'
FROM generate_series(1, pg_temp.n('rain_events')) g;

-- planted: a table created under a "no foreign keys" policy: both references are implied only,
-- and some subscriptions outlived threads deleted by a cleanup script
CREATE TABLE thread_subscriptions (
    user_id    uuid NOT NULL,
    thread_id  uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, thread_id)
);
INSERT INTO thread_subscriptions
SELECT pg_temp.uid('user', 1 + g % pg_temp.n('users')), pg_temp.uid('thread', 1 + (g * 13) % pg_temp.n('threads')),
       timestamptz '2025-05-01' + g * interval '1 minute'
FROM generate_series(1, pg_temp.n('thread_subscriptions')) g;
INSERT INTO thread_subscriptions
SELECT pg_temp.uid('user', g), pg_temp.uid('deleted-thread', g), timestamptz '2025-05-20'
FROM generate_series(1, pg_temp.n('thread_subscriptions_orphans')) g;

-- planted: a polymorphic reference; content_type names the table content_id points into
CREATE TABLE reactions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    content_type text NOT NULL CHECK (content_type IN ('Post', 'Thread')),
    content_id   uuid NOT NULL,
    emoji        text NOT NULL CHECK (emoji IN ('+1', 'heart', 'laugh'))
);
CREATE INDEX reactions_user_id_idx ON reactions (user_id);
INSERT INTO reactions
SELECT pg_temp.uid('reaction', g), pg_temp.uid('user', 1 + g % pg_temp.n('users')),
       CASE WHEN g % 4 = 0 THEN 'Thread' ELSE 'Post' END,
       CASE WHEN g % 4 = 0 THEN pg_temp.uid('thread', 1 + g % pg_temp.n('threads'))
            ELSE pg_temp.uid('post', 1 + g % pg_temp.n('posts')) END,
       (ARRAY['+1','heart','laugh'])[1 + g % 3]
FROM generate_series(1, pg_temp.n('reactions')) g;

-- planted: a bigint sequence feeding an integer column, 80 % of the way to the column's maximum
CREATE SEQUENCE tips_id_seq AS bigint;
CREATE TABLE tips (
    id           integer PRIMARY KEY DEFAULT nextval('tips_id_seq'),
    from_user_id uuid NOT NULL REFERENCES users (id) ON DELETE SET NULL,   -- planted: fails at delete time
    amount       numeric(20, 8) NOT NULL CHECK (amount >= 0)
);
CREATE INDEX tips_from_user_id_idx ON tips (from_user_id);
SELECT setval('tips_id_seq', (2147483647 * current_setting('pgvet_demo.tips_id_used_pct')::numeric / 100)::bigint
                             - pg_temp.n('tips'));
INSERT INTO tips (from_user_id, amount)
SELECT pg_temp.uid('user', 1 + g % pg_temp.n('users')), 1 FROM generate_series(1, pg_temp.n('tips')) g;

-- planted: a half-finished id migration left notifications.user_id an integer (users.id is uuid)
CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    user_id    integer NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO notifications
SELECT pg_temp.uid('notification', g), g, 'You have a new tip', timestamptz '2025-07-01' + g * interval '1 hour'
FROM generate_series(1, pg_temp.n('notifications')) g;

-- planted: a log table with neither a primary key nor any index
CREATE TABLE audit_log (at timestamptz NOT NULL, message text NOT NULL);
INSERT INTO audit_log SELECT timestamptz '2025-01-01' + g * interval '1 day', 'nightly job ran'
FROM generate_series(1, 50) g;

-- shop ---------------------------------------------------------------------------------
CREATE TABLE products (id uuid PRIMARY KEY, name text NOT NULL, price numeric(12, 2) NOT NULL CHECK (price >= 0));
INSERT INTO products SELECT pg_temp.uid('product', g), 'Product ' || g, (g % 90) + 0.99
FROM generate_series(1, pg_temp.n('products')) g;

CREATE TABLE orders (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    status     text NOT NULL CHECK (status IN ('abandoned', 'paid', 'shipped')),
    note       text,
    paypal_transaction_id text,                 -- not a reference: the payment provider's id
    created_at timestamptz NOT NULL
) WITH (autovacuum_enabled = false);      -- planted: part of the bloat story
CREATE INDEX orders_user_id_idx ON orders (user_id);
INSERT INTO orders
SELECT pg_temp.uid('order', g), pg_temp.uid('user', 1 + g % pg_temp.n('users')),
       CASE WHEN g <= pg_temp.n('orders_deleted') THEN 'abandoned' WHEN g % 4 = 0 THEN 'shipped' ELSE 'paid' END,
       'gift wrap: ' || md5(g::text), 'PAYID-' || upper(substr(md5('pp' || g), 1, 20)),
       timestamptz '2025-04-01' + g * interval '2 minutes'
FROM generate_series(1, pg_temp.n('orders')) g;

-- planted bloat: abandoned carts deleted, no VACUUM (autovacuum is off for orders). Done before
-- order_items exists: with its unindexed FK each deleted order would scan order_items.
DELETE FROM orders WHERE status = 'abandoned';

CREATE TABLE order_items (
    id         uuid PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id),      -- planted: no index
    product_id uuid NOT NULL REFERENCES products (id),
    quantity   integer NOT NULL CHECK (quantity > 0)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);
INSERT INTO order_items
SELECT pg_temp.uid('item', o * 10 + k), pg_temp.uid('order', o), pg_temp.uid('product', 1 + (o + k) % pg_temp.n('products')), 1 + k
FROM generate_series(pg_temp.n('orders_deleted') + 1, pg_temp.n('orders')) o,
     generate_series(1, pg_temp.n('order_items_per_kept_order')) k;

-- planted: the check trigger of order_items.product_id disabled, then items for unknown products
DO $$
DECLARE t name;
BEGIN
    FOR t IN SELECT tg.tgname FROM pg_trigger tg JOIN pg_constraint c ON c.oid = tg.tgconstraint
             WHERE c.conname = 'order_items_product_id_fkey' AND tg.tgrelid = 'order_items'::regclass
    LOOP
        EXECUTE format('ALTER TABLE order_items DISABLE TRIGGER %I', t);
    END LOOP;
END $$;
INSERT INTO order_items
SELECT pg_temp.uid('stray-item', g), pg_temp.uid('order', pg_temp.n('orders')), pg_temp.uid('gone-product', g), 1
FROM generate_series(1, pg_temp.n('order_items_orphans')) g;
