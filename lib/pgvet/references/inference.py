"""Inference of undeclared references: names, comments and hints propose, the data confirms.

Precision matters as much as recall, so a candidate is kept only when its evidence adds up:
- names: `<singular>_id` / `<plural>_id` / camelCase, a suffix after `_id`, the child table's
  own prefix (`poll_votes.option_id` -> `poll_options`), self references (`parent_id`), role
  names (`author_id` -> users), a column named like another table's unique key;
- a column comment ("references transactions"), or a hints file (`references.yml`);
- the data, on a sample of distinct values: overlap with the candidate key for comparable
  types, the share of values shaped like the key (uuid, digits) for string columns, overlap
  with an integer legacy key for integer -> uuid columns.
Not references: external service ids (`stripe_customer_id`), a table's own key, amounts and
counts (no `id` token), string ids whose values do not look like the key.
"""
from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from ..errors import UsageError
from .model import Column, Reference, Snapshot

ID_TOKENS = {"id", "uuid", "guid"}
SELF_NAMES = {"parent", "reply_to", "root", "previous", "next", "original", "predecessor", "successor",
              "ancestor", "duplicate_of", "merged_into", "replaced_by", "in_reply_to"}
ROLE_NAMES = {"author", "creator", "owner", "approver", "sender", "recipient", "receiver", "host", "buyer",
              "seller", "reviewer", "assignee", "reporter", "inviter", "invitee", "moderator", "editor",
              "updater", "deleter", "follower", "followee", "referrer", "tipper", "winner", "actor"}
PEOPLE_TABLES = ("users", "accounts", "people", "members", "persons", "user", "account")
EXTERNAL_TOKENS = {"stripe", "paypal", "braintree", "adyen", "mailchimp", "sendgrid", "twilio", "google", "facebook",
                   "fb", "github", "gitlab", "twitter", "apple", "slack", "discord", "telegram", "steam", "external",
                   "ext", "remote", "provider", "vendor", "oauth", "openid", "session", "job", "request", "trace",
                   "correlation", "idempotency", "tracking", "chain", "tx_hash", "blockchain", "onchain"}
# Copies kept after a migration (`transaction_id_legacy`, `old_user_id`) are history, not live references.
ABBREVIATIONS = {"org": "organization", "conf": "configuration", "config": "configuration", "cfg": "configuration",
                 "addr": "address", "cat": "category", "acct": "account", "acc": "account", "msg": "message",
                 "usr": "user", "cust": "customer", "prod": "product", "txn": "transaction", "inv": "invoice",
                 "emp": "employee", "dept": "department", "grp": "group", "img": "image", "doc": "document",
                 "pkg": "package", "loc": "location", "proj": "project", "pmt": "payment"}
RETIRED_TOKENS = {"legacy", "old", "deprecated", "bak", "backup", "orig", "tmp", "temp"}
TYPE_SIBLINGS = ("type", "kind", "class", "model", "table")
INT_TYPES = {"int2", "int4", "int8"}
STRING_TYPES = {"text", "varchar", "bpchar"}
KEY_TYPES = INT_TYPES | STRING_TYPES | {"uuid"}
SHAPES = {"uuid": r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
          "int": r"^\s*-?[0-9]{1,19}\s*$"}

# Evidence weights and thresholds, declared once.
NAME_POINTS = {"exact": 2, "prefix": 2, "self": 2, "same-key": 2, "role": 1, "partial": 1, "domain": 1,
               "abbreviation": 1}
# names that only the data may confirm: kept when their values are (nearly) all found in the target
DATA_ONLY = {"domain", "abbreviation"}
STRONG_NAMES = {"exact", "prefix", "self", "same-key"}
SAMPLE_VALUES = 1000
# data-led discovery, for key-like names no rule matches: the parent must hold every sampled value,
# be the only such table, and not be a small lookup table any small integers would fall into
VALUES_MIN_DISTINCT, VALUES_SAMPLE = 10, 200
VALUES_MIN_PARENT_ROWS, VALUES_MAX_INT_PARENTS = 100, 50
MIN_OVERLAP, HIGH_OVERLAP, MIN_SHAPE = 0.5, 0.9, 0.9
HIGH, MEDIUM = 3, 2

COMMENT_RE = re.compile(
    r"(?i)\b(?:references?|refers\s+to|points\s+to|fk\s+to|foreign\s+key\s+to)\s*:?\s*"
    r'"?([A-Za-z_]\w*)"?(?:\s*\.\s*"?([A-Za-z_]\w*)"?)?(?:\s*\(\s*"?(\w+)"?\s*\))?')


def snake(name: str) -> str:
    """`transactionId` -> `transaction_id`; `Order Items` -> `order_items`."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def name_forms(stem: str) -> list[str]:
    """Table names a reference stem can point at: singular and plural forms."""
    forms = [stem, stem + "s", stem + "es"]
    if stem.endswith("y"):
        forms.append(stem[:-1] + "ies")
    forms += {"person": ["people"], "child": ["children"], "status": ["statuses"]}.get(stem, [])
    return forms


@dataclass
class Hints:
    """references.yml: `references: {table.column: table.column}` and `ignore: [table.column]`; plus
    the foreign keys a migrations folder declares (`labels` says where each reference came from)."""

    references: dict[tuple[str, str, str], tuple[str, str, str]]
    ignore: set[tuple[str, str, str]]
    labels: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def with_migrations(self, folder: str) -> "Hints":
        """Add every single-column foreign key the migrations declare: the strongest evidence there is."""
        from ..migrations.files import load_migrations
        from ..migrations.lint import Live, lint

        migrations, _ = load_migrations(folder)
        _, model = lint(migrations, Live())
        refs, labels = dict(self.references), dict(self.labels)
        for fk in model.fks:
            if len(fk.columns) == 1 and len(fk.ref_columns) == 1:
                ident = (*fk.table.split(".", 1), fk.columns[0])
                if ident not in refs:
                    refs[ident] = (*fk.ref_table.split(".", 1), fk.ref_columns[0])
                    labels[ident] = f"migration: {fk.where}"
        return Hints(refs, self.ignore, labels)

    @classmethod
    def load(cls, path: str | Path | None) -> "Hints":
        if not path:
            return cls({}, set())
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise UsageError(f"cannot read hints file {path}: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict) or set(data) - HINTS_KEYS or not isinstance(data.get("references") or {}, dict) \
                or not isinstance(data.get("ignore") or [], list):
            raise UsageError(f"hints file {path}: expected 'references: {{[schema.]table.column: [schema.]table.column}}'"
                             f" and 'ignore: [[schema.]table.column, ...]'")
        refs = {_split(k, path): _split(v, path) for k, v in (data.get("references") or {}).items()}
        return cls(refs, {_split(k, path) for k in data.get("ignore") or []})


HINTS_KEYS = {"references", "ignore"}


def _split(dotted: str, path) -> tuple[str, str, str]:
    parts = str(dotted).split(".")
    if len(parts) == 2:
        parts.insert(0, "public")
    if len(parts) != 3:
        raise UsageError(f"hints file {path}: '{dotted}' is not [schema.]table.column")
    return tuple(parts)


class _Tables:
    """Lookups over the snapshot: tables by normalised name, their columns and single-column keys."""

    def __init__(self, snap: Snapshot):
        self.columns: dict[tuple[str, str], dict[str, Column]] = {}
        for c in snap.columns:
            self.columns.setdefault((c.schema, c.table), {})[c.column] = c
        self.by_name: dict[str, list[tuple[str, str]]] = {}
        for schema, table in self.columns:
            self.by_name.setdefault(snake(table), []).append((schema, table))
        relid = {(c.schema, c.table): c.relid for c in snap.columns}
        self.rows = {(c.schema, c.table): c.rows for c in snap.columns}
        self.keys = {t: snap.keys.get(relid[t], []) for t in self.columns}
        # indexes that keep every rule a dictionary lookup: tables by the last words of their name
        # (`forum_categories` under `categories`), and tables by the columns they hold unique
        self.by_last_words: dict[str, set[tuple[str, str]]] = {}
        for name, tables in self.by_name.items():
            words = name.split("_")
            for k in range(1, len(words)):
                self.by_last_words.setdefault("_".join(words[k:]), set()).update(tables)
        self.one_word = sorted(name for name in self.by_name if "_" not in name)   # for prefix lookups
        self.value_parents_by_type: dict[int, list] = {}
        self.unique_in: dict[str, list[tuple[str, str]]] = {}
        for tbl, keys in self.keys.items():
            for column, _ in keys:
                self.unique_in.setdefault(column, []).append(tbl)

    def find(self, names: list[str], prefer_schema: str) -> tuple[str, str] | None:
        for name in names:
            found = self.by_name.get(name)
            if found:
                return sorted(found, key=lambda t: (t[0] != prefer_schema, t[0] != "public", t))[0]
        return None

    def primary(self, table: tuple[str, str]) -> Column | None:
        """The key a reference to `table` points at: its single-column primary key, else a unique `id`."""
        for column, is_primary in self.keys.get(table, []):
            if is_primary or column == "id":
                return self.columns[table][column]
        return None

    def value_parents(self, base_type: int, snap: Snapshot) -> list[tuple[tuple[str, str], Column]]:
        """Tables of VALUES_MIN_PARENT_ROWS rows or more whose primary key compares with `base_type`;
        worked out once per type, so data-led discovery stays linear in the number of columns."""
        cache = self.value_parents_by_type
        if base_type not in cache:
            cache[base_type] = [(tbl, key) for tbl in sorted(self.columns) if (key := self.primary(tbl)) is not None
                                and self.rows[tbl] >= VALUES_MIN_PARENT_ROWS
                                and snap.comparable(base_type, key.base_type)]
        return cache[base_type]

    def is_unique(self, table: tuple[str, str], column: str) -> bool:
        return any(c == column for c, _ in self.keys.get(table, []))

    def legacy_key(self, table: tuple[str, str], primary: str) -> Column | None:
        """A unique integer column kept beside a non-integer primary key (`legacy_id`)."""
        for column, _ in self.keys.get(table, []):
            col = self.columns[table][column]
            if column != primary and col.base_type_name in INT_TYPES:
                return col
        return None


@dataclass
class _Candidate:
    column: Column
    target: tuple[str, str] | None
    key: Column | None
    strength: str | None = None       # which name rule matched
    evidence: tuple[str, ...] = ()
    points: int = 0
    polymorphic: str | None = None


def _domain_table(forms: list[str], col: Column, t: _Tables) -> tuple[str, str] | None:
    """The one table whose name is a form of the stem behind a prefix or domain word (`category_id` ->
    `forum_categories`); among several, the one sharing the child's schema or first name word; else None."""
    own_first = snake(col.table).split("_")[0]
    found = sorted({tbl for f in forms for tbl in t.by_last_words.get(f, ())} - {(col.schema, col.table)})
    for narrowed in (found, [x for x in found if x[0] == col.schema],
                     [x for x in found if snake(x[1]).split("_")[0] == own_first]):
        if len(narrowed) == 1:
            return narrowed[0]
    return None


def _abbreviated_table(token: str, col: Column, t: _Tables) -> tuple[str, str] | None:
    """`org` -> organizations (or the one `<domain>_organizations`) through the common short forms; else the
    one table whose name starts with the token (three letters or more)."""
    if token in ABBREVIATIONS:   # `cust_id` -> customers, or behind a domain prefix: crm_customers
        forms = name_forms(ABBREVIATIONS[token])
        return t.find(forms, col.schema) or _domain_table(forms, col, t)
    if len(token) < 3:
        return None
    names = t.one_word[bisect.bisect_left(t.one_word, token):]
    starts = sorted({tbl for name in itertools.takewhile(lambda n: n.startswith(token), names)
                     for tbl in t.by_name[name]} - {(col.schema, col.table)})
    return starts[0] if len(starts) == 1 else None


def _name_candidate(col: Column, t: _Tables) -> _Candidate | None:
    tokens = snake(col.column).split("_")
    idx = [i for i, tok in enumerate(tokens) if tok in ID_TOKENS and i > 0]
    if not idx or col.base_type_name not in KEY_TYPES:
        return None
    stem_tokens = tokens[:idx[-1]]
    if RETIRED_TOKENS & set(tokens):
        return None
    stem = "_".join(stem_tokens)
    own = (col.schema, col.table)
    exact = t.find(name_forms(stem), col.schema)
    # an external id (`stripe_customer_id`, `session_id`) unless a table of exactly that name exists
    if any(tok in EXTERNAL_TOKENS for tok in stem_tokens) and not exact:
        return None
    own_tokens = snake(col.table).split("_")
    rules = [("exact", lambda: exact),
             ("self", lambda: own if stem in SELF_NAMES or stem_tokens[-1] == "of" else None),
             # the child's own prefix (`forum_posts.category_id` -> forum_categories), never the child itself
             ("prefix", lambda: next((f for k in range(len(own_tokens) - 1, 0, -1)
                                      if (f := t.find(name_forms("_".join(own_tokens[:k] + [stem])), col.schema))
                                      and f != own), None)),
             ("role", lambda: t.find(list(PEOPLE_TABLES), col.schema) if stem_tokens[-1] in ROLE_NAMES else None),
             ("partial", lambda: next((f for k in range(1, len(stem_tokens))
                                       if (f := t.find(name_forms("_".join(stem_tokens[k:])), col.schema))), None)),
             ("domain", lambda: _domain_table(name_forms(stem), col, t)),
             ("abbreviation", lambda: _abbreviated_table(stem_tokens[-1], col, t) if len(stem_tokens) == 1 else None)]
    for strength, rule in rules:
        target = rule()
        if target:
            key = t.primary(target)
            break
    else:
        strength, target, key = None, None, None
        same = sorted(tbl for tbl in t.unique_in.get(col.column, ()) if tbl != own and col.column != "id")
        if same:
            strength, target = "same-key", sorted(same, key=lambda x: (x[0] != col.schema, x))[0]
            key = t.columns[target][col.column]
    sibling = next((c for c in t.columns[own] if snake(c) in {f"{stem}_{s}" for s in TYPE_SIBLINGS}), None)
    if sibling and strength not in ("exact", "prefix"):
        return _Candidate(col, None, None, "polymorphic", (f"polymorphic: {sibling} names the target",),
                          MEDIUM, polymorphic=sibling)
    if not target or not key or (target == own and (key.column == col.column or t.is_unique(own, col.column))):
        return None
    rule_word = "" if strength == "exact" else f" ({strength})"
    return _Candidate(col, target, key, strength, (f"name{rule_word}: {col.column} -> {target[1]}",),
                      NAME_POINTS[strength])


def _key_like(col: Column) -> bool:
    tokens = snake(col.column).split("_")
    stem = tokens[:-1]
    return (len(tokens) > 1 and tokens[-1] in ID_TOKENS and not RETIRED_TOKENS & set(tokens)
            and not any(tok in EXTERNAL_TOKENS for tok in stem))


def _value_candidate(conn, col: Column, t: _Tables, snap: Snapshot) -> _Candidate | None:
    """A key-like column no name rule explains: the one table of similar size whose primary key holds
    every sampled value (uuids; integers when few tables could hold them), as medium confidence."""
    own = (col.schema, col.table)
    if col.base_type_name not in INT_TYPES | {"uuid"} or not _key_like(col) or t.is_unique(own, col.column):
        return None
    parents = [(tbl, key) for tbl, key in t.value_parents(col.base_type, snap) if tbl != own]
    if not parents or (col.base_type_name in INT_TYPES and len(parents) > VALUES_MAX_INT_PARENTS):
        return None
    with released(conn):     # every table it reads is unlocked again when it is done
        return _held_by_one(conn, col, parents, t)


def _held_by_one(conn, col: Column, parents: list, t: _Tables) -> _Candidate | None:
    values = [v for (v,) in conn.execute(sql.SQL(
        "SELECT DISTINCT v FROM (SELECT {c} AS v FROM {t} WHERE {c} IS NOT NULL LIMIT {n}) s LIMIT {m}").format(
        c=sql.Identifier(col.column), t=sql.Identifier(col.schema, col.table), n=sql.Literal(VALUES_SAMPLE * 5),
        m=sql.Literal(VALUES_SAMPLE))).fetchall()]
    if len(values) < VALUES_MIN_DISTINCT:
        return None
    found = []
    for tbl, key in parents:
        if t.rows[tbl] < len(values):
            continue
        if _all_found(conn, col, key, values):
            found.append((tbl, key))
            if len(found) > 1:
                return None       # several tables hold them all: the values prove nothing
    if len(found) != 1:
        return None
    tbl, key = found[0]
    return _Candidate(col, tbl, key, "values",
                      (f"values: all {len(values)} sampled values found in {tbl[1]}.{key.column}, "
                       "and in no other table",), MEDIUM)


def _all_found(conn, col: Column, key: Column, values: list) -> bool:
    """Whether the unique key holds every (distinct) value: one `= ANY` scan, so the audited table's
    idx_scan grows by one, not by one per value (pgvet's probes must not make a table look indexed)."""
    if not values:
        return True
    found = conn.execute(sql.SQL("SELECT count(*) FROM {t} WHERE {k} = ANY(%s::{ty}[])").format(
        ty=sql.SQL(col.type), t=sql.Identifier(key.schema, key.table), k=sql.Identifier(key.column)),
        (values,)).fetchone()[0]
    return found == len(values)


def _comment_candidate(col: Column, t: _Tables) -> _Candidate | None:
    m = COMMENT_RE.search(col.comment or "")
    if not m:
        return None
    first, second, in_parens = m.groups()
    if second:   # schema.table[(column)] or table.column
        attempts = [((first, second), in_parens), (t.find([snake(first)], col.schema), second)]
    else:
        attempts = [(t.find([snake(first)], col.schema), in_parens)]
    for table, column in attempts:
        if table in t.columns:
            key = t.columns[table].get(column) if column else t.primary(table)
            if key:
                return _Candidate(col, table, key, "comment", (f"comment: '{m.group(0).strip()}'",), 2)
    return None


def _hint_candidate(col: Column, t: _Tables, hints: Hints) -> _Candidate | None:
    target = hints.references.get((col.schema, col.table, col.column))
    if not target:
        return None
    table = target[:2]
    key = t.columns.get(table, {}).get(target[2])
    label = hints.labels.get((col.schema, col.table, col.column))
    if not key:
        if label:  # a migration may name a table that was dropped since, or never created
            return None
        raise UsageError(f"hints file: {'.'.join(target)} does not exist in this database")
    return _Candidate(col, table, key, "hint", (label or "hint: references.yml",), 3)


def _sample_ratio(conn: psycopg.Connection, col: Column, predicate: sql.Composable, params=None) -> tuple[int, int]:
    """(distinct non-null values sampled, how many satisfy `predicate` on `v`)."""
    query = sql.SQL("""SELECT count(*), count(*) FILTER (WHERE {pred})
                       FROM (SELECT DISTINCT v FROM (SELECT c.{col} AS v FROM {tbl} c WHERE c.{col} IS NOT NULL
                             LIMIT {n}) x LIMIT {m}) s""").format(
        pred=predicate, col=sql.Identifier(col.column),
        tbl=sql.SQL(".").join([sql.Identifier(col.schema), sql.Identifier(col.table)]),
        n=sql.Literal(SAMPLE_VALUES * 5), m=sql.Literal(SAMPLE_VALUES))
    sampled, hits = conn.execute(query, params).fetchone()
    return sampled, hits


def _exists_in(key: Column) -> sql.Composable:
    return sql.SQL("EXISTS (SELECT 1 FROM {tbl} p WHERE p.{key} = s.v)").format(
        tbl=sql.SQL(".").join([sql.Identifier(key.schema), sql.Identifier(key.table)]), key=sql.Identifier(key.column))


def _weigh_with_data(conn, cand: _Candidate, snap: Snapshot, t: _Tables) -> tuple[bool, dict]:
    """Add the data's evidence to a candidate; returns (keep, observed numbers)."""
    col, key = cand.column, cand.key
    comparable = snap.comparable(col.base_type, key.base_type)
    observed = {"comparable": comparable}
    strong = cand.strength in STRONG_NAMES | {"comment", "hint"}
    # a weak name, or a table pointing at itself without a self name: only the values can prove it
    needs_proof = cand.strength in DATA_ONLY or (
        (key.schema, key.table) == (col.schema, col.table) and cand.strength not in ("self", "comment", "hint"))
    if comparable:
        sampled, found = _sample_ratio(conn, col, _exists_in(key))
        if not sampled:
            return strong and not needs_proof, observed
        share = found / sampled
        cand.evidence += (f"values: {found} of {sampled} sampled values found in {key.table}.{key.column}",)
        cand.points += 2 if share >= HIGH_OVERLAP else 1 if share >= MIN_OVERLAP else 0
        if needs_proof:
            return share >= HIGH_OVERLAP, observed
        return share >= MIN_OVERLAP or cand.strength in ("comment", "hint"), observed
    if needs_proof:
        return False, observed
    if col.base_type_name in STRING_TYPES and key.base_type_name in ("uuid", *INT_TYPES):
        shape = "uuid" if key.base_type_name == "uuid" else "int"
        sampled, shaped = _sample_ratio(conn, col, sql.SQL("s.v::text ~ %s"), (SHAPES[shape],))
        if not sampled:
            return strong, observed
        share = shaped / sampled
        cand.evidence += (f"values: {shaped} of {sampled} sampled values look like {shape}",)
        cand.points += 1 if share >= MIN_SHAPE else 0
        return share >= MIN_SHAPE or cand.strength == "hint", observed
    legacy = t.legacy_key((key.schema, key.table), key.column) if col.base_type_name in INT_TYPES else None
    if legacy is not None:
        sampled, found = _sample_ratio(conn, col, _exists_in(legacy))
        observed["legacy_key"] = legacy.column
        if sampled:
            cand.evidence += (f"legacy key: {found} of {sampled} sampled values found in "
                              f"{legacy.table}.{legacy.column}",)
            if found / sampled >= MIN_OVERLAP:
                cand.points += 1
                return True, observed
    # no value can be compared: a qualified name (`last_wallet_id`) is kept, as a low-confidence guess
    return strong or cand.strength in ("role", "partial"), observed


def released(conn: psycopg.Connection):
    """A savepoint rolled back at the end: the locks its reads took are released with it, so the
    number of locks held at once stays small however many tables are sampled (reads lose nothing)."""
    return conn.transaction(force_rollback=True)


def _confidence(points: int) -> str:
    return "high" if points >= HIGH else "medium" if points >= MEDIUM else "low"


def infer_references(conn: psycopg.Connection, snap: Snapshot, hints: Hints | None = None) -> list[Reference]:
    """Undeclared references (comparable or not, polymorphic included), each with its evidence."""
    hints = hints or Hints({}, set())
    t = _Tables(snap)
    declared = {(r.schema, r.table, c) for r in snap.declared for c in r.columns}
    found = []
    for col in snap.columns:
        ident = (col.schema, col.table, col.column)
        if ident in declared or ident in hints.ignore:
            continue
        cand = _hint_candidate(col, t, hints) or _comment_candidate(col, t) or _name_candidate(col, t)
        if cand is None:
            cand = _value_candidate(conn, col, t, snap)
        if cand is None:
            continue
        if cand.polymorphic:
            with released(conn):
                found.append(_polymorphic(conn, cand))
            continue
        if (cand.key.schema, cand.key.table, cand.key.column) == ident:
            continue
        if cand.strength == "values":    # the values are the evidence already
            keep, observed = True, {"comparable": True}
        else:
            with released(conn):
                keep, observed = _weigh_with_data(conn, cand, snap, t)
        if keep:
            found.append(Reference(
                schema=col.schema, table=col.table, columns=(col.column,), ref_schema=cand.key.schema,
                ref_table=cand.key.table, ref_columns=(cand.key.column,), column_type=col.type,
                referenced_type=cand.key.type, comparable=observed["comparable"], evidence=cand.evidence,
                confidence=_confidence(cand.points), rows=col.rows, ref_rows=t.rows[(cand.key.schema, cand.key.table)],
                indexed=(col.relid, col.column) in snap.indexed,
                observed={k: v for k, v in observed.items() if k != "comparable"}))
    return found


def _polymorphic(conn, cand: _Candidate) -> Reference:
    col = cand.column
    query = sql.SQL("SELECT DISTINCT {t}::text FROM (SELECT {t} FROM {tbl} WHERE {t} IS NOT NULL LIMIT {n}) s "
                    "ORDER BY 1 LIMIT 10").format(t=sql.Identifier(cand.polymorphic), n=sql.Literal(SAMPLE_VALUES * 5),
                                                  tbl=sql.SQL(".").join([sql.Identifier(col.schema),
                                                                         sql.Identifier(col.table)]))
    types = [r[0] for r in conn.execute(query).fetchall()]
    return Reference(schema=col.schema, table=col.table, columns=(col.column,), ref_schema=None, ref_table=None,
                     ref_columns=(), column_type=col.type, referenced_type=None, evidence=cand.evidence,
                     confidence="medium", rows=col.rows, polymorphic_type_column=cand.polymorphic,
                     observed={"types": types})
