"""pgvet.yml: threshold overrides and suppressions, for every target and per target.

    params:                                   # every target
      seq_scan_hotspots.min_seq_scans: 5000
    suppress:
      - key: unused_indexes:public.posts.idx_posts_edited_at    # a finding key; * and ? match too
        reason: used by the monthly report on the replica       # required
        until: 2027-01-31                                       # optional; expired entries stop applying
    targets:
      prod:
        params: {...}
        suppress: [...]
    options:                                  # run options (the CLI flags win)
      statement_timeout_ms: 60000
      lock_timeout_ms: 2000

Suppressed findings leave the counts and exit codes but stay listed, with their reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from .errors import UsageError

TOP_KEYS = {"params", "suppress", "targets", "options"}
OPTION_KEYS = {"statement_timeout_ms", "lock_timeout_ms", "page_jobs", "target_jobs"}   # RunOptions fields
TARGET_KEYS = {"params", "suppress"}
SUPPRESS_KEYS = {"key", "reason", "until"}


@dataclass(frozen=True)
class Suppression:
    key: str
    reason: str
    until: date | None = None

    def active(self, today: date) -> bool:
        return self.until is None or today <= self.until

    def matches(self, finding_key: str) -> bool:
        return fnmatchcase(finding_key, self.key)


@dataclass
class Config:
    params: dict
    suppressions: list[Suppression]
    options: dict = field(default_factory=dict)


def _suppressions(items, path) -> list[Suppression]:
    out = []
    if items is not None and not isinstance(items, list):
        raise UsageError(f"{path}: suppress must be a list of {{key, reason, until}}")
    for item in items or []:
        if not isinstance(item, dict) or set(item) - SUPPRESS_KEYS or not item.get("key"):
            raise UsageError(f"{path}: each suppression needs key and reason (and may have until), got {item!r}")
        if not str(item.get("reason") or "").strip():
            raise UsageError(f"{path}: the suppression of {item['key']} needs a reason")
        until = item.get("until")
        if until is not None and not isinstance(until, date):
            try:
                until = date.fromisoformat(str(until))
            except ValueError:
                raise UsageError(f"{path}: until must be a date (YYYY-MM-DD), got {until!r}") from None
        out.append(Suppression(str(item["key"]), str(item["reason"]).strip(), until))
    return out


def _mapping(value, path, where: str, allowed: set[str] | None = None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{path}: {where} must be a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in set(value) - allowed) if allowed is not None else []
    if unknown:
        from .catalog import did_you_mean
        raise UsageError(f"{path}: unknown key {unknown[0]!r} in {where}{did_you_mean(unknown[0], allowed)}; "
                         f"allowed: {', '.join(sorted(allowed))}")
    return value


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:  # YAML reads 2027-13-45 as a date and fails to build it
        raise UsageError(f"{path}: not a valid date: {exc}") from None
    return _mapping(data, path, "the top level", TOP_KEYS)


def validate_config(path: str | Path | None, checks: list) -> None:
    """Every section, parameter, suppression and date of pgvet.yml, for every target; before connecting."""
    if not path:
        return
    from .catalog import validate_params

    from .options import RunOptions

    path = Path(path)
    data = _read(path)
    try:
        RunOptions(**_mapping(data.get("options"), path, "options", OPTION_KEYS))
    except UsageError as exc:
        raise UsageError(f"{path}: options: {exc}") from None
    sections = [("", data)] + [(f"targets.{name}.", _mapping(own, path, f"targets.{name}", TARGET_KEYS))
                               for name, own in _mapping(data.get("targets"), path, "targets").items()]
    for prefix, section in sections:
        validate_params(_mapping(section.get("params"), path, f"{prefix}params"), checks, f"{path}: {prefix}params")
        _suppressions(section.get("suppress"), path)


def load_config(path: str | Path | None, target: str) -> Config:
    """The settings that apply to `target`: global ones, then the target's own on top."""
    if not path:
        return Config({}, [])
    path = Path(path)
    data = _read(path)
    own = _mapping(_mapping(data.get("targets"), path, "targets").get(target), path, f"targets.{target}", TARGET_KEYS)
    params = {**_mapping(data.get("params"), path, "params"), **_mapping(own.get("params"), path, "params")}
    return Config(params, _suppressions(data.get("suppress"), path) + _suppressions(own.get("suppress"), path),
                  _mapping(data.get("options"), path, "options", OPTION_KEYS))
