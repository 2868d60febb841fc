"""Rules that one file must satisfy on its own, all derived from ``schema.py``.

For every declared column: values in the code set, matching the pattern, within
``min``..``max`` (missing values and type errors are found while reading, see ``read.py``).
For every file: its ``unique`` key appears once.

All rules of a file are counted in a single pass (one ``select`` of boolean sums); only the
rules that fail are looked at again, for their first rows and a few example values.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from site_builder import schema
from site_builder.contract.examples import MAX_EXAMPLES, examples_of, pattern_in_words
from site_builder.contract.read import DICTIONARY_HINT, ROW, ReadResult
from site_builder.errors import Problem


@dataclass(frozen=True)
class RowRule:
    """A rule broken by the rows where ``broken`` is true (null counts as not broken)."""

    column: str
    rule: str
    broken: pl.Expr
    hint: str
    shown: pl.Expr | None = None
    """What to show as an example; the column's value by default."""
    pii: bool = False


def column_rules(spec: schema.FileSpec, present: list[str]) -> list[RowRule]:
    """The per-value rules of every present column, as declared in the schema."""
    rules: list[RowRule] = []
    for col in spec.columns:
        if col.name not in present:
            continue
        c = pl.col(col.name)
        if col.codes is not None:
            rules.append(RowRule(
                col.name, "value is not in the code set", ~c.is_in(list(col.codes)),
                f"{col.name} must be one of: {', '.join(col.codes)}; {DICTIONARY_HINT}",
                pii=col.pii))
        if col.pattern is not None:
            rules.append(RowRule(
                col.name, f"value is not {pattern_in_words(col.pattern)}",
                ~c.str.contains(f"^(?:{col.pattern})$"),
                f"{col.description} Keep leading zeros (export codes as text, not numbers).",
                pii=col.pii))
        if col.min is not None:
            below = "value is negative" if col.min == 0 else \
                f"value is below the minimum of {col.min}"
            rules.append(RowRule(
                col.name, below, c < col.min, _range_hint(col), pii=col.pii))
        if col.max is not None:
            rules.append(RowRule(
                col.name, f"value is above the maximum of {col.max}", c > col.max,
                _range_hint(col), pii=col.pii))
    return rules


def _range_hint(col: schema.Column) -> str:
    return f"{col.name} must be between {col.min} and {col.max}: {col.description}"


def check_rules(read: ReadResult, rules: list[RowRule], frame: pl.DataFrame | None = None
                ) -> list[Problem]:
    """Count every rule in one pass; describe the broken ones.

    ``frame`` (default: the file's frame) must be sorted by ``_row``. It may be a frame of
    distinct combinations (see :func:`combinations`) with ``_row`` the first row of each and
    ``_n`` the number of rows: the counts are then sums of ``_n``.
    """
    df = read.frame if frame is None else frame
    if df is None or not rules:
        return []
    weight = pl.col(WEIGHT) if WEIGHT in df.columns else pl.lit(1, dtype=pl.UInt32)
    counts = df.select(
        [weight.filter(r.broken.fill_null(False)).sum().alias(str(i))
         for i, r in enumerate(rules)]
    ).row(0)
    problems = []
    for rule, n in zip(rules, counts, strict=True):
        if not n:
            continue
        shown = (rule.shown if rule.shown is not None else pl.col(rule.column)).alias("_shown")
        hits = df.filter(rule.broken.fill_null(False)).select(ROW, shown)
        problems.append(Problem(
            file=read.display, row=int(hits[ROW][0]), column=rule.column, rule=rule.rule,
            count=int(n), examples=examples_of(hits, "_shown", pii=rule.pii), hint=rule.hint))
    return problems


WEIGHT = "_n"


def combinations(read: ReadResult, columns: list[str]) -> pl.DataFrame:
    """The distinct combinations of ``columns`` in the file, each with its first row
    (``_row``) and its number of rows (``_n``), sorted by first row.

    Rules about a few columns (a school's grade span, a subject's grades) are checked on the
    few thousand combinations instead of millions of rows.
    """
    assert read.frame is not None
    return (read.frame.group_by(columns)
            .agg(pl.col(ROW).min(), pl.len().cast(pl.UInt32).alias(WEIGHT))
            .sort(ROW))


def check_unique(read: ReadResult) -> list[Problem]:
    """Rows sharing the file's unique key (rows with a null key part are left to the null rule)."""
    spec, df = read.spec, read.frame
    if df is None or not spec.unique or not read.has(*spec.unique):
        return []
    key = list(spec.unique)
    keyed = df.select(ROW, *key).drop_nulls(key)
    # Counting distinct keys is a parallel hash aggregation; only when it finds a repeat are
    # the repeated rows located.
    if keyed.select(key).n_unique() == keyed.height:
        return []
    dup = keyed.filter(keyed.select(key).is_duplicated())
    groups = (dup.group_by(key, maintain_order=True).agg(pl.col(ROW).sort())
              .sort(pl.col(ROW).list.first()).head(MAX_EXAMPLES))
    pii = any(spec.column(k).pii for k in key)
    examples = []
    for g in groups.iter_rows(named=True):
        rows = g[ROW]
        where = f"rows {', '.join(map(str, rows[:3]))}{' ...' if len(rows) > 3 else ''}"
        examples.append(where if pii else
                        f"{'/'.join(str(g[k]) for k in key)} on {where}")
    names = ", ".join(key)
    return [Problem(
        file=read.display, row=int(dup[ROW].sort()[0]), rule=f"duplicate ({names}): each must "
        "appear only once", count=dup.height, examples=tuple(examples),
        hint=f"{spec.name} has {spec.grain}; remove the repeated rows or fix the {key[-1]} "
             "of one of them")]


def check_file(read: ReadResult) -> list[Problem]:
    """Every single-file rule of ``read``."""
    if read.frame is None:
        return []
    present = [c for c in read.frame.columns if c != ROW]
    return check_rules(read, column_rules(read.spec, present)) + check_unique(read)
