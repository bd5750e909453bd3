"""What the migration tools' history tables say was applied, held against the files.

Each tool records its migrations in a table of its own and recognises a file by a hash or a name:

| tool | table | a file is the row with | edited when |
|---|---|---|---|
| drizzle | `drizzle.__drizzle_migrations` | its hash, or its journal `when` as `created_at` | SHA-256 of the file differs |
| prisma | `_prisma_migrations` | its folder name as `migration_name` | SHA-256 differs (LF and CRLF both tried, as Prisma does) |
| flyway | `flyway_schema_history` | its file name as `script` | CRC-32 of its lines differs |
| sqitch | `sqitch.changes` | its change name | SHA-1 of the deploy script differs |
| golang-migrate | `schema_migrations` (`version`, `dirty`) | a version up to the one recorded | (not recorded) |
| dbmate, Rails, supabase | `schema_migrations` (`version`) | its version prefix | (not recorded) |

Every read is one SELECT in the audit's read-only transaction.
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from .layouts import Source

HISTORY_TABLES = """
SELECT n.nspname AS schema, c.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v')
  AND c.relname IN ('__drizzle_migrations', '_prisma_migrations', 'flyway_schema_history', 'schema_migrations', 'changes')
  AND (c.relname <> 'changes' OR n.nspname = 'sqitch')
GROUP BY 1, 2 ORDER BY 1, 2
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prisma_checksums(data: bytes) -> set[str]:
    """Prisma accepts the file as it is, and with its line endings turned to LF or to CRLF."""
    lf = data.replace(b"\r\n", b"\n")
    return {sha256(data), sha256(lf), sha256(lf.replace(b"\n", b"\r\n"))}


def flyway_checksum(data: bytes) -> int:
    """Flyway's checksum: CRC-32 over the UTF-8 bytes of each line without its line ending (Java's
    BufferedReader.readLine splits on \\n, \\r and \\r\\n), a leading BOM dropped; a signed 32-bit int."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    crc = 0
    for line in re.split(r"\r\n|\r|\n", text)[:-1] if re.search(r"[\r\n]$", text) else re.split(r"\r\n|\r|\n", text):
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def sqitch_hash(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def version_of(name: str) -> str | None:
    """The version a file name starts with (Rails, dbmate, golang-migrate, supabase): its leading digits."""
    m = re.match(r"^[Vv]?(\d+)", Path(name).name)
    return m.group(1) if m else None


@dataclass
class State:
    """One file (or one history row without a file) and what the history table says of it."""

    file: str
    state: str                  # applied | never applied | file gone | edited after applied | failed | rolled back | dirty
    table: str
    detail: str = ""


def _rows(conn, schema: str, table: str, columns: list[str]) -> list[dict]:
    cur = conn.execute(sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(schema, table)))
    return [dict(zip(columns, r)) for r in cur.fetchall()]


def _files(source: Source) -> list[tuple[str, bytes | None]]:
    out = []
    for e in source.entries:
        try:
            out.append((e.name, e.path.read_bytes() if e.path else None))
        except OSError:
            out.append((e.name, None))
    return out


def _drizzle(conn, qualified: str, source: Source, journal: dict[str, int]) -> list[State]:
    schema, table = qualified.split(".", 1)
    rows = _rows(conn, schema, table, ["hash", "created_at"])
    by_hash = {r["hash"]: r for r in rows}
    by_when = {int(r["created_at"]): r for r in rows if r["created_at"] is not None}
    out, matched = [], set()
    for name, data in _files(source):
        if data is None:
            continue
        digest, when = sha256(data), journal.get(name)
        if digest in by_hash:
            matched.add(digest)
            out.append(State(name, "applied", qualified))
        elif when is not None and when in by_when:
            matched.add(by_when[when]["hash"])
            out.append(State(name, "edited after applied", qualified,
                             f"the row of {when} has hash {by_when[when]['hash'][:12]}…, the file {digest[:12]}…"))
        else:
            out.append(State(name, "never applied", qualified))
    out += [State(f"{qualified} row {r['created_at']}", "file gone", qualified,
                  f"applied (hash {r['hash'][:12]}…), but no file here has that hash or journal time")
            for r in rows if r["hash"] not in matched]
    return out


def _matched(source: Source, qualified: str, rows: dict[str, dict], key_of, judge, gone) -> list[State]:
    """Each file against the history row its key names: `judge(name, data, row)` says its state;
    rows no file claims are `gone(key, row)`."""
    out, seen = [], set()
    for name, data in _files(source):
        key = key_of(name)
        seen.add(key)
        if data is not None:
            row = rows.get(key)
            out.append(State(name, "never applied", qualified) if row is None else judge(name, data, row))
    return out + [gone(k, r) for k, r in sorted(rows.items()) if k not in seen]


def _prisma(conn, qualified: str, source: Source) -> list[State]:
    schema, table = qualified.split(".", 1)
    latest: dict[str, dict] = {}
    for r in _rows(conn, schema, table, ["migration_name", "checksum", "finished_at", "rolled_back_at", "logs"]):
        # a migration resolved after a failure has several rows: an applied one wins
        if r["migration_name"] not in latest or r["finished_at"] and not r["rolled_back_at"]:
            latest[r["migration_name"]] = r

    def judge(name, data, r):
        if r["rolled_back_at"]:
            return State(name, "rolled back", qualified, f"marked rolled back at {r['rolled_back_at']}")
        if not r["finished_at"]:
            why = (r["logs"] or "").strip().splitlines()[0][:200] if (r["logs"] or "").strip() else "no log"
            return State(name, "failed", qualified, f"started but never finished: {why}")
        if r["checksum"] not in prisma_checksums(data):
            return State(name, "edited after applied", qualified, "its SHA-256 differs from the one recorded")
        return State(name, "applied", qualified)
    return _matched(source, qualified, latest, lambda name: Path(name).parent.name, judge,
                    lambda m, r: State(f"{m}/migration.sql", "file gone", qualified, "applied, but its folder is not here"))


def _flyway(conn, qualified: str, source: Source) -> list[State]:
    schema, table = qualified.split(".", 1)
    latest: dict[str, dict] = {}
    for r in sorted(_rows(conn, schema, table, ["installed_rank", "script", "checksum", "success", "type"]),
                    key=lambda r: r["installed_rank"]):
        if r["type"] in ("SQL", "JDBC", "SPRING_JDBC") or r["script"].lower().endswith(".sql"):
            latest[Path(r["script"]).name] = r

    def judge(name, data, r):
        if not r["success"]:
            return State(name, "failed", qualified, f"recorded as failed (installed_rank {r['installed_rank']})")
        if r["checksum"] is not None and r["checksum"] != flyway_checksum(data):
            return State(name, "edited after applied", qualified,
                         "changed since it was last applied: flyway migrate applies it again"
                         if Path(name).name.startswith("R__") else
                         f"its checksum is {flyway_checksum(data)}, the history has {r['checksum']}")
        return State(name, "applied", qualified)
    return _matched(source, qualified, latest, lambda name: Path(name).name, judge,
                    lambda b, r: State(r["script"], "file gone", qualified,
                                       f"applied (installed_rank {r['installed_rank']}), but not here"))


def _sqitch(conn, qualified: str, source: Source) -> list[State]:
    by_change = {r["change"]: r for r in _rows(conn, "sqitch", "changes", ["change", "script_hash"])}

    def judge(name, data, r):
        if r["script_hash"] and r["script_hash"] != sqitch_hash(data):
            return State(name, "edited after applied", qualified, "its SHA-1 differs from the deployed script's")
        return State(name, "applied", qualified)
    return _matched(source, qualified, by_change, lambda name: Path(name).stem, judge,
                    lambda c, r: State(f"deploy/{c}.sql", "file gone", qualified, "deployed, but its script is not here"))


def _versions(conn, qualified: str, source: Source, columns: list[str]) -> list[State]:
    schema, table = qualified.split(".", 1)
    if "dirty" in columns:   # golang-migrate: one row, the last version applied
        rows = _rows(conn, schema, table, ["version", "dirty"])
        if not rows:
            return [State(name, "never applied", qualified) for name, _ in _files(source)]
        top, dirty = int(rows[0]["version"]), rows[0]["dirty"]
        out = []
        for name, _ in _files(source):
            v = version_of(name)
            applied = v is not None and int(v) <= top
            if dirty and v is not None and int(v) == top:
                out.append(State(name, "dirty", qualified, f"{qualified} is marked dirty at version {top}: the "
                                                          "migration failed half-way and the tool refuses to go on"))
            else:
                out.append(State(name, "applied" if applied else "never applied", qualified))
        return out
    applied = {str(r["version"]): r for r in _rows(conn, schema, table, ["version"])}
    return _matched(source, qualified, applied, version_of, lambda name, data, r: State(name, "applied", qualified),
                    lambda v, r: State(f"version {v}", "file gone", qualified, "applied, but no file has this version"))


TABLE_FOR = {"drizzle": "__drizzle_migrations", "prisma": "_prisma_migrations", "flyway": "flyway_schema_history",
             "sqitch": "changes", "golang-migrate": "schema_migrations", "dbmate": "schema_migrations",
             "supabase": "schema_migrations", "numbered": "schema_migrations"}


def journal_times(source: Source) -> dict[str, int]:
    """Drizzle: each journal entry's `when`, which the migrator stores as created_at."""
    if source.layout != "drizzle" or not source.entries:
        return {}
    folder = Path(source.entries[0].name).parent
    for e in source.entries:
        if e.path:
            journal = e.path.parent / "meta" / "_journal.json"
            try:
                entries = json.loads(journal.read_text(encoding="utf-8")).get("entries", [])
            except (OSError, ValueError):
                return {}
            prefix = "" if str(folder) == "." else f"{folder.as_posix()}/"
            return {f"{prefix}{x['tag']}.sql": int(x["when"]) for x in entries if "tag" in x and "when" in x}
    return {}


def states(conn, sources: list[Source]) -> tuple[list[State], list[str]]:
    """Per file, what its tool's history table says; and one note per source (which table, how many applied)."""
    tables = {}
    for schema, name, columns in conn.execute(HISTORY_TABLES).fetchall():
        tables.setdefault(name, []).append((f"{schema}.{name}", columns))
    out, notes = [], []
    for source in sources:
        wanted = TABLE_FOR.get(source.layout)
        found = tables.get(wanted, [])
        if wanted == "schema_migrations":   # several tools share the name: take the one shaped like this tool's
            found = sorted(found, key=lambda t: (("dirty" in t[1]) != (source.layout == "golang-migrate"),
                                                 t[0].startswith("supabase_migrations.") != (source.layout == "supabase")))
        if not found:
            if wanted:
                notes.append(f"{source.folder}/ ({source.layout}): the database has no {wanted} table, so whether "
                             "its files were applied is unknown")
            continue
        qualified, columns = found[0]
        if source.layout == "drizzle":
            got = _drizzle(conn, qualified, source, journal_times(source))
        elif source.layout == "prisma":
            got = _prisma(conn, qualified, source)
        elif source.layout == "flyway":
            got = _flyway(conn, qualified, source)
        elif source.layout == "sqitch":
            got = _sqitch(conn, qualified, source)
        else:
            got = _versions(conn, qualified, source, list(columns))
        applied = sum(s.state == "applied" for s in got)
        notes.append(f"{source.folder}/ ({source.layout}): {applied} of {len(source.entries)} files applied "
                     f"according to {qualified}")
        out += got
    return out, notes
