"""Several targets in one run: `pgvet report --targets targets.yml`.

    jobs: 2                       # targets audited at the same time (default: --target-jobs, 2)
    targets:
      - name: prod
        service: prod             # a libpq service (pg_service.conf + pgpass)
      - name: staging
        dsn_env: STAGING_DSN      # an environment variable that holds the DSN

Never an inline password: a target is a service name or an environment-variable reference. Each
target's connection settings travel in its own `Target` to its own connections only; nothing is put
in the process environment. A target that fails gets a failed-run page; the others still report.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from .connection import Target, resolve_target
from .errors import PgvetError, UsageError
from .publish import write_index
from .redact import redact
from .report import Report, write_report

TARGET_KEYS = {"name", "service", "dsn_env"}


@dataclass
class Outcome:
    name: str
    report: Report | None
    error: str | None
    exit_code: int = 0


def load_targets(path: str | Path) -> tuple[list[Target], int | None]:
    """The targets of a targets file, and how many to run at once (None: not said)."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or set(data) - {"jobs", "targets"}:
        raise UsageError(f"{path}: expected 'jobs' and 'targets' at the top level")
    jobs = data.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise UsageError(f"{path}: jobs must be a positive whole number, got {jobs!r}")
    targets, names = [], set()
    for item in data.get("targets") or []:
        if not isinstance(item, dict) or set(item) - TARGET_KEYS or not item.get("name") \
                or bool(item.get("service")) == bool(item.get("dsn_env")):
            raise UsageError(f"{path}: each target needs a name and exactly one of service or dsn_env "
                             f"(never an inline DSN or password), got {redact(repr(item))}")
        if item["name"] in names:
            raise UsageError(f"{path}: target {item['name']!r} appears twice")
        names.add(item["name"])
        if item.get("dsn_env"):
            if item["dsn_env"] not in os.environ:
                raise UsageError(f"{path}: target {item['name']}: environment variable {item['dsn_env']} is not set")
            targets.append(resolve_target(dsn=os.environ[item["dsn_env"]], name=str(item["name"])))
        else:
            targets.append(resolve_target(service=item["service"], name=str(item["name"])))
    if not targets:
        raise UsageError(f"{path}: no targets")
    return targets, jobs


def run_fleet(targets: list[Target], jobs: int, out_root: str | Path, day: date | None = None, **report_args) \
        -> list[Outcome]:
    """Every target's report, `jobs` at a time; a failure is kept on its own failed-run page."""
    day = day or date.today()
    root = Path(out_root).resolve()

    def one(target: Target) -> Outcome:
        try:
            return Outcome(target.name, write_report(target, root, day=day, **report_args), None)
        except UsageError:
            raise
        except PgvetError as exc:
            return Outcome(target.name, None, redact(str(exc)), exc.exit_code)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(one, targets))
    write_index(root)
    return outcomes
