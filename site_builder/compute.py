"""Raw aggregate cells from a loaded extract, as the report specs declare them.

:func:`compute_cells` turns an :class:`~site_builder.extract.Extract` into the raw cell table
(:data:`site_builder.cells.RAW_SCHEMA`): exact numbers, nothing withheld, restricted.

How it works, and why it is fast:

* The specs' sections are reduced to **cuts**: one per (source table, subject or not, grade or
  not, group partition), each carrying the measures, levels and years that need it. Sections
  that share a cut share its work (the All-students total appears in every section).
* Each source table is read **once** (one lazy pass per table family, ``pl.collect_all``):
  only the columns the cuts use, every numerator evaluated once as a 0/1 column.
* Every key is turned into a small integer **code** whose order is the string order (polars
  ``Enum`` with sorted categories), and a cell's whole key is packed into one ``UInt64``. Each
  cut is then ONE ``group_by`` on that integer over every school of every year at once; no
  Python loop runs over districts or schools. Strings come back only at the very end, after a
  single sort on a packed integer that orders rows exactly as sorting by ``cells.KEY`` would.
* Every count that exists is emitted, zeros included: a cut's school-level counts are
  joined onto a **scaffold** of (entity x grade x group), so 0 Pacific Islander students is a
  row with ``n_students = 0``. An entity exists when it has rows in the source that year
  (enrollment for enrollment and attendance, testers in the subject for assessment, a cohort
  for graduation).
* A **rate** row is emitted only where its denominator is at least 1: a percent of no students
  is not a number (grade 11 at an elementary school, Pacific Islander students tested at a
  school that has none), and at full scale those rows were about a quarter of all cells. A
  missing rate row means its denominator and numerator are 0, which is what every linear
  relation (groups, grades, schools in districts, levels) assumes of a missing part.
* Districts and the state are **rolled up** from the complete school-level table (group_by
  sums), so schools add up to districts and districts to the state by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from site_builder import schema
from site_builder.cells import ALL_GRADES, ALL_STUDENTS, KEY, LEVELS, RAW_SCHEMA
from site_builder.extract import Extract
from site_builder.measures import NUMERATORS
from site_builder.specs import GroupFamily, Partition, ReportSpecs, TopicSpec

# --- planning: sections -> cuts -----------------------------------------------------------


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
    """One aggregation: a source table by entity, optional subject/grade, and one partition."""

    source: str
    by_subject: bool
    by_grade: bool
    family: GroupFamily
    partition: Partition
    subjects: tuple[str, ...] = ()
    grade_subjects: tuple[str, ...] = ()
    """Subjects broken down by grade in a cut by grade (the others: all grades only)."""
    requests: dict[str, MeasureRequest] = field(default_factory=dict)


def plan_cuts(specs: ReportSpecs) -> list[Cut]:
    """The distinct aggregations the sections of ``specs`` need, in a stable order.

    A section by grade also needs its all-grades total; every section needs All students.
    """
    cuts: dict[tuple[str, bool, bool, str], Cut] = {}
    for topic, section in specs.sections:
        for fam_id in section.families:
            fam = specs.groups.family(fam_id)
            for part in fam.partitions:
                for by_grade in ([False, True] if section.by_grade and fam_id == "All"
                                 else [False]):
                    k = (topic.source, section.by_subject, by_grade, part.id)
                    cut = cuts.setdefault(k, Cut(topic.source, section.by_subject, by_grade,
                                                 fam, part, tuple(topic.subjects),
                                                 tuple(topic.by_grade_subjects)))
                    for mid in section.measures:
                        _add_request(cut, topic, mid, section.levels, section.years)
    return list(cuts.values())


def _add_request(cut: Cut, topic: TopicSpec, measure_id: str, levels: Iterable[str],
                 years: str | list[int]) -> None:
    m = topic.measure(measure_id)
    yrs = None if isinstance(years, str) else frozenset(years)
    lv = frozenset(levels)
    old = cut.requests.get(measure_id)
    if old is not None:
        yrs = None if old.years is None or yrs is None else old.years | yrs
        lv = old.levels | lv
    cut.requests[measure_id] = MeasureRequest(topic.topic, m.id, topic.population,
                                              m.numerator_name, lv, yrs)


# --- integer codes ------------------------------------------------------------------------


@dataclass
class Codes:
    """Sorted values of each key column: a value's code is its index, so codes sort as
    strings do. Empty string ("not applicable") is code 0 where it can occur."""

    values: dict[str, list[str]]
    min_year: int

    def code(self, column: str, value: str) -> int:
        return self.values[column].index(value)

    def enum(self, column: str) -> pl.Enum:
        return pl.Enum(self.values[column])

    def bits(self, column: str) -> int:
        if column.startswith("g_"):  # a partition's group column holds student_group codes
            column = "student_group"
        return max(1, (len(self.values[column]) - 1).bit_length())


PACKED = ("year", "district_code", "school_code", "subject", "grade", "student_group")
"""Fields packed into a cut's UInt64 key, most significant first."""

FINAL = ("year", "level", "district_code", "school_code", "topic", "measure", "subject",
         "grade", "group_family", "student_group")
assert FINAL == KEY  # the final packed key sorts exactly as cells.KEY


def make_codes(specs: ReportSpecs, cuts: list[Cut], frames: dict[str, pl.DataFrame],
               years: tuple[int, ...]) -> Codes:
    def distinct(col: str) -> set[str]:
        return {v for f in frames.values() for v in f[col].unique().to_list()}

    measures = sorted({m for c in cuts for m in c.requests})
    values = {
        "year": [str(y) for y in range(min(years), max(years) + 1)],
        "level": sorted(LEVELS),
        "district_code": sorted({""} | distinct("district_code")),
        "school_code": sorted({""} | distinct("school_code")),
        "topic": sorted({r.topic for c in cuts for r in c.requests.values()}),
        "measure": measures,
        "subject": sorted({""} | set(schema.SUBJECTS)),
        "grade": sorted({ALL_GRADES, *schema.GRADES}),
        "group_family": sorted({f.id for f in specs.groups.families}),
        "student_group": sorted({lab for f in specs.groups.families for lab in f.labels}),
    }
    return Codes(values, min(years))


def _pack(codes: Codes, fields: Iterable[str], exprs: dict[str, pl.Expr]) -> pl.Expr:
    key: pl.Expr = pl.lit(0, dtype=pl.UInt64)
    for f in fields:
        key = (key * (1 << codes.bits(f))) + exprs[f].cast(pl.UInt64)
    return key


def _unpack(codes: Codes, fields: tuple[str, ...], col: str = "key") -> list[pl.Expr]:
    out, shift = [], 0
    for f in reversed(fields):
        b = codes.bits(f)
        out.append(((pl.col(col) // (1 << shift)) % (1 << b)).cast(pl.UInt32).alias(f))
        shift += b
    return out


# --- reading the sources once ------------------------------------------------------------


def read_sources(extract: Extract, cuts: list[Cut]) -> dict[str, pl.DataFrame]:
    """Read each source table the cuts need ONCE: the columns they use, plus a 0/1 column
    ``m_<measure>`` per rate measure (its numerator evaluated once)."""
    plans: dict[str, pl.LazyFrame] = {}
    for source in dict.fromkeys(c.source for c in cuts):
        mine = [c for c in cuts if c.source == source]
        lf: pl.LazyFrame = getattr(extract, source)
        if source == "assessment":
            lf = lf.filter(pl.col("subject").is_in(sorted({s for c in mine for s in c.subjects})))
        rates = {r.measure: r.numerator for c in mine for r in c.requests.values()
                 if r.numerator}
        group_cols = sorted({c.partition.column for c in mine if c.partition.column})
        cols = ["year", "district_code", "school_code",
                *(["subject"] if any(c.by_subject for c in mine) else []),
                *(["grade"] if any(c.by_grade for c in mine) else []), *group_cols]
        plans[source] = lf.select(
            *cols, *[NUMERATORS[fn].expr().cast(pl.Int64).alias(f"m_{mid}")
                     for mid, fn in sorted(rates.items())])
    return dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))


def _encode(frame: pl.DataFrame, codes: Codes, cuts: list[Cut]) -> pl.DataFrame:
    """Key columns -> order-preserving integer codes; group columns -> student_group codes."""
    enc = [((pl.col("year") - codes.min_year).cast(pl.UInt32)).alias("year"),
           *[pl.col(c).cast(codes.enum(c)).to_physical().cast(pl.UInt32).alias(c)
             for c in ("district_code", "school_code", "subject", "grade") if c in frame.columns]]
    for part in {c.partition.id: c.partition for c in cuts}.values():
        enc.append(_group_code(part, codes).alias(f"g_{part.id}"))
    return frame.with_columns(enc).select(
        [c for c in ("year", "district_code", "school_code", "subject", "grade")
         if c in frame.columns] + [f"g_{p}" for p in {c.partition.id for c in cuts}]
        + [c for c in frame.columns if c.startswith("m_")])


def _group_code(part: Partition, codes: Codes) -> pl.Expr:
    if part.column is None:
        return pl.lit(codes.code("student_group", ALL_STUDENTS), dtype=pl.UInt32)
    expr: Any = pl
    for g in part.groups:
        expr = expr.when(pl.col(part.column) == g.value).then(
            pl.lit(codes.code("student_group", g.label), dtype=pl.UInt32))
    return expr  # type: ignore[no-any-return]


def micro_cells(encoded: pl.DataFrame, codes: Codes) -> pl.LazyFrame:
    """Students -> one row per distinct combination of every key and group code, with the
    head count ``n`` and numerator sums: every cut of the source is a sum over these rows.
    (About 4 times fewer rows than students, so twenty cuts cost less than one.)"""
    fields = tuple(c for c in encoded.columns if not c.startswith("m_"))
    rates = [c for c in encoded.columns if c.startswith("m_")]
    total = sum(codes.bits(f) for f in fields)
    if total > 64:  # pragma: no cover - only with far more schools than any state has
        return encoded.lazy().with_columns(pl.lit(1, dtype=pl.Int64).alias("n"))
    return (encoded.lazy()
            .group_by(_pack(codes, fields, {f: pl.col(f) for f in fields}).alias("key"))
            .agg(pl.len().cast(pl.Int64).alias("n"), *[pl.col(m).sum() for m in rates])
            .select(*_unpack(codes, fields), "n", *rates))


# --- one cut ------------------------------------------------------------------------------


def _key_exprs(cut: Cut, codes: Codes) -> dict[str, pl.Expr]:
    return {
        "year": pl.col("year"), "district_code": pl.col("district_code"),
        "school_code": pl.col("school_code"),
        "subject": pl.col("subject") if cut.by_subject else pl.lit(0),
        "grade": pl.col("grade") if cut.by_grade else pl.lit(codes.code("grade", ALL_GRADES)),
        "student_group": pl.col(f"g_{cut.partition.id}"),
    }


def _scaffold(source: pl.DataFrame, cut: Cut, codes: Codes) -> pl.LazyFrame:
    """Every (school, year[, subject][, grade], group) of the cut that should exist."""
    entity = ["year", "district_code", "school_code", *(["subject"] if cut.by_subject else [])]
    lf = source.lazy().select(entity).unique()
    if cut.by_grade:
        if cut.by_subject:
            pairs = [(codes.code("subject", s), codes.code("grade", g))
                     for s in cut.subjects if s in cut.grade_subjects
                     for g in schema.SUBJECTS[s]]
            grades = pl.LazyFrame({"subject": [p[0] for p in pairs],
                                   "grade": [p[1] for p in pairs]},
                                  schema={"subject": pl.UInt32, "grade": pl.UInt32})
            lf = lf.join(grades, on="subject")
        else:
            grades = pl.LazyFrame({"grade": [codes.code("grade", g) for g in schema.GRADES]},
                                  schema={"grade": pl.UInt32})
            lf = lf.join(grades, how="cross")
    groups = pl.LazyFrame(
        {f"g_{cut.partition.id}": [codes.code("student_group", lab)
                                   for lab in cut.partition.labels]},
        schema={f"g_{cut.partition.id}": pl.UInt32})
    lf = lf.join(groups, how="cross")
    return lf.select(_pack(codes, PACKED, _key_exprs(cut, codes)).alias("key"))


def school_level(source: pl.DataFrame, cut: Cut, codes: Codes) -> pl.LazyFrame:
    """A cut at school level, zeros included: ``key`` (packed), ``n`` and ``m_<measure>``.

    ``source`` is the source's :func:`micro_cells` (or any frame with a head count ``n``)."""
    rates = [r.measure for r in cut.requests.values() if r.numerator]
    counts = (source.lazy()
              .select(_pack(codes, PACKED, _key_exprs(cut, codes)).alias("key"), "n",
                      *[f"m_{m}" for m in rates])
              .group_by("key")
              .agg(pl.col("n").sum(), *[pl.col(f"m_{m}").sum() for m in rates]))
    values = ["n", *[f"m_{m}" for m in rates]]
    return (_scaffold(source, cut, codes).join(counts, on="key", how="left")
            .with_columns(pl.col(values).fill_null(0)))


def roll_up(school: pl.DataFrame, codes: Codes) -> pl.DataFrame:
    """School rows -> school, district and state rows; adds a ``level`` code."""
    values = [c for c in school.columns if c != "key"]
    s_bits = sum(codes.bits(f) for f in PACKED[PACKED.index("school_code") + 1:])
    d_bits = s_bits + codes.bits("school_code")
    all_bits = d_bits + codes.bits("district_code")

    def zero(lo: int, hi: int) -> pl.Expr:
        """Set bits lo..hi-1 of the key to 0 (code 0 is "" for district and school)."""
        return (pl.col("key") // (1 << hi) * (1 << hi)) + (pl.col("key") % (1 << lo))

    district = school.group_by(zero(s_bits, d_bits).alias("key")).agg(pl.col(values).sum())
    state = district.group_by(zero(d_bits, all_bits).alias("key")).agg(pl.col(values).sum())
    return pl.concat([
        f.with_columns(pl.lit(codes.code("level", lv), dtype=pl.UInt32).alias("level"))
        for f, lv in ((school, "school"), (district, "district"), (state, "state"))])


def to_cells(wide: pl.DataFrame, cut: Cut, codes: Codes, years: tuple[int, ...]
             ) -> pl.DataFrame:
    """One cut's rolled-up table -> coded cells (one row per measure), with a packed key."""
    frames = []
    parts = {e.meta.output_name(): e for e in _unpack(codes, PACKED)}
    fam = codes.code("group_family", cut.family.id)
    for r in cut.requests.values():
        keep = pl.col("level").is_in([codes.code("level", lv) for lv in sorted(r.levels)])
        if r.years is not None:
            keep = keep & parts["year"].is_in([y - codes.min_year for y in r.years
                                               if y in years])
        exprs = {**parts, "level": pl.col("level"),
                 "topic": pl.lit(codes.code("topic", r.topic)),
                 "measure": pl.lit(codes.code("measure", r.measure)),
                 "group_family": pl.lit(fam)}
        if r.numerator:
            keep = keep & (pl.col("n") > 0)  # a rate of no students is not published
        frames.append(wide.filter(keep).select(
            _pack(codes, FINAL, exprs).alias("sort_key"),
            pl.col("n").alias("n_students"),
            (pl.col(f"m_{r.measure}") if r.numerator else pl.lit(None, dtype=pl.Int64))
            .alias("n_meeting")))
    return pl.concat(frames)


def decode(coded: pl.DataFrame, codes: Codes, populations: dict[str, str]) -> pl.DataFrame:
    """Packed, coded cells -> the raw cell table with strings (RAW_SCHEMA)."""
    cols = coded.select(*_unpack(codes, FINAL, "sort_key"), "n_students", "n_meeting")
    out = {}
    for f in FINAL:
        if f == "year":
            out[f] = (cols[f].cast(pl.Int32) + codes.min_year).alias(f)
        else:
            out[f] = pl.Series(f, codes.values[f], dtype=pl.String).gather(cols[f])
    pop = pl.Series("population", [populations[m] for m in codes.values["measure"]],
                    dtype=pl.String).gather(cols["measure"])
    return pl.DataFrame([*out.values(), pop, cols["n_students"], cols["n_meeting"]]).select(
        list(RAW_SCHEMA)).cast(RAW_SCHEMA)  # type: ignore[arg-type]


def compute_cells(extract: Extract, specs: ReportSpecs) -> pl.DataFrame:
    """Every raw cell the specs declare, for every level and year of ``extract``.

    Returns a frame with exactly :data:`~site_builder.cells.RAW_SCHEMA`, sorted by
    :data:`~site_builder.cells.KEY`: counts with zeros included, rates only where at least one
    student is in the denominator. Restricted: write it only with
    :func:`write_raw_cells`.
    """
    cuts = plan_cuts(specs)
    if not cuts:
        return pl.DataFrame(schema=RAW_SCHEMA)
    raw_sources = read_sources(extract, cuts)
    codes = make_codes(specs, cuts, raw_sources, extract.years)
    total_bits = sum(codes.bits(f) for f in FINAL)
    if total_bits > 64:  # pragma: no cover - 600+ districts x 10,000 schools x ...
        raise ValueError(f"cell key needs {total_bits} bits; more than 64")
    micro = pl.collect_all([micro_cells(_encode(f, codes, [c for c in cuts if c.source == s]),
                                        codes) for s, f in raw_sources.items()])
    sources = dict(zip(raw_sources, micro, strict=True))
    del raw_sources, micro
    schools = pl.collect_all([school_level(sources[c.source], c, codes) for c in cuts])
    coded = pl.concat([to_cells(roll_up(df, codes), c, codes, extract.years)
                       for df, c in zip(schools, cuts, strict=True)]).sort("sort_key")
    populations = {r.measure: r.population for c in cuts for r in c.requests.values()}
    return decode(coded, codes, populations)


def write_raw_cells(cells: pl.DataFrame, out_dir: Path | str) -> Path:
    """Write raw cells to ``<out_dir>/cells.parquet``: restricted, so dir 0700 and file 0600.

    Written atomically; same cells give a byte-identical file (see ``store.write_cells``).
    """
    from site_builder.store import write_cells

    return write_cells(cells, out_dir, "cells.parquet", RAW_SCHEMA)
