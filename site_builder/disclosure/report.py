"""The suppression report: what each rule withheld, per table and overall."""

from __future__ import annotations

import polars as pl

RULES = ("primary", "complementary", "top_coded", "bottom_coded")


def suppression_report(published: pl.DataFrame) -> pl.DataFrame:
    """One row per table (topic/measure) plus an ``All tables`` row: cells, cells withheld by
    each rule, cells published in full, and the share published (percent, one decimal)."""
    counts = [(pl.col("reason") == r).sum().alias(r) for r in RULES]
    by_table = published.group_by("topic", "measure").agg(pl.len().alias("cells"), *counts)
    overall = published.select(pl.lit("All tables").alias("topic"), pl.lit("").alias("measure"),
                               pl.len().alias("cells"), *counts)
    out = pl.concat([by_table.sort("topic", "measure"), overall], how="vertical_relaxed")
    return out.with_columns(
        (pl.col("cells") - pl.sum_horizontal(list(RULES))).alias("published"),
    ).with_columns(
        (100 * pl.col("published") / pl.col("cells")).round(1).alias("share_published"))


def render_markdown(report: pl.DataFrame) -> str:
    """The report as a Markdown table, for the CLI, a notebook or a README."""
    cols = ["topic", "measure", "cells", *RULES, "published", "share_published"]
    head = "| " + " | ".join(c.replace("_", " ") for c in cols) + " |"
    sep = "|" + "|".join("---" if i < 2 else "---:" for i in range(len(cols))) + "|"
    lines = [head, sep]
    for r in report.select(cols).iter_rows():
        cells = [f"{v:,}" if isinstance(v, int) else (f"{v:.1f}%" if isinstance(v, float)
                                                       else str(v)) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
