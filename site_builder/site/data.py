"""Published cells, indexed for page rendering: one lookup per entity.

Only *published* cells come in here (``display`` is what a page shows; withheld numbers are
already null). Nothing is computed from them: a page shows a cell's ``display`` and a chart
plots its ``rate`` or ``n_students``, so every number on a page is a number in the CSVs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from site_builder.cells import ALL_GRADES, ALL_STUDENTS, CSV_COLUMNS, PUBLISHED_EXTRA, RAW_SCHEMA
from site_builder.errors import ReportcardError

Entity = tuple[str, str, str]
"""(level, district_code, school_code); the state is ("state", "", "")."""
STATE: Entity = ("state", "", "")

CellKey = tuple[int, str, str, str, str]
"""(year, measure, subject, grade, student_group) within one entity."""


@dataclass(frozen=True)
class Shown:
    """One published cell as a page shows it."""

    display: str
    reason: str
    value: float | int | None
    """What a chart may plot: the rate (rates) or n_students (counts); None when withheld."""

    @property
    def withheld(self) -> bool:
        return self.reason != ""


@dataclass
class CellIndex:
    """Published cells by entity, restricted to what pages show."""

    years: tuple[int, ...]
    by_entity: dict[Entity, dict[CellKey, Shown]] = field(default_factory=dict)
    spans: dict[Entity, tuple[int, int]] = field(default_factory=dict)
    """Per entity, its first and last year with any cell (a school that closed, or opened,
    has fewer years than the site)."""

    @property
    def latest(self) -> int:
        return self.years[-1]

    def span(self, entity: Entity) -> tuple[int, int] | None:
        """The first and last year ``entity`` has students in (``None``: in no year)."""
        return self.spans.get(entity)

    def has_latest(self, entity: Entity) -> bool:
        """Whether ``entity`` has students in the latest year."""
        span = self.spans.get(entity)
        return span is not None and span[1] == self.latest

    def get(self, entity: Entity, key: CellKey) -> Shown | None:
        return self.by_entity.get(entity, {}).get(key)

    def cells(self, entity: Entity) -> dict[CellKey, Shown]:
        return self.by_entity.get(entity, {})


class PublishedCellsError(ReportcardError):
    pass


def check_published(published: pl.DataFrame) -> None:
    """Refuse anything that is not a published cell table (e.g. raw cells)."""
    need = set(RAW_SCHEMA) | set(PUBLISHED_EXTRA)
    missing = sorted(need - set(published.columns))
    if missing:
        raise PublishedCellsError(
            f"published cells: missing column(s) {', '.join(missing)}; the site renders "
            "only protected cells.\n  Hint: run `reportcard compute` (it protects the "
            "aggregates) and build from build/aggregates/published.parquet")
    bad = published.filter(pl.col("suppressed") & (
        pl.col("n_meeting").is_not_null() | pl.col("rate").is_not_null()
        | ((pl.col("reason") == "primary") & pl.col("n_students").is_not_null())))
    if bad.height:
        ex = bad.head(3).select("level", "district_code", "measure", "student_group")
        raise PublishedCellsError(
            f"published cells: {bad.height:,} withheld cell(s) still carry a number "
            f"(e.g. {ex.rows()}); the site shows only what disclosure control published.\n"
            "  Hint: withheld numbers must be null in published.parquet")
    unknown = set(published.get_column("level").unique().to_list()) - {"state", "district",
                                                                        "school"}
    if unknown:
        raise PublishedCellsError(f"published cells: unknown level(s) {sorted(unknown)}")


def index_cells(published: pl.DataFrame, trend_measures: set[str],
                rate_measures: set[str]) -> CellIndex:
    """Index what pages show: every cell of the latest year, and all years of the
    all-students, all-grades cells of ``trend_measures`` (the five-year trends)."""
    check_published(published)
    years = tuple(sorted(published.get_column("year").unique().to_list()))
    if not years:
        raise PublishedCellsError("published cells: the table is empty; nothing to build")
    latest = years[-1]
    shown = published.filter(
        (pl.col("year") == latest)
        | ((pl.col("grade") == ALL_GRADES) & (pl.col("student_group") == ALL_STUDENTS)
           & pl.col("measure").is_in(sorted(trend_measures)))
    )
    index = CellIndex(years=years)
    for row in published.group_by("level", "district_code", "school_code").agg(
            pl.col("year").min().alias("first"), pl.col("year").max().alias("last"),
    ).iter_rows():
        index.spans[(str(row[0]), str(row[1]), str(row[2]))] = (int(row[3]), int(row[4]))
    parts = shown.partition_by(["level", "district_code", "school_code"], as_dict=True,
                               maintain_order=False)
    for ent, df in parts.items():
        lookup: dict[CellKey, Shown] = {}
        cols = [df.get_column(c).to_list() for c in (
            "year", "measure", "subject", "grade", "student_group", "display", "reason",
            "rate", "n_students", "suppressed")]
        for year, meas, subj, grade, grp, disp, reason, rate, n, supp in zip(*cols,
                                                                              strict=True):
            if rate is not None:
                value: float | int | None = rate
            elif not supp and n is not None and meas not in rate_measures:
                value = int(n)
            else:
                value = None
            lookup[(year, meas, subj, grade, grp)] = Shown(disp, reason or "", value)
        index.by_entity[(str(ent[0]), str(ent[1]), str(ent[2]))] = lookup
    return index


def csv_frame(published: pl.DataFrame, districts: pl.DataFrame,
              schools: pl.DataFrame) -> pl.DataFrame:
    """Published cells with directory names, in CSV column order and a deterministic order."""
    dnames = districts.select("district_code", "district_name")
    snames = schools.select("district_code", "school_code", "school_name")
    df = (published
          .join(dnames, on="district_code", how="left")
          .join(snames, on=["district_code", "school_code"], how="left")
          .with_columns(pl.col("district_name").fill_null(""),
                        pl.col("school_name").fill_null(""),
                        pl.col("reason").fill_null("")))
    level_rank = pl.col("level").replace_strict({"state": 0, "district": 1, "school": 2},
                                                return_dtype=pl.Int8)
    return (df.with_columns(level_rank.alias("_lvl"))
            .sort(["district_code", "_lvl", "school_code", "year", "topic", "measure",
                   "subject", "grade", "group_family", "student_group"])
            .select(list(CSV_COLUMNS)))
