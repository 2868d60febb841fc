"""Two releases of the same data, together: what a visitor who kept the earlier one knows.

Each publication is protected and audited on its own. Publishing again with unchanged
inputs, specs, policy and code gives the same pattern, byte for byte; but a year protected
again with a different pattern (after a change to the code, the specs or the policy) can
withhold a number the earlier release published, and publish one it withheld. A visitor who
saved the earlier release's CSVs then knows both, and the two together can give away what
each alone protects (differencing between releases, NIST SP 800-53 SI-19(05)): full state
2024, the patterns of sessions 39 and 40 together disclose 11 values exactly.

:func:`together` puts together what such a visitor knows, cell by cell: the row of the
release that says the most about it (published, else coded as a band, else withheld). Its
audit (:func:`audit_releases`, ``reportcard audit-releases``) is the ordinary LP audit of
that table. It models releases of the *same* true values: a number both publish with
different values means the data changed between them (a correction), and what a visitor
learns from the change itself is not modelled (:attr:`YearDifference.changed` counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from site_builder.cells import KEY
from site_builder.disclosure.audit import (
    AuditReport,
    audit_cells,
    published_csvs,
    read_published,
)
from site_builder.disclosure.policy import Policy
from site_builder.errors import ReportcardError

INFO = {"": 2, "top_coded": 1, "bottom_coded": 1}
"""How much a row says about its cell, by its reason: published in full, coded as a band,
else (primary, complementary) nothing."""

_NUMBERS = ("n_students", "n_meeting", "display")


class ReleasesError(ReportcardError):
    """The two releases cannot be audited together, or together they disclose."""


@dataclass(frozen=True)
class YearDifference:
    year: int
    withheld_now: int
    """Rows the later release withholds (or codes) that the earlier one shows more of."""
    shown_now: int
    """Rows the later release shows more of than the earlier one."""
    changed: int
    """Rows both publish in full with different numbers: the data changed."""

    @property
    def same_pattern(self) -> bool:
        return not (self.withheld_now or self.shown_now)

    def render(self) -> str:
        if self.same_pattern:
            text = f"{self.year}: the same pattern in both releases"
        else:
            text = (f"{self.year}: {self.withheld_now:,} rows withheld (or shown as a range) "
                    f"now that the earlier release showed, {self.shown_now:,} shown now that "
                    "it withheld")
        if self.changed:
            text += (f"; {self.changed:,} rows published in both with different numbers (the "
                     "data changed: what the change itself tells is not audited)")
        return text


def _info(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("reason").replace_strict(
        INFO, default=0, return_dtype=pl.Int8).alias("_info"))


def together(earlier: pl.DataFrame, later: pl.DataFrame, truth: pl.DataFrame | None = None,
             ) -> tuple[pl.DataFrame, list[YearDifference]]:
    """What a visitor holding both releases knows (frames as :func:`audit.read_published`
    gives them): each cell as the release that says the most about it shows it (the later
    one on a tie), with the cells only one of them has; and, per year of the later release,
    how the two differ. ``truth``: the raw cells of the later release; an earlier number
    that is no longer true (the data changed, or the cell is no longer computed) then is
    not known (where the later release has the cell, it counts as ``changed``)."""
    keys = list(KEY)
    a, b = _info(earlier), _info(later)
    if truth is None:
        a = a.with_columns(pl.lit(False).alias("_stale"))
    else:  # a number the earlier release shows that is not today's (or of no cell today)
        a = a.join(truth.select(*keys, pl.col("n_students").alias("_true_n"),
                                pl.col("n_meeting").alias("_true_m")),
                   on=keys, how="left", nulls_equal=True).with_columns(pl.any_horizontal(
                       [pl.col(c).is_not_null() & pl.col(c).ne_missing(pl.col(t))
                        for c, t in (("n_students", "_true_n"), ("n_meeting", "_true_m"))]
                   ).alias("_stale")).drop("_true_n", "_true_m")
    both = b.select(*keys, "_info", *_NUMBERS).join(
        a.select(*keys, "_stale", pl.col("_info").alias("_before"),
                 *[pl.col(c).alias(f"_before_{c}") for c in _NUMBERS]),
        on=keys, how="inner", nulls_equal=True)
    full = (pl.col("_info") == 2) & (pl.col("_before") == 2)
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"_before_{c}"))
                                 for c in _NUMBERS])
    more = pl.col("_before") > pl.col("_info")
    diffs = []
    for (year,), g in both.group_by("year", maintain_order=True):
        diffs.append(YearDifference(
            year=int(year),  # type: ignore[call-overload]
            withheld_now=g.filter(more & ~pl.col("_stale")).height,
            shown_now=g.filter(pl.col("_info") > pl.col("_before")).height,
            changed=g.filter((full & differs) | (more & pl.col("_stale"))).height))
    from_before = both.filter(more & ~pl.col("_stale")).select(keys)
    a = a.filter(~pl.col("_stale")).drop("_stale")
    known = pl.concat([
        b.join(from_before, on=keys, how="anti", nulls_equal=True),
        a.join(from_before, on=keys, how="semi", nulls_equal=True),
        a.join(b.select(keys), on=keys, how="anti", nulls_equal=True),
    ]).drop("_info").sort(keys)
    return known, sorted(diffs, key=lambda d: d.year)


def audit_releases(earlier: Path, later: Path, policy: Policy,
                   hint: pl.DataFrame | None = None, workers: int = 1,
                   ) -> tuple[AuditReport, list[YearDifference]]:
    """The LP audit of what the two published sites give away together, for the years
    whose patterns differ (a year with the same pattern in both is what the later release
    alone publishes: its own audit, the gate's, covers it). ``hint``: the raw cells of the
    later release, as for :func:`audit.audit_cells`, and the truth for :func:`together`."""
    csvs = [published_csvs(site) for site in (earlier, later)]
    for site, paths in zip((earlier, later), csvs, strict=True):
        if not paths:
            raise ReleasesError(f"{site}: no published CSVs under downloads/. Hint: give "
                                "the directory of a published site (the one with "
                                "manifest.json), e.g. site/ or a saved copy of it.")
    known, diffs = together(read_published(csvs[0]), read_published(csvs[1]), truth=hint)
    years = [d.year for d in diffs if not d.same_pattern]
    if not years:
        return AuditReport(), diffs
    if hint is not None:
        hint = hint.filter(pl.col("year").is_in(years))
    return audit_cells(known.filter(pl.col("year").is_in(years)), policy, hint=hint,
                       workers=workers), diffs
