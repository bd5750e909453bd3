"""fixes.sql that database text cannot hijack.

Names and comments come from the audited database, and anyone who can create a table or write a
comment chooses them. Inside a `--` comment a newline or carriage return ends the comment and
whatever follows runs; a line that starts with a backslash is a psql meta-command (`\\!` runs a
shell command). So, for every finding's fix:
1. each piece of database text the finding carries that holds a control character is escaped
   (`\\x0a`) wherever it stands in a comment line (in a quoted identifier it is harmless and kept);
2. the result must parse (pglast, PostgreSQL's parser) into statements of the kinds its check's
   header declares (`fixes:`),
   and no line may start with a backslash; otherwise the whole fix is written commented out, each
   line escaped, with the reason, for a human to read.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pglast import parse_sql
from pglast.parser import ParseError

from .catalog import FIX_STATEMENTS, load_checks
from .results import Finding

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """`text` with every control character written as \\xNN: one line, whatever it held."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _database_text(f: Finding) -> list[str]:
    values = [f.schema, f.table, f.column, f.object, f.detail, *f.metrics.values()]
    hostile = {v for v in values if isinstance(v, str) and CONTROL.search(v)}
    return sorted(hostile, key=len, reverse=True)


def _escaped_in_comments(fix: str, text: str) -> str:
    out, i = [], 0
    while (j := fix.find(text, i)) >= 0:
        line = fix[fix.rfind("\n", 0, j) + 1:j]
        out += [fix[i:j], escape(text) if line.lstrip().startswith("--") else text]
        i = j + len(text)
    return "".join(out) + fix[i:]


@lru_cache(maxsize=1)
def _declared() -> dict[str, frozenset]:
    return {c.id: frozenset(c.fixes) for c in load_checks()}


def allowed_statements(check_id: str) -> frozenset:
    """The statement kinds a check's fixes may hold: its header's `fixes` (every kind pgvet writes for a
    check the catalog does not know)."""
    return _declared().get(check_id, frozenset(FIX_STATEMENTS))


def _unsafe(fix: str, allowed: frozenset) -> str | None:
    """Why `fix` cannot be written as statements, or None."""
    if any(line.lstrip().startswith("\\") for line in re.split(r"[\n\r]", fix)):
        return "a line would start a psql meta-command"
    try:
        statements = parse_sql(fix)
    except ParseError as exc:
        return f"it does not parse ({exc})"
    kinds = sorted({type(s.stmt).__name__ for s in statements} - allowed)
    return f"it holds a statement this check never writes ({', '.join(kinds)})" if kinds else None


def safe_fix(f: Finding) -> str:
    """The finding's fix as it may go into fixes.sql."""
    fix = f.fix.rstrip()
    for text in _database_text(f):
        fix = _escaped_in_comments(fix, text)
    why = _unsafe(fix, allowed_statements(f.check))
    if why is None:
        return fix
    lines = "\n".join(f"-- | {escape(line)}" for line in fix.split("\n"))
    return f"-- pgvet wrote this fix commented out because {escape(why)}; read it before using any of it:\n{lines}"
