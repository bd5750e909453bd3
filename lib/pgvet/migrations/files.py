"""Migration files in the order their tool applies them, split into parsed statements with lines.

Which folders and in which order: `layouts.py`. Each file is split into statements by PostgreSQL's
own scanner and the schema-changing ones parsed by its parser (pglast) — Drizzle files on
`--> statement-breakpoint`, dbmate files up to `-- migrate:down` — and the statements inside `DO $$ … $$` blocks (PL/pgSQL, also `EXECUTE` with
constant text) are statements of their own with their lines in the file. A file that does not
decode, does not parse, or is above the size limit is a problem with its line; the others go on.
Line numbers come from one table of line starts per file, so a file is read in linear time.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError, split

from .. import wording
from .layouts import Source, discover

BREAKPOINT = "--> statement-breakpoint"
DBMATE_DOWN = "-- migrate:down"
MAX_FILE_MB = 20.0
# statements the lint rules and the intended schema read; the rest (INSERT, COPY, GRANT …) keep their text only
PARSED = {"ALTER", "CREATE", "DROP", "TRUNCATE", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "DO"}
LEADING_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)", re.S)


@dataclass
class Statement:
    file: str            # path relative to the migrations folder
    line: int            # first line of the statement in its file
    text: str
    node: object         # the pglast statement node


@dataclass
class Migration:
    file: str
    statements: list[Statement] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)   # (line, rule, message)
    tool: str = "sql"
    listed: bool = True  # False: its tool's manifest (the Drizzle journal, sqitch.plan) does not list it


class Lines:
    """Line numbers of character offsets in one text, from a table of line starts built once."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        at = text.find("\n")
        while at >= 0:
            self.starts.append(at + 1)
            at = text.find("\n", at + 1)

    def at(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def code_start(self, offset: int) -> int:
        """The first character at or after `offset` that is not blank or inside a -- comment."""
        text, i = self.text, offset
        while i < len(text):
            if text[i].isspace():
                i += 1
            elif text.startswith("--", i):
                nl = text.find("\n", i)
                i = len(text) if nl < 0 else nl + 1
            else:
                break
        return i

    def first_code(self, offset: int) -> int:
        return self.at(self.code_start(offset))


def _chunks(text: str, tool: str) -> list[tuple[int, str]]:
    """(character offset, text) pieces: Drizzle breakpoints, dbmate's up section, or the whole file."""
    if tool == "dbmate" and DBMATE_DOWN in text:
        return [(0, text[:text.index(DBMATE_DOWN)])]
    if tool != "drizzle" or BREAKPOINT not in text:
        return [(0, text)]
    out, start = [], 0
    for piece in text.split(BREAKPOINT):
        out.append((start, piece))
        start += len(piece) + len(BREAKPOINT)
    return out


def _constant_text(expr: str) -> str | None:
    """The string an EXECUTE runs when its expression is one constant ('…', E'…', $$…$$), else None."""
    try:
        (raw,) = parse_sql(f"SELECT {expr}")
        (target,) = raw.stmt.targetList
    except (ParseError, ValueError):
        return None
    value = target.val
    while isinstance(value, ast.TypeCast):
        value = value.arg
    return value.val.sval if isinstance(value, ast.A_Const) and isinstance(value.val, ast.String) else None


def _plpgsql_statements(node) -> list[tuple[int, str]]:
    """(line in the block, SQL) of every SQL statement and constant EXECUTE in a PL/pgSQL tree."""
    found = []
    if isinstance(node, dict):
        for kind, body in node.items():
            if kind == "PLpgSQL_stmt_execsql" and isinstance(body, dict):
                found.append((body.get("lineno", 1), body["sqlstmt"]["PLpgSQL_expr"]["query"]))
            elif kind == "PLpgSQL_stmt_dynexecute" and isinstance(body, dict):
                text = _constant_text(body["query"]["PLpgSQL_expr"]["query"])
                if text:
                    found.append((body.get("lineno", 1), text))
            else:
                found += _plpgsql_statements(body)
    elif isinstance(node, list):
        for item in node:
            found += _plpgsql_statements(item)
    return found


def _do_block(stmt: Statement) -> list[Statement]:
    """The statements inside a `DO $$ … $$` block, each with its own line in the file."""
    args = {a.defname: a.arg for a in stmt.node.args or ()}
    language = getattr(args.get("language"), "sval", "plpgsql").lower()
    body = getattr(args.get("as"), "sval", None)
    if language != "plpgsql" or not body:
        return []
    try:
        tree = parse_plpgsql(f"CREATE FUNCTION pgvet_do() RETURNS void LANGUAGE plpgsql AS $pgvet_do${body}$pgvet_do$")
    except ParseError:
        return []
    at = stmt.text.find(body)
    first = stmt.line + (stmt.text.count("\n", 0, at) if at >= 0 else 0)   # the line the body starts on
    out = []
    for lineno, query in _plpgsql_statements(tree):
        try:
            raws = parse_sql(query)
        except ParseError:
            continue
        out += [Statement(stmt.file, first + lineno - 1, query.strip(), raw.stmt) for raw in raws]
    return out


def _keyword(piece: str) -> str:
    """The first word of a statement, after its leading comments."""
    m = LEADING_WORD.match(piece)
    return m.group(1).upper() if m else ""


def parse_migration(name: str, text: str, tool: str) -> Migration:
    """The file's statements with their lines. PostgreSQL's scanner splits the file (0.5 s for 20 MB);
    only statements that change the schema or the transaction are parsed into a tree — building
    pglast's Python tree costs 30 s for 20 MB of INSERTs, which no rule reads — and one that does not
    parse is a problem at its line while the others are still read."""
    migration = Migration(name, tool=tool)
    lines = Lines(text)
    for offset, chunk in _chunks(text, tool):
        if not chunk.strip():
            continue
        try:
            pieces = split(chunk, with_parser=False, only_slices=True)
        except ParseError as exc:   # the scanner itself failed (an unterminated quote): the chunk is lost
            message, position = (exc.args + (0,))[:2]
            line = lines.first_code(offset + max(int(position) - 1, 0)) if position else lines.first_code(offset)
            migration.problems.append((line, "does-not-parse", f"does not parse: {message}; the rest of the file "
                                                               "was not checked"))
            continue
        for piece in pieces:
            body = chunk[piece]
            start = offset + piece.start
            if _keyword(body) not in PARSED:
                code = lines.code_start(start)
                migration.statements.append(Statement(name, lines.at(code), text[code:offset + piece.stop].strip(), None))
                continue
            try:
                raws = parse_sql(body)
            except ParseError as exc:
                message, position = (exc.args + (0,))[:2]
                migration.problems.append((lines.first_code(start + max(int(position or 1) - 1, 0)),
                                           "does-not-parse", f"does not parse: {message}"))
                continue
            for raw in raws:   # pglast's locations are character offsets
                end = start + (raw.stmt_location + raw.stmt_len if raw.stmt_len else len(body))
                code = lines.code_start(start + raw.stmt_location)
                stmt = Statement(name, lines.at(code), text[code:end].strip(), raw.stmt)
                migration.statements.append(stmt)
                if isinstance(raw.stmt, ast.DoStmt):
                    migration.statements += _do_block(stmt)
    return migration


def _read(path: Path, max_bytes: int) -> tuple[str | None, tuple[int, str, str] | None]:
    """The file's text, and the problem with it (line, rule, message) if any."""
    try:
        size = path.stat().st_size
        if max_bytes and size > max_bytes:
            return None, (0, "too-large", f"is {wording.size(size)}, above the limit of {wording.size(max_bytes)} "
                                          "(max_file_mb): not read")
        data = path.read_bytes()
    except OSError as exc:
        return None, (0, "unreadable", f"cannot be read: {exc.strerror or exc}")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return data.decode("utf-8", errors="replace"), (
            line, "does-not-decode", f"line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}): read with "
                                     "replacement characters")


def load_sources(folder: str | Path, max_file_mb: float = MAX_FILE_MB) -> tuple[list[Source], list[tuple[str, str]],
                                                                               list[Migration], list[str]]:
    """Every migration folder under `folder`, what was set aside, every migration in apply order, and
    folder-level problems. A folder that cannot be read at all is a problem with no migrations."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], [], [], [f"migrations folder {folder} does not exist"]
    try:
        sources, aside = discover(folder)
    except OSError as exc:
        return [], [], [], [f"migrations folder {folder} cannot be read: {exc.strerror or exc}"]
    if not any(s.entries for s in sources):
        return sources, aside, [], [f"no migration files (*.sql) in {folder}"]
    migrations = []
    for source in sources:
        for entry in source.entries:
            if entry.path is None:
                missing = Migration(entry.name, tool=source.layout)
                missing.problems.append((0, "missing-file", f"{source.manifest} names {entry.name}, which does not "
                                                           "exist: nothing of it can be checked"))
                migrations.append(missing)
                continue
            text, problem = _read(entry.path, int(max_file_mb * 2 ** 20))
            migration = parse_migration(entry.name, text, source.layout) if text is not None else \
                Migration(entry.name, tool=source.layout)
            migration.listed = entry.listed
            if problem:
                migration.problems.insert(0, problem)
            migrations.append(migration)
    return sources, aside, migrations, []


def load_migrations(folder: str | Path) -> tuple[list[Migration], list[str]]:
    """Every migration under `folder` in apply order, and folder-level problems (one line each)."""
    _, _, migrations, problems = load_sources(folder)
    return migrations, problems
