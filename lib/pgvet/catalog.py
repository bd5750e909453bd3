"""The check catalogue: `queries/<area>/<check_id>.sql` (or `.py`) with a YAML header, plus its `.md` doc.

SQL checks: a block of `-- ` comment lines between two `-- ---` lines, parsed as YAML, then one
SELECT. Python checks (several queries, e.g. orphan counting): the module docstring opens with
the same YAML between `---` lines, and the module defines `findings(ctx) -> list[dict]`.
Discovered by glob and validated on load; a malformed check fails fast, naming its file.
"""
from __future__ import annotations

import ast
import difflib
import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml

from .errors import CatalogError, UsageError
from .results import SEVERITIES, TIERS

REQUIRED_KEYS = ("id", "title", "area", "severity", "tier", "sentence", "label", "section")
ALLOWED_KEYS = set(REQUIRED_KEYS) | {"params", "requires", "reads", "harm", "fixes"}
# What a check says about the harm it finds: `tier` (results.TIERS) ranks it, `harm` names the metric
# that sizes it ({metric, unit, cumulative}), `sentence` says it to a manager, `label` names it in a
# few words beside other findings on the same object, `section` is its heading on its area's page.
HARM_KEYS = {"metric", "unit", "cumulative", "total"}   # total: sum (default) or max (a share of a limit)
# `fixes` lists the statement kinds (PostgreSQL parse-node names) the check's fixes may hold; a fix with
# any other kind is written commented out (fixsafety). No `fixes`: its suggestions are comments only.
FIX_STATEMENTS = {"AlterTableStmt", "IndexStmt", "VacuumStmt", "ReindexStmt", "SelectStmt", "UpdateStmt",
                  "RenameStmt", "CreateExtensionStmt"}
# `reads: data` marks checks that scan table rows; they run after the ones that read catalogs and
# activity counters, so that pgvet's own scans never show up in the counters it reports.
# `reads: stats` marks checks that read pg_stats, which shows only the tables the role may SELECT.
# Both say `partial` (or `skipped`) with the tables named when some tables cannot be read.
READS = ("catalog", "stats", "data")
REQUIRES_KEYS = {"extensions", "min_server_version", "privileges"}
DOC_SECTIONS = ("## Summary", "## Why it matters", "## How to fix", "## False positives")


def default_queries_dir() -> Path:
    """`queries/` at the project root (beside `lib/`)."""
    return Path(__file__).resolve().parents[2] / "queries"


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    area: str
    severity: str
    sql: str
    path: Path
    params: dict = field(default_factory=dict)
    requires: dict = field(default_factory=dict)
    sentence: str = ""
    function: Callable | None = None   # Python checks: findings(ctx) -> list[dict]
    reads: str = "catalog"
    tier: str = "latent"
    harm: dict = field(default_factory=dict)   # {metric, unit, cumulative}; empty: no number sizes it
    label: str = ""
    section: str = ""
    fixes: tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        return self.doc_path.read_text()

    @property
    def doc_path(self) -> Path:
        return self.path.with_suffix(".md")

    def resolved_params(self, overrides: dict | None = None) -> dict:
        """Defaults from the header, overridden by `key` or `<check_id>.key` entries, typed like the default."""
        values = dict(self.params)
        for key, value in (overrides or {}).items():
            check_id, _, name = key.rpartition(".")
            if check_id not in ("", self.id) or name not in values:
                continue
            values[name] = _coerce(value, values[name], f"{self.id}.{name}")
        return values


BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
                 "off": False}


def _coerce(value, default, name):
    """`value` typed like `default`; numbers are never negative (every threshold and count is ≥ 0)."""
    if default is None:
        return value
    kind = type(default).__name__
    try:
        if isinstance(default, bool):
            value = BOOLEAN_WORDS[str(value).strip().lower()] if not isinstance(value, bool) else value
        elif isinstance(default, int):
            if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
                raise ValueError
            value = int(value)
        elif isinstance(default, float):
            value = float(value)
        elif isinstance(default, str):
            value = "" if value is None else str(value)
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"parameter {name} expects {'a whole number' if kind == 'int' else 'a ' + kind}, "
                         f"got {value!r}") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise UsageError(f"parameter {name} must not be negative, got {value!r}")
    return value


def did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def validate_params(params: dict, checks: list["Check"], source: str = "--param") -> None:
    """Every key names a parameter (`key` of some check, or `check.key`) and every value fits its type;
    raises UsageError with a near match. Run before connecting."""
    by_id = {c.id: c for c in checks}
    every_name = {n for c in checks for n in c.params}
    for key, value in params.items():
        check_id, _, name = str(key).rpartition(".")
        if check_id:
            if check_id not in by_id:
                raise UsageError(f"{source}: unknown check {check_id!r} in {key!r}{did_you_mean(check_id, by_id)}")
            owners = [by_id[check_id]]
        else:
            owners = [c for c in checks if name in c.params]
        if not owners or name not in owners[0].params:
            known = owners[0].params if check_id else every_name
            where = f"of {check_id}" if check_id else "of any check"
            raise UsageError(f"{source}: {name!r} is not a parameter {where}{did_you_mean(name, known)}; "
                             f"`pgvet checks` lists them")
        for check in owners:
            _coerce(value, check.params[name], f"{check.id}.{name}")


def parse_header(text: str, path: Path) -> tuple[dict, str]:
    """Split a check file into (metadata, SQL body)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "-- ---":
        raise CatalogError(f"{path}: a check must start with a '-- ---' YAML header")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "-- ---")
    except StopIteration:
        raise CatalogError(f"{path}: the YAML header is not closed by '-- ---'") from None
    yaml_text = "\n".join(line[3:] if line.startswith("-- ") else line.lstrip("-") for line in lines[1:end])
    try:
        meta = yaml.safe_load(yaml_text) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: header is not valid YAML: {str(exc).splitlines()[0]}") from None
    return meta, "\n".join(lines[end + 1:]).strip()


def _python_check(path: Path) -> tuple[dict, str, Callable]:
    """(metadata, source, findings function) of a `.py` check."""
    source = path.read_text()
    try:
        doc = ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError as exc:
        raise CatalogError(f"{path}: not valid Python: {exc.msg} (line {exc.lineno})") from None
    meta, _ = parse_header("\n".join("-- " + line for line in doc.splitlines()), path)
    spec = importlib.util.spec_from_file_location(f"pgvet_checks.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, "findings", None)
    if not callable(function):
        raise CatalogError(f"{path}: a Python check must define findings(ctx)")
    return meta, source, function


def load_check(path: Path) -> Check:
    function = None
    if path.suffix == ".py":
        meta, body, function = _python_check(path)
    else:
        meta, body = parse_header(path.read_text(), path)
    if not isinstance(meta, dict):
        raise CatalogError(f"{path}: header must be a mapping")
    missing = [k for k in REQUIRED_KEYS if not meta.get(k)]
    if missing:
        raise CatalogError(f"{path}: header lacks {', '.join(missing)}")
    unknown = set(meta) - ALLOWED_KEYS
    if unknown:
        raise CatalogError(f"{path}: unknown header keys {', '.join(sorted(unknown))}")
    if meta["id"] != path.stem:
        raise CatalogError(f"{path}: id '{meta['id']}' does not match the file name")
    if meta["area"] != path.parent.name:
        raise CatalogError(f"{path}: area '{meta['area']}' does not match the folder '{path.parent.name}'")
    if meta["severity"] not in SEVERITIES:
        raise CatalogError(f"{path}: severity must be one of {', '.join(SEVERITIES)}")
    params = meta.get("params") or {}
    requires = meta.get("requires") or {}
    if not isinstance(params, dict) or not isinstance(requires, dict) or set(requires) - REQUIRES_KEYS:
        raise CatalogError(f"{path}: params must be a mapping; requires may hold {', '.join(sorted(REQUIRES_KEYS))}")
    if meta.get("reads", "catalog") not in READS:
        raise CatalogError(f"{path}: reads must be one of {', '.join(READS)}")
    if meta["tier"] not in TIERS:
        raise CatalogError(f"{path}: tier must be one of {', '.join(TIERS)}")
    harm = meta.get("harm") or {}
    if not isinstance(harm, dict) or set(harm) - HARM_KEYS or (harm and not harm.get("metric")):
        raise CatalogError(f"{path}: harm is a mapping of metric, unit and cumulative")
    fixes = meta.get("fixes") or []
    if not isinstance(fixes, list) or set(fixes) - FIX_STATEMENTS:
        raise CatalogError(f"{path}: fixes lists statement kinds among {', '.join(sorted(FIX_STATEMENTS))}")
    if not body:
        raise CatalogError(f"{path}: no SQL after the header")
    if not path.with_suffix(".md").exists():
        raise CatalogError(f"{path}: missing its doc {path.with_suffix('.md').name}")
    return Check(id=meta["id"], title=meta["title"], area=meta["area"], severity=meta["severity"], sql=body,
                 path=path, params=params, requires=requires, sentence=meta["sentence"], function=function,
                 reads=meta.get("reads", "catalog"), tier=meta["tier"], harm=harm, label=meta["label"],
                 section=meta["section"], fixes=tuple(fixes))


@lru_cache(maxsize=8)
def _load_all(root: Path) -> tuple[Check, ...]:
    files = [p for p in root.glob("*/*") if p.suffix in (".sql", ".py") and not p.name.startswith("_")]
    checks = tuple(load_check(p) for p in sorted(files))
    seen: dict[str, Path] = {}
    for c in checks:
        if c.id in seen:
            raise CatalogError(f"{c.path}: id '{c.id}' is also used by {seen[c.id]}")
        seen[c.id] = c.path
    return checks


def load_checks(root: Path | None = None) -> list[Check]:
    """Every check under `root` (default: the project's queries/), in area/id order."""
    return list(_load_all(Path(root or default_queries_dir()).resolve()))


def selection_name(only: str | list[str] | None) -> str:
    """A selection written one way: the names sorted, comma-separated ("" selects everything)."""
    names = only.split(",") if isinstance(only, str) else only or []
    return ",".join(sorted({n.strip() for n in names if n.strip()}))


def select_checks(checks: list[Check], only: str | list[str] | None = None) -> list[Check]:
    """Filter by a comma-separated list of areas and/or check ids; unknown names are a UsageError."""
    if not only:
        return list(checks)
    names = [n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n.strip()]
    known = {c.area for c in checks} | {c.id for c in checks}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown check or area: {', '.join(unknown)}{did_you_mean(unknown[0], known)} (known "
                         f"areas: {', '.join(sorted({c.area for c in checks}))}; `pgvet checks` lists check ids)")
    return [c for c in checks if c.area in names or c.id in names]
