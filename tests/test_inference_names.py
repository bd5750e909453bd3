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
