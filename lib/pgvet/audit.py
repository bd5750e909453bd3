"""The one library call behind every report and every notebook: check the input, run the audit once.

    validate(only, params, config)      → UsageError before any connection
    run(target, ...) → AuditRun         every selected check once, guarded, plus its pages' data,
                                        pgvet.yml thresholds and suppressions applied
"""
from __future__ import annotations

from datetime import date
from typing import Callable

from .catalog import Check, load_checks, select_checks, validate_params
from .config import load_config, validate_config
from .connection import Target
from .options import RunOptions
from .references.inference import Hints
from .results import AuditRun
from .runner import quiet, run_audit

FILE_PARAMS = {"hints_file": Hints.load}   # parameters that name a file read by the checks: read it up front


def validate(only: str = "", params: dict | None = None, config: str = "", targets: list[str] = ()) -> list[Check]:
    """The checks `only` selects, after validating every input that does not need the database:
    check and area names, parameter keys and values, pgvet.yml (every target's section) and the files
    parameters name. Raises UsageError (exit 2), one line, with a near match when there is one."""
    checks = load_checks()
    selected = select_checks(checks, only or None)
    validate_params(params or {}, checks)
    validate_config(config, checks)
    values = dict(params or {})
    for name in targets or [""]:
        values.update(load_config(config, name).params if config else {})
        values.update(params or {})
        for key, value in values.items():
            loader = FILE_PARAMS.get(str(key).rpartition(".")[2])
            if loader and value:
                loader(value)
    return selected


def run(target: Target, only: str = "", params: dict | None = None, options: RunOptions = RunOptions(),
        config: str = "", day: date | None = None, say: Callable[[str], None] = quiet) -> AuditRun:
    """Audit `target` once: the selected checks and the data their pages draw, with pgvet.yml applied
    (its thresholds under `params`, then its suppressions as of `day`, default today)."""
    settings = load_config(config, target.name)
    audit = run_audit(target, only=only or None, params={**settings.params, **(params or {})}, options=options,
                      say=say)
    return audit.apply_suppressions(settings.suppressions, day or date.today())
