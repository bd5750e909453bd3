"""Recall and precision of reference inference on three generated conventions, 60+ tables each.

    python bench/inference_recall.py [--out bench/inference_recall.md] [--lib PATH --label NAME]

Conventions: `rails` (bigint ids, plural snake tables, `<singular>_id`, qualifiers such as
`last_<x>_id`, roles such as `author_id`, `parent_id`, no foreign keys declared: `add_foreign_key`
stripped), `orm` (Prisma-style `"User"` tables with uuid ids and camelCase `userId` columns, plus
integer leftovers that name a uuid-keyed table), `sql` (hand-written: domain-prefixed tables such
as `crm_customers`, abbreviations such as `cust_id`, `org_id`, `<x>_of_id`). Each has decoys a
careful DBA would not call references (amounts, external ids, retired copies, counts). Every
planted reference holds values of its parent (integer leftovers cannot be compared, so only their
names speak). Precision counts every inferred reference whose target is not the planted one.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
LIB = Path(sys.argv[sys.argv.index("--lib") + 1]) if "--lib" in sys.argv else ROOT / "lib"
sys.path.insert(0, str(LIB))

from pgvet.connection import resolve_target  # noqa: E402
from pgvet.runner import run_audit  # noqa: E402
from pgvet.server import EmbeddedServer  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from catalog import emit  # noqa: E402

ENTITIES = ["user", "account", "organization", "project", "task", "comment", "post", "tag", "category", "product",
            "order", "invoice", "payment", "customer", "address", "shipment", "carrier", "warehouse", "supplier",
            "employee", "department", "team", "role", "message", "channel", "thread", "attachment", "document",
            "folder", "event", "venue", "ticket", "booking", "room", "hotel", "flight", "airport", "course",
            "lesson", "student", "teacher", "school", "grade", "exam", "question", "answer", "survey", "vote",
            "poll", "badge", "reward", "coupon", "campaign", "subscriber", "newsletter", "article", "author_bio",
            "review", "rating", "wishlist"]
PLURAL = {"category": "categories", "address": "addresses", "company": "companies", "reply": "replies",
          "author_bio": "author_bios", "wishlist": "wishlists", "survey": "surveys"}
ABBREVIATED = {"organization": "org", "account": "acct", "customer": "cust", "address": "addr", "message": "msg",
               "category": "cat", "document": "doc", "department": "dept", "employee": "emp", "invoice": "inv",
               "payment": "pmt", "product": "prod", "project": "proj"}
DOMAINS = ["crm", "shop", "hr", "lms", "ops"]


def plural(e: str) -> str:
    return PLURAL.get(e, e + ("es" if e.endswith(("s", "x", "ch", "sh")) else "s"))


def camel(e: str) -> str:
    head, *rest = e.split("_")
    return head + "".join(w.title() for w in rest)


def pascal(e: str) -> str:
    return "".join(w.title() for w in e.split("_"))


def schema_for(convention: str) -> tuple[str, dict[str, str]]:
    """(DDL + data, {"table.column": "target table"} planted)."""
    n = len(ENTITIES)
    sql, truth = [], {}
    name = {"rails": plural, "orm": pascal, "sql": lambda e: f"{DOMAINS[ENTITIES.index(e) % 5]}_{plural(e)}"}[convention]
    key_type = "uuid" if convention == "orm" else "bigint" if convention == "rails" else "integer"
    for e in ENTITIES:
        t = name(e)
        value = ("md5('{t}' || g)::uuid" if key_type == "uuid" else "g").format(t=t)
        sql.append(f'CREATE TABLE "{t}" (id {key_type} PRIMARY KEY); '
                   f'INSERT INTO "{t}" SELECT {value} FROM generate_series(1, 200) g;')
    for i, e in enumerate(ENTITIES):
        t, cols, values = name(e), [], []
        parents = [ENTITIES[(i + 1) % n], ENTITIES[(i + 7) % n]]

        def ref(column, parent, kind=None):
            pt = name(parent)
            ty = kind or key_type
            cols.append(f'"{column}" {ty}')
            if ty == "uuid":
                values.append(f"md5('{pt}' || (1 + (g * 13) % 200))::uuid")
            else:
                values.append("1 + (g * 13) % 200")
            truth[f"{t}.{column}"] = pt
        if convention == "rails":
            ref(f"{parents[0]}_id", parents[0])
            ref(f"last_{parents[1]}_id", parents[1]) if i % 3 == 0 else ref(f"{parents[1]}_id", parents[1])
            if i % 4 == 0:
                ref("author_id", "user")
            if i % 5 == 0:
                ref("parent_id", e)
        elif convention == "orm":
            ref(f"{camel(parents[0])}Id", parents[0])
            ref(f"{camel(parents[1])}Id", parents[1])
            if i % 3 == 0:     # an integer leftover of the uuid migration, naming a uuid-keyed table
                ref(f"old{pascal(parents[1])}Id", parents[1], "integer")
                truth.pop(f"{t}.old{pascal(parents[1])}Id")   # retired copies are history, not references
                ref(f"{ENTITIES[(i + 11) % n]}_id", ENTITIES[(i + 11) % n], "integer")
        else:
            short = ABBREVIATED.get(parents[0])
            ref(f"{short}_id" if short else f"{parents[0]}_id", parents[0])
            ref(f"{parents[1]}_id", parents[1])
            if i % 6 == 0:
                ref("copy_of_id", e)
        # decoys: amounts, external ids, counts, retired copies
        cols += ['"amount" numeric', '"stripe_charge_id" text', '"view_count" int', '"legacy_user_id" int']
        values += ["g * 1.5", "'ch_' || g", "g % 7", "g"]
        child = f'"{t}"'
        sql.append(f"ALTER TABLE {child} " + ", ".join(f"ADD COLUMN {c}" for c in cols) + ";")
        sets = ", ".join(f'"{c.split(chr(34))[1]}" = {v}' for c, v in zip(cols, values))
        sql.append(f"CREATE TEMP TABLE _g AS SELECT row_number() OVER () AS g, id FROM {child}; "
                   f"UPDATE {child} c SET {sets} FROM _g WHERE _g.id = c.id; DROP TABLE _g;")
    return "\n".join(s for s in sql if s) + "\nANALYZE;", truth


def measure(dsn: str, truth: dict[str, str]) -> dict:
    run = run_audit(resolve_target(dsn=dsn), only="undeclared_foreign_keys,reference_type_mismatch")
    found, by_rule = {}, {}
    for f in run.findings:
        if f.metrics.get("referenced_table"):
            key = f"{f.table}.{f.column}"
            found[key] = f.metrics["referenced_table"].split(".", 1)[1]
            ev = f.metrics.get("evidence", "")
            rule = ev.split(":")[0].replace("name (", "").replace(")", "") if ev else "?"
            rule = "exact" if rule == "name" else rule
            by_rule.setdefault(rule, [0, 0])
            by_rule[rule][0 if truth.get(key) == found[key] else 1] += 1
    right = sum(1 for k, v in found.items() if truth.get(k) == v)
    missed = sorted(k for k in truth if found.get(k) != truth[k])
    return {"planted": len(truth), "found": len(found), "right": right, "missed": missed,
            "wrong": sorted(f"{k} -> {v}" for k, v in found.items() if truth.get(k) != v), "by_rule": by_rule}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--lib", type=Path, default=LIB)
    ap.add_argument("--label", default="now")
    args = ap.parse_args()
    lines = [f"`python bench/inference_recall.py --label {args.label}` ({time.strftime('%Y-%m-%d')})", "",
             "| pgvet | convention | tables | planted | inferred | right target | recall | precision | per rule (right / wrong) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    misses = []
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(tmp)
        info = server.start()
        try:
            for convention in ("rails", "orm", "sql"):
                with psycopg.connect(info.dsn(), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {convention}")
                dsn = info.dsn().replace("dbname=postgres", f"dbname={convention}")
                ddl, truth = schema_for(convention)
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(ddl)
                r = measure(dsn, truth)
                rules = ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(r["by_rule"].items()))
                lines.append(f"| {args.label} | {convention} | {len(ENTITIES)} | {r['planted']} | {r['found']} | "
                             f"{r['right']} | {r['right'] / r['planted']:.2f} | "
                             f"{r['right'] / max(r['found'], 1):.2f} | {rules} |")
                print(lines[-1], file=sys.stderr)
                misses.append(f"- {convention}: missed {len(r['missed'])}: {', '.join(r['missed'][:12])}"
                              + (" …" if len(r["missed"]) > 12 else "")
                              + (f"; wrong: {', '.join(r['wrong'])}" if r["wrong"] else ""))
        finally:
            server.remove()
    emit(lines + ["", "What is still missed:"] + misses, args.out)


if __name__ == "__main__":
    main()
