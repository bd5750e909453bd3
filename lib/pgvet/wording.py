"""Numbers and names the way a stakeholder reads them: "1 row", "12,000 rows", "1.8 MB", "1 December 2026".

A check's `sentence` and `label` are `str.format` templates over the finding's names and metrics, with
one extra format spec: `{orphans:# row}` writes the number with its noun, singular or plural.
"""
from __future__ import annotations

import string
from datetime import date, datetime

BYTE_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB")
IRREGULAR = {"index": "indexes", "entry": "entries", "query": "queries", "statement is": "statements are"}


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """`1 row`, `2 rows`, `12,000 rows` (a word's plural is `many`, an irregular one, or word + s)."""
    many = many or IRREGULAR.get(word) or word + "s"
    return f"{number(n)} {word if n == 1 else many}"


def number(n) -> str:
    """12,000 · 61.3 · 0.5 — separators, no trailing zeros."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        return str(n)
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.2f}".rstrip("0").rstrip(".") if abs(n) < 100 else f"{n:,.0f}"
    return f"{int(n):,}"


def size(n: int | float) -> str:
    """Bytes for a reader: 106,496 -> 104 kB; 31,817,728 -> 30.3 MB."""
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < len(BYTE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return plural(int(value), "byte")
    return f"{value:,.1f} {BYTE_UNITS[unit]}" if value < 100 else f"{value:,.0f} {BYTE_UNITS[unit]}"


def day(value: str | date | datetime) -> str:
    """An ISO date or timestamp in words: 1 December 2026 (a timestamp keeps its time to the minute)."""
    try:
        moment = value if isinstance(value, (date, datetime)) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    words = f"{moment.day} {moment:%B %Y}"
    if isinstance(moment, datetime) and (moment.hour, moment.minute) != (0, 0):
        words += f", {moment:%H:%M}"
    return words


def metric_text(name: str, value) -> str:
    """One metric as a reader sees it: sizes for *_bytes, dates in words, numbers with separators."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return size(value) if name.endswith("bytes") else number(value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        return day(value)
    return "" if value is None else str(value)


class _Template(string.Formatter):
    def get_value(self, key, args, kwargs):
        if kwargs.get(key) is None:
            raise KeyError(key)
        return kwargs[key]

    def format_field(self, value, spec):
        name, value = value
        if spec.startswith("#"):
            return plural(value, spec[1:].strip())
        return format(metric_text(name, value), spec)

    def get_field(self, field_name, args, kwargs):
        value, key = super().get_field(field_name, args, kwargs)
        return (key, value), key


def fill(template: str, values: dict) -> str:
    """`template` with `values`; raises KeyError when a named value is missing or None."""
    return _Template().format(template, **values)


def finding_values(finding) -> dict:
    values = dict(finding.metrics)
    values.update({k: getattr(finding, k) for k in ("schema", "table", "column", "object", "detail")
                   if getattr(finding, k)})
    return values


def plain_sentence(finding, sentence: str | None) -> str:
    """The check's sentence template filled with the finding's names and numbers; its detail otherwise."""
    try:
        return fill(sentence, finding_values(finding)) if sentence else finding.detail
    except (KeyError, ValueError, IndexError, TypeError):
        return finding.detail


def label(finding, template: str, fallback: str) -> str:
    """The check's few-word label for the finding (`{orphans:# orphaned row}`), or `fallback`."""
    try:
        return fill(template, finding_values(finding))
    except (KeyError, ValueError, IndexError, TypeError):
        return fallback
