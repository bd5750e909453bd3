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

Suppressed findings leave the counts and exit codes but stay listed, with their reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from .errors import UsageError

TOP_KEYS = {"params", "suppress", "targets"}
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


def _suppressions(items, path) -> list[Suppression]:
    out = []
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


def load_config(path: str | Path | None, target: str) -> Config:
    """The settings that apply to `target`: global ones, then the target's own on top."""
    if not path:
        return Config({}, [])
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or set(data) - TOP_KEYS:
        raise UsageError(f"{path}: the top level may hold {', '.join(sorted(TOP_KEYS))}")
    own = (data.get("targets") or {}).get(target) or {}
    params = {**(data.get("params") or {}), **(own.get("params") or {})}
    return Config(params, _suppressions(data.get("suppress"), path) + _suppressions(own.get("suppress"), path))
