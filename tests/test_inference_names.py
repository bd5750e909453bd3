"""References behind real names: a qualifier before the entity, a table with a domain prefix, common
abbreviations, `<x>_of_id` self references, external ids vetoed only where no table has the name,
and never a table pointing at itself through its own prefix. Each case lists EVERY reference
undeclared_foreign_keys must infer on it (column -> referenced table); the rest must stay silent."""
import pytest

PARENTS = ("users", "organizations", "configurations", "addresses", "categories", "accounts", "messages",
           "contacts", "providers", "requests", "customers")


def parents(names):
    return "".join(f"CREATE TABLE {n} (id int PRIMARY KEY); INSERT INTO {n} SELECT generate_series(1, 60);\n"
                   for n in names)


def child(table, *columns):
    """A child table whose every column holds values 1..50, all of them keys of any parent above."""
    cols = ", ".join(f"{c} int" for c in columns)
    vals = ", ".join("1 + g % 50" for _ in columns)
    return (f"CREATE TABLE {table} (id int PRIMARY KEY, {cols});\n"
            f"INSERT INTO {table} SELECT g, {vals} FROM generate_series(1, 60) g;\n")


CASES = {
    "qualifiers, abbreviations, self names and the external-id veto": (
        parents(PARENTS)
        + child("threads", "last_message_id") + child("orders", "billing_address_id", "org_id", "acct_id",
                                                       "stripe_customer_id", "session_id")
        + child("comments", "parent_comment_id") + child("approvals", "approved_by_user_id")
        + child("replies", "in_reply_to_user_id") + child("companies", "primary_contact_id")
        + child("settings", "conf_id", "cat_id", "msg_id", "addr_id") + child("logins", "provider_id", "request_id")
        + child("documents", "copy_of_id") + child("repos", "fork_of_id")
        + child("order_media", "media_id") + child("user_badge_items", "badge_item_id") + child("events", "trace_id"),
        {"threads.last_message_id": "messages", "orders.billing_address_id": "addresses",
         "orders.org_id": "organizations", "orders.acct_id": "accounts", "comments.parent_comment_id": "comments",
         "approvals.approved_by_user_id": "users", "replies.in_reply_to_user_id": "users",
         "companies.primary_contact_id": "contacts", "settings.conf_id": "configurations",
         "settings.cat_id": "categories", "settings.msg_id": "messages", "settings.addr_id": "addresses",
         "logins.provider_id": "providers", "logins.request_id": "requests", "documents.copy_of_id": "documents",
         "repos.fork_of_id": "repos"}),
    "tables with a domain prefix; an ambiguous stem is not guessed": (
        parents(("forum_categories", "oauth_clients", "custom_stickers", "billing_policies", "chat_channels",
                 "video_channels"))
        + child("posts", "category_id", "channel_id", "sticker_id") + child("tokens", "client_id")
        + child("chat_messages", "channel_id") + child("invoices", "policy_id"),
        {"posts.category_id": "forum_categories", "posts.sticker_id": "custom_stickers",
         "tokens.client_id": "oauth_clients", "chat_messages.channel_id": "chat_channels",
         "invoices.policy_id": "billing_policies"}),
    "names that match nothing: the one table holding every value": (
        "CREATE TABLE wallets (id uuid PRIMARY KEY); INSERT INTO wallets SELECT md5('w' || g)::uuid "
        "FROM generate_series(1, 300) g;\n"
        + parents(("members", "orders")) + "INSERT INTO members SELECT generate_series(61, 150);\n"
        "INSERT INTO orders SELECT generate_series(61, 150);\n"
        "CREATE TABLE invoices (id int PRIMARY KEY); INSERT INTO invoices SELECT generate_series(1000, 1200);\n"
        "CREATE TABLE palettes (id int PRIMARY KEY); INSERT INTO palettes SELECT generate_series(1, 5);\n"
        "CREATE TABLE payments (id int PRIMARY KEY, payer_ref_id uuid, thing_id int, xyz_id int, colour_id int, "
        "few_id int);\n"
        "INSERT INTO payments SELECT g, md5('w' || g)::uuid, 1 + g % 50, 1000 + g % 50, 1 + g % 3, 1000 + g % 5 "
        "FROM generate_series(1, 100) g;\n",
        # thing_id: members and orders both hold 1..50; colour_id: palettes is a small lookup; few_id: 5 values
        {"payments.payer_ref_id": "wallets", "payments.xyz_id": "invoices"}),
    "a renamed concept: the comment wins; without it, no guess": (
        parents(("roles",)) + child("memberships", "group_id") + child("invites", "group_id")
        + "COMMENT ON COLUMN memberships.group_id IS 'references roles (groups were renamed)';\n",
        {"memberships.group_id": "roles"}),
    "a weak name without matching values is no reference": (
        parents(("forum_categories",)) + "CREATE TABLE posts (id int PRIMARY KEY, category_id int);\n"
        "INSERT INTO posts SELECT g, 1000 + g FROM generate_series(1, 60) g;\n", {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_references_behind_real_names(db, name):
    setup, expected = CASES[name]
    db.sql(setup + "ANALYZE;")
    found = db.findings("undeclared_foreign_keys")
    assert {k.removeprefix("undeclared_foreign_keys:public."): f.metrics["referenced_table"].removeprefix("public.")
            for k, f in found.items()} == expected
    by_values = {k.split(".", 1)[1]: f.metrics["confidence"] for k, f in found.items()
                 if f.metrics["evidence"].startswith("values:")}
    # found by the data alone: these two only, and never more than medium
    assert by_values == ({"payments.payer_ref_id": "medium", "payments.xyz_id": "medium"}
                         if name.startswith("names that match nothing") else {})
