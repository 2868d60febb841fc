"""Formatting a few example values for a message, without ever echoing PII."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

MAX_EXAMPLES = 5


def show(value: object) -> str:
    """A value as it appears in a message: text quoted, numbers and dates bare."""
    if value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | date):
        return str(value)
    return f'"{value}"'


def examples_of(hits: pl.DataFrame, column: str, *, pii: bool) -> tuple[str, ...]:
    """Up to five distinct values of ``column`` among ``hits`` (rows breaking a rule).

    Values of PII columns are never shown (messages end up in terminals and CI logs); their
    row numbers are shown instead.
    """
    if pii:
        if hits.height < 2:  # the row is already in the message
            return ()
        return tuple(f"row {r}" for r in hits["_row"].head(MAX_EXAMPLES).to_list())
    values = hits[column].unique(maintain_order=True).head(MAX_EXAMPLES).to_list()
    return tuple(show(v) for v in values)


def pattern_in_words(pattern: str) -> str:
    r"""``\d{10}`` -> ``10 digits``; anything else is quoted as a regular expression."""
    m = re.fullmatch(r"\\d\{(\d+)\}", pattern)
    if m:
        return f"{m.group(1)} digits"
    return f"of the form {pattern}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
