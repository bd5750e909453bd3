"""Where the migration files are and in which order their tool applies them.

`migrations_dir` may be one tool's folder, a project root, or a tree holding several migration
folders side by side. Each folder is recognised by what its tool leaves in it:

| layout | recognised by | order | left out |
|---|---|---|---|
| drizzle | `meta/_journal.json` | the journal, then every other `.sql` by version | `meta/` |
| prisma | `<timestamp>_<name>/migration.sql` | folder name | |
| diesel | `<version>_<name>/up.sql` | folder name | `down.sql` |
| sqitch | `sqitch.plan` + `deploy/` | the plan, then other `deploy/*.sql` | `revert/`, `verify/` |
| flyway | `V<version>__<name>.sql` | version, then `R__` repeatables by name | `U<version>__` undo |
| golang-migrate | `<version>_<name>.up.sql` | version | `.down.sql` |
| dbmate | `-- migrate:up` in the files | version | the `-- migrate:down` section |
| supabase | `supabase/migrations/<timestamp>_<name>.sql` | timestamp | |
| numbered | other `.sql` files | version prefix, then name | |
| structure | `structure.sql` (Rails) | the intended schema, no order | |

Folders named like an archive (`archive/`, `old/`, `backup/` …) and stale Drizzle metadata are set
aside with the reason; hidden folders, `node_modules` and virtualenvs are not looked into.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ARCHIVES = {"archive", "archived", "archives", "old", "deprecated", "backup", "backups", "attic", "obsolete", "trash"}
NOT_LOOKED_INTO = {"node_modules", "venv", ".venv", "__pycache__", "site-packages", "target", "dist"}
VERSIONED_FOLDER = re.compile(r"^\d+[_-]")
FLYWAY = re.compile(r"^V(\d+(?:[._]\d+)*)__.+\.sql$")
FLYWAY_REPEATABLE = re.compile(r"^R__.+\.sql$")
FLYWAY_UNDO = re.compile(r"^U\d+(?:[._]\d+)*__.+\.sql$")
DBMATE_UP = "-- migrate:up"


@dataclass
class Entry:
    """One migration file: its name relative to `migrations_dir`, and whether its tool's manifest lists it."""

    name: str
    path: Path | None            # None: the manifest names a file that is not there
    listed: bool = True


@dataclass
class Source:
    """One migration folder with its layout and its files in apply order."""

    folder: str                  # relative to migrations_dir ("." for the folder itself)
    layout: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def manifest(self) -> str | None:
        return {"drizzle": "the Drizzle journal", "sqitch": "sqitch.plan"}.get(self.layout)


def version_key(name: str) -> tuple:
    """Natural order on a version prefix: V2__ < V10__, 0002_ < 0010_, dotted Flyway versions."""
    m = re.match(r"^[Vv]?(\d+(?:[._]\d+)*)", name)
    numbers = tuple(int(n) for n in re.split(r"[._]", m.group(1))) if m else (float("inf"),)
    return numbers, name


def _sql_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == ".sql" and p.is_file()),
                  key=lambda p: version_key(p.name))


def _rel(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return rel or "."


def _drizzle(folder: Path, root: Path) -> Source:
    source = Source(_rel(folder, root), "drizzle")
    journal = folder / "meta" / "_journal.json"
    try:
        entries = json.loads(journal.read_text(encoding="utf-8")).get("entries", [])
        tags = [e["tag"] for e in sorted(entries, key=lambda e: e.get("idx", 0))]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        source.problems.append(f"{_rel(journal, root)} cannot be read ({exc}): every file is read by name")
        tags = []
    for tag in tags:
        path = folder / f"{tag}.sql"
        source.entries.append(Entry(_rel(path, root), path if path.is_file() else None))
    listed = {folder / f"{t}.sql" for t in tags}
    source.entries += [Entry(_rel(p, root), p, listed=False) for p in _sql_files(folder) if p not in listed]
    return source


def _sqitch(folder: Path, root: Path) -> Source:
    source, deploy = Source(_rel(folder, root), "sqitch"), folder / "deploy"
    changes: list[str] = []
    for line in (folder / "sqitch.plan").read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line[0] in "%#@":
            continue
        name = line.split()[0]
        if name not in changes:
            changes.append(name)
    for name in changes:
        path = deploy / f"{name}.sql"
        source.entries.append(Entry(_rel(path, root), path if path.is_file() else None))
    planned = {deploy / f"{c}.sql" for c in changes}
    if deploy.is_dir():
        source.entries += [Entry(_rel(p, root), p, listed=False) for p in _sql_files(deploy) if p not in planned]
    return source


def _versioned_folders(folder: Path, root: Path, script: str, layout: str) -> Source:
    subs = sorted((d for d in folder.iterdir() if d.is_dir() and (d / script).is_file()), key=lambda d: version_key(d.name))
    return Source(_rel(folder, root), layout, [Entry(_rel(d / script, root), d / script) for d in subs])


def _is_dbmate(files: list[Path]) -> bool:
    for p in files[:20]:
        try:
            with p.open(encoding="utf-8", errors="replace") as f:
                if DBMATE_UP in f.read(65536):
                    return True
        except OSError:
            continue
    return False


def _plain(folder: Path, root: Path, files: list[Path]) -> Source | None:
    """Loose .sql files: Flyway, golang-migrate, dbmate, Supabase, Rails structure.sql, or numbered."""
    names = [p.name for p in files]
    if any(FLYWAY.match(n) for n in names):
        versioned = [p for p in files if FLYWAY.match(p.name)]
        repeatable = sorted((p for p in files if FLYWAY_REPEATABLE.match(p.name)), key=lambda p: p.name)
        return Source(_rel(folder, root), "flyway", [Entry(_rel(p, root), p) for p in versioned + repeatable])
    if any(n.endswith(".up.sql") for n in names):
        return Source(_rel(folder, root), "golang-migrate",
                      [Entry(_rel(p, root), p) for p in files if p.name.endswith(".up.sql")])
    if names == ["structure.sql"]:
        return Source(_rel(folder, root), "structure", [Entry(_rel(files[0], root), files[0])])
    usable = [p for p in files if not p.name.endswith(".down.sql") and p.name != "down.sql"]
    if not usable:
        return None
    layout = ("dbmate" if _is_dbmate(usable) else
              "supabase" if folder.name == "migrations" and folder.parent.name == "supabase" else "numbered")
    return Source(_rel(folder, root), layout, [Entry(_rel(p, root), p) for p in usable])


def discover(root: str | Path) -> tuple[list[Source], list[tuple[str, str]]]:
    """The migration folders under `root` with their layouts, and the folders set aside with the reason.
    Raises OSError when `root` cannot be listed."""
    root = Path(root)
    os.listdir(root)   # an unreadable folder is the caller's error, not an empty tree
    sources: list[Source] = []
    aside: list[tuple[str, str]] = []
    for here, dirs, _files in os.walk(root, onerror=lambda exc: aside.append((str(exc.filename), "cannot be read"))):
        folder = Path(here)
        dirs.sort()
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in NOT_LOOKED_INTO]
        if folder != root and folder.name.lower() in ARCHIVES:
            aside.append((_rel(folder, root), "an archive folder: old migrations kept for reference"))
            dirs[:] = []
            continue
        if (folder / "meta" / "_journal.json").is_file():
            sources.append(_drizzle(folder, root))
            dirs[:] = [d for d in dirs if d != "meta"]
            continue
        if folder.name == "meta" and any(folder.glob("*.json")):
            aside.append((_rel(folder, root), "Drizzle snapshots without a journal beside any .sql files"))
            dirs[:] = []
            continue
        if (folder / "sqitch.plan").is_file():
            sources.append(_sqitch(folder, root))
            for d in ("revert", "verify"):
                if d in dirs:
                    aside.append((_rel(folder / d, root), f"sqitch {d} scripts: not applied by deploy"))
            dirs[:] = [d for d in dirs if d not in ("deploy", "revert", "verify")]
            continue
        subs = [folder / d for d in dirs]
        for script, layout in (("migration.sql", "prisma"), ("up.sql", "diesel")):
            if any(VERSIONED_FOLDER.match(d.name) and (d / script).is_file() for d in subs):
                sources.append(_versioned_folders(folder, root, script, layout))
                dirs[:] = [d for d in dirs if not (folder / d / script).is_file()]
                break
        try:
            files = _sql_files(folder)
        except OSError:
            aside.append((_rel(folder, root), "cannot be read"))
            continue
        if files:
            plain = _plain(folder, root, files)
            if plain:
                sources.append(plain)
    return sources, aside


def describe(sources: list[Source], aside: list[tuple[str, str]]) -> str:
    """One sentence: which folders were read with which layout, and which were set aside."""
    def one(s: Source) -> str:
        unlisted = sum(not e.listed for e in s.entries)
        extra = f", {unlisted} not in {s.manifest}" if unlisted and s.manifest else ""
        return f"{s.folder}/ ({s.layout}, {len(s.entries)} file{'s' if len(s.entries) != 1 else ''}{extra})"
    text = "Migration folders read: " + "; ".join(one(s) for s in sources) if sources else "no migration folder found"
    if aside:
        text += ". Set aside: " + "; ".join(f"{f}/ ({why})" for f, why in aside)
    return text
