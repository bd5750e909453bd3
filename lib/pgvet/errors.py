"""Errors that pgvet reports as one line, with the exit code they map to."""
from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # reserved for --fail-on
EXIT_USAGE = 2
EXIT_FAILED = 3


class PgvetError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code = EXIT_FAILED


class UsageError(PgvetError):
    """The user asked for something malformed (bad DSN, unknown check id, bad parameter)."""

    exit_code = EXIT_USAGE


class ConnectionFailed(PgvetError):
    """The target could not be reached or refused us."""

    exit_code = EXIT_FAILED


class CatalogError(PgvetError):
    """A check file is malformed: fail fast, naming the file."""

    exit_code = EXIT_USAGE


class WriteFailed(PgvetError):
    """The report could not be written (the folder is a file, read-only, or the disk is full)."""

    exit_code = EXIT_FAILED


class Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so that temporary folders are removed on the way out."""
