"""The one place that removes secrets from anything pgvet prints or writes."""
from __future__ import annotations

import re

_MASK = "********"
_known_secrets: set[str] = set()

_PATTERNS = [
    # key/value conninfo: the value after password=, bare or single-quoted
    (re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)"), r"\1" + _MASK),
    # URLs: scheme://user:secret@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)"), r"\1" + _MASK + r"\3"),
    # SQL: CREATE/ALTER ROLE … PASSWORD 'x', user mappings OPTIONS (password 'x'), ENCRYPTED PASSWORD
    (re.compile(r"(?i)(\bpassword\s+)('(?:[^']|'')*'|\$[a-z_]*\$.*?\$[a-z_]*\$)"), r"\1'" + _MASK + "'"),
    # environment assignments and JSON/YAML keys that name a password
    (re.compile(r"(?i)(\b\w*(?:PASSWORD|PASSWD|PGPASS)\w*[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"), r"\1" + _MASK),
]


def remember_secret(value: str | None) -> None:
    """Register a literal secret so that it is masked wherever it appears later."""
    if value and len(value) >= 3:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with passwords masked: conninfo, URLs, env/JSON keys, known secrets."""
    if not text:
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
