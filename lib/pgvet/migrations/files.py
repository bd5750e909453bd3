"""Migration files in the order their tool applies them, split into parsed statements with lines.

Order: a Drizzle `meta/_journal.json` when present (each migration split on
`--> statement-breakpoint`); otherwise file names by version: Flyway `V<version>__x.sql`,
numbered `0001_x.sql`, timestamped `20240101120000_x.sql`, golang-migrate `*.up.sql`,
`<version>/up.sql` folders. Parsing uses PostgreSQL's own parser (pglast); a statement that does
not parse is reported with its line and the rest of the folder goes on.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pglast import parse_sql
from pglast.parser import ParseError

BREAKPOINT = "--> statement-breakpoint"


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
    problems: list[tuple[int, str]] = field(default_factory=list)   # (line, message)
    tool: str = "sql"


def _version_key(path: Path) -> tuple:
    """Natural sort on the version prefix: V2__ < V10__, 0002_ < 0010_, dotted Flyway versions."""
    name = path.parent.name if path.name in ("up.sql",) else path.name
    m = re.match(r"^[Vv]?(\d+(?:[._]\d+)*)", name)
    numbers = tuple(int(n) for n in re.split(r"[._]", m.group(1))) if m else (float("inf"),)
    return numbers, name


def migration_files(folder: Path) -> tuple[list[tuple[str, Path | None]], str]:
    """[(name, path or None when missing)] in apply order, and the tool ('drizzle' or 'sql')."""
    journal = folder / "meta" / "_journal.json"
    if journal.exists():
        entries = json.loads(journal.read_text()).get("entries", [])
        ordered = sorted(entries, key=lambda e: e.get("idx", 0))
        return [(f"{e['tag']}.sql", folder / f"{e['tag']}.sql" if (folder / f"{e['tag']}.sql").exists() else None)
                for e in ordered], "drizzle"
    files = [p for p in folder.rglob("*.sql") if not p.name.endswith(".down.sql") and p.name != "down.sql"
             and "meta" not in p.relative_to(folder).parts]
    return [(str(p.relative_to(folder)), p) for p in sorted(files, key=_version_key)], "sql"


def _line_of(text: str, offset: int) -> int:
    """Line of the first character at or after `offset` that is not blank or inside a -- comment."""
    i = offset
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl + 1
        else:
            break
    return text.count("\n", 0, min(i, len(text))) + 1


def _chunks(text: str, tool: str) -> list[tuple[int, str]]:
    """(character offset, text) pieces: Drizzle breakpoints, or the whole file."""
    if tool != "drizzle" or BREAKPOINT not in text:
        return [(0, text)]
    out, start = [], 0
    for piece in text.split(BREAKPOINT):
        out.append((start, piece))
        start += len(piece) + len(BREAKPOINT)
    return out


def parse_migration(name: str, text: str, tool: str) -> Migration:
    migration = Migration(name, tool=tool)
    for offset, chunk in _chunks(text, tool):
        if not chunk.strip():
            continue
        try:
            raws = parse_sql(chunk)
        except ParseError as exc:
            message, position = (exc.args + (0,))[:2]
            migration.problems.append((_line_of(text, offset + max(int(position) - 1, 0)) if position else
                                       _line_of(text, offset), f"does not parse: {message}"))
            continue
        encoded = chunk.encode()
        for raw in raws:
            start = len(encoded[:raw.stmt_location].decode(errors="ignore"))
            end = start + len(encoded[raw.stmt_location:raw.stmt_location + raw.stmt_len].decode(errors="ignore")) \
                if raw.stmt_len else len(chunk)
            migration.statements.append(Statement(name, _line_of(text, offset + start), chunk[start:end].strip(),
                                                  raw.stmt))
    return migration


def load_migrations(folder: str | Path) -> tuple[list[Migration], list[str]]:
    """Every migration of `folder` in apply order, and folder-level problems (one line each)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], [f"migrations folder {folder} does not exist"]
    try:
        files, tool = migration_files(folder)
    except (ValueError, KeyError) as exc:
        return [], [f"{folder}/meta/_journal.json cannot be read: {exc}"]
    if not files:
        return [], [f"no migration files (*.sql) in {folder}"]
    migrations, problems = [], []
    for name, path in files:
        if path is None:
            problems.append(f"the journal names {name}, which does not exist in {folder}")
            continue
        migrations.append(parse_migration(name, path.read_text(errors="replace"), tool))
    return migrations, problems
