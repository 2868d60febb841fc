"""Raw aggregate cells from a loaded extract, as the report specs declare them.

:func:`compute_cells` turns an :class:`~site_builder.extract.Extract` into the raw cell table
(:data:`site_builder.cells.RAW_SCHEMA`): exact numbers, nothing withheld, restricted.

How it works, and why it is fast:

* The specs' sections are reduced to **cuts**: one per (source table, subject or not, grade or
  not, group partition), each carrying the measures, levels and years that need it. Sections
  that share a cut share its work (the All-students total appears in every section).
* Each cut is ONE lazy ``group_by`` at school level over every school of every year at once;
  no Python loop runs over districts or schools. The cuts of a source share one scan
  (``pl.collect_all`` applies common-subplan elimination).
* Every combination that exists is emitted, zeros included: a cut's school-level counts are
  joined onto a **scaffold** of (entity x grade x group) so that, say, 0 Pacific Islander
  students is a row with ``n_students = 0``. An entity exists when it has rows in the source
  that year (enrollment for enrollment and attendance, testers in the subject for assessment,
  a cohort for graduation).
* Districts and the state are **rolled up** from the complete school-level table with
  ``group_by`` sums, so schools add up to districts and districts to the state by
  construction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.cells import ALL_GRADES, KEY, RAW_SCHEMA
from site_builder.extract import Extract
from site_builder.measures import NUMERATORS
from site_builder.specs import GroupFamily, Partition, ReportSpecs, TopicSpec

ENTITY = ("year", "district_code", "school_code")


@dataclass(frozen=True)
class MeasureRequest:
    """One measure of one cut, with where it is wanted."""

    topic: str
    measure: str
    population: str
    numerator: str | None
    """Numerator function name; None for a count."""
    levels: frozenset[str]
    years: frozenset[int] | None
    """None: every year of the extract."""


@dataclass
class Cut:
    """One aggregation: a source table grouped by entity, optional subject/grade and a partition."""

    source: str
    by_subject: bool
    by_grade: bool
    family: GroupFamily
    partition: Partition
    subjects: tuple[str, ...] = ()
    requests: dict[str, MeasureRequest] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [*ENTITY, *(["subject"] if self.by_subject else []),
                *(["grade"] if self.by_grade else []), "student_group"]


def plan_cuts(specs: ReportSpecs) -> list[Cut]:
    """The distinct aggregations the sections of ``specs`` need, in a stable order."""
    cuts: dict[tuple[str, bool, bool, str], Cut] = {}
    for topic, section in specs.sections:
        parts = [(specs.groups.family(f), p) for f in section.families
                 for p in specs.groups.family(f).partitions]
        for fam, part in parts:
            if section.by_grade and fam.id != "All":  # never crossed (the specs forbid it)
                continue
            grade_options = [False, True] if section.by_grade else [False]
            for by_grade in grade_options:
                if by_grade and fam.id != "All":
                    continue
                k = (topic.source, section.by_subject, by_grade, part.id)
                cut = cuts.setdefault(k, Cut(topic.source, section.by_subject, by_grade, fam,
                                             part, tuple(topic.subjects)))
                for mid in section.measures:
                    _add_request(cut, topic, mid, section.levels, section.years)
    return list(cuts.values())


def _add_request(cut: Cut, topic: TopicSpec, measure_id: str, levels: Iterable[str],
                 years: object) -> None:
    m = topic.measure(measure_id)
    yrs = None if years == "all" else frozenset(years)  # type: ignore[arg-type]
    old = cut.requests.get(measure_id)
    if old is not None:
        yrs = None if old.years is None or yrs is None else old.years | yrs
        levels = old.levels | frozenset(levels)
    cut.requests[measure_id] = MeasureRequest(topic.topic, m.id, topic.population,
                                              m.numerator_name, frozenset(levels), yrs)


def _group_label(part: Partition) -> pl.Expr:
    if part.column is None:
        return pl.lit(part.groups[0].label, dtype=pl.String)
    expr: pl.When | pl.Then | None = None
    for g in part.groups:
        cond = pl.col(part.column) == g.value
        expr = pl.when(cond) if expr is None else expr.when(cond)  # type: ignore[union-attr]
        expr = expr.then(pl.lit(g.label, dtype=pl.String))  # type: ignore[union-attr]
    return expr  # type: ignore[return-value]


def _source(extract: Extract, cut: Cut) -> pl.LazyFrame:
    lf: pl.LazyFrame = getattr(extract, cut.source)
    if cut.source == "assessment":
        lf = lf.filter(pl.col("subject").is_in(list(cut.subjects)))
    return lf


def _grades(cut: Cut) -> pl.LazyFrame:
    """The grade universe of a by-grade cut: every grade, or each subject's tested grades."""
    if cut.by_subject:
        rows = [(s, g) for s in cut.subjects for g in schema.SUBJECTS[s]]
        return pl.LazyFrame({"subject": [r[0] for r in rows], "grade": [r[1] for r in rows]},
                            schema={"subject": pl.String, "grade": pl.String})
    return pl.LazyFrame({"grade": list(schema.GRADES)}, schema={"grade": pl.String})


def school_level(extract: Extract, cut: Cut) -> pl.LazyFrame:
    """A cut at school level: one row per (school, year[, subject][, grade], group), zeros
    included, with ``n`` and one ``m_<measure>`` numerator column per rate measure."""
    lf = _source(extract, cut)
    rates = {r.measure: r.numerator for r in cut.requests.values() if r.numerator}
    counts = (
        lf.with_columns(_group_label(cut.partition).alias("student_group"))
        .group_by(cut.keys)
        .agg(pl.len().cast(pl.Int64).alias("n"),
             *[NUMERATORS[fn].expr().sum().cast(pl.Int64).alias(f"m_{mid}")
               for mid, fn in rates.items()])
    )
    entity_cols = [*ENTITY, *(["subject"] if cut.by_subject else [])]
    scaffold = lf.select(entity_cols).unique()
    if cut.by_grade:
        scaffold = (scaffold.join(_grades(cut), on="subject") if cut.by_subject
                    else scaffold.join(_grades(cut), how="cross"))
    groups = pl.LazyFrame({"student_group": cut.partition.labels},
                          schema={"student_group": pl.String})
    scaffold = scaffold.join(groups, how="cross")
    value_cols = ["n", *[f"m_{mid}" for mid in rates]]
    return (scaffold.join(counts, on=cut.keys, how="left")
            .with_columns(pl.col(value_cols).fill_null(0)))


def roll_up(school: pl.DataFrame, cut: Cut) -> pl.DataFrame:
    """School rows -> school, district and state rows, with a ``level`` column."""
    values = [c for c in school.columns if c == "n" or c.startswith("m_")]
    inner = [k for k in cut.keys if k not in ENTITY]
    district = (school.group_by(["year", "district_code", *inner])
                .agg(pl.col(values).sum())
                .with_columns(pl.lit("", dtype=pl.String).alias("school_code")))
    state = (district.group_by(["year", *inner])
             .agg(pl.col(values).sum())
             .with_columns(pl.lit("", dtype=pl.String).alias("district_code"),
                           pl.lit("", dtype=pl.String).alias("school_code")))
    cols = [*cut.keys, *values]
    return pl.concat([
        school.select(cols).with_columns(pl.lit("school").alias("level")),
        district.select(cols).with_columns(pl.lit("district").alias("level")),
        state.select(cols).with_columns(pl.lit("state").alias("level")),
    ])


def to_cells(wide: pl.DataFrame, cut: Cut, years: tuple[int, ...]) -> pl.DataFrame:
    """One cut's wide table (n, m_*) -> raw cells, one row per measure."""
    frames = []
    for r in cut.requests.values():
        keep = pl.col("level").is_in(sorted(r.levels))
        if r.years is not None:
            keep = keep & pl.col("year").is_in(sorted(r.years & set(years)))
        frames.append(wide.filter(keep).select(
            pl.col("year").cast(pl.Int32),
            "level", "district_code", "school_code",
            pl.lit(r.topic).alias("topic"),
            pl.lit(r.measure).alias("measure"),
            pl.lit(r.population).alias("population"),
            (pl.col("subject") if cut.by_subject else pl.lit("")).alias("subject"),
            (pl.col("grade") if cut.by_grade else pl.lit(ALL_GRADES)).alias("grade"),
            pl.lit(cut.family.id).alias("group_family"),
            "student_group",
            pl.col("n").alias("n_students"),
            (pl.col(f"m_{r.measure}") if r.numerator else pl.lit(None, dtype=pl.Int64))
            .alias("n_meeting"),
        ))
    return pl.concat(frames).cast(RAW_SCHEMA)  # type: ignore[arg-type]


def compute_cells(extract: Extract, specs: ReportSpecs) -> pl.DataFrame:
    """Every raw cell the specs declare, for every level and year of ``extract``.

    Returns a frame with exactly :data:`~site_builder.cells.RAW_SCHEMA`, sorted by
    :data:`~site_builder.cells.KEY`, zeros included. Restricted: write it only with
    :func:`write_raw_cells`.
    """
    cuts = plan_cuts(specs)
    schools = pl.collect_all([school_level(extract, c) for c in cuts])
    parts = [to_cells(roll_up(df, c), c, extract.years) for df, c in zip(schools, cuts,
                                                                         strict=True)]
    if not parts:
        return pl.DataFrame(schema=RAW_SCHEMA)
    return pl.concat(parts).sort(list(KEY)).select(list(RAW_SCHEMA))


def write_raw_cells(cells: pl.DataFrame, out_dir: Path | str) -> Path:
    """Write raw cells to ``<out_dir>/cells.parquet``: restricted, so dir 0700 and file 0600.

    The file is written beside its final name and renamed into place, so a reader never
    sees half a file. Same cells give a byte-identical file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    target = out / "cells.parquet"
    tmp = out / ".cells.parquet.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    cells.select(list(RAW_SCHEMA)).cast(RAW_SCHEMA).write_parquet(  # type: ignore[arg-type]
        tmp, compression="zstd", statistics=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
