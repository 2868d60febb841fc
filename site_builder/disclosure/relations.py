"""The linear system behind the published tables: variables (distinct numbers) and
additive relations (total = sum of parts) between them, all driven by the policy.

A *variable* is one distinct number:

* a head count / denominator: one per ``DENOMINATOR_KEY`` (the enrollment count of Black
  students at a school and the denominator of their attendance rates are the same variable);
* a numerator: one per ``KEY`` of a rate row.

A *relation* says ``total = sum(parts)``. Relations come from the policy: group partitions,
the grade partition, the school -> district -> state hierarchy (for denominators and
numerators alike), level partitions (levels add up to the denominator) and measure sums
(proficient or advanced = proficient + advanced).

Both :mod:`protect` and the independent :mod:`audit` use this module to *describe the table
structure*; the audit builds it from the CSVs read back from disk, protect from raw cells.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl

from site_builder.cells import DENOMINATOR_KEY, KEY
from site_builder.disclosure.policy import Policy
from site_builder.disclosure.regions import proof_regions

VAR_COLUMNS = ("year", "level", "district_code", "school_code", "series", "topic", "measure",
               "subject", "grade", "group_family", "student_group")
"""Columns that locate a variable. ``series`` is ``d:<population>`` for a denominator and
``n:<topic>/<measure>`` for a numerator; ``topic``/``measure`` are "" for denominators."""


@dataclass(frozen=True)
class System:
    """Variables and relations of one set of tables."""

    vars: pl.DataFrame
    """var_id (0..n-1, in key order), is_den, den_id (numerators: their denominator's
    var_id; denominators: themselves), VAR_COLUMNS."""
    edges: pl.DataFrame
    """rel_id, var_id, is_total, rel_type, is_count (parts are head counts, not outcomes)."""
    den_of_row: pl.Series
    """For each input row: var_id of its denominator."""
    num_of_row: pl.Series
    """For each input row: var_id of its numerator (null for count rows)."""
    bounds: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    """Pairs (part, whole) of head counts, one row each: the part can be no more than the
    whole (a grade's tested count, per subject, and its enrolled count: the policy's
    ``population_bounds``). Not relations: their difference is never published."""

    @cached_property
    def descriptions(self) -> list[str]:
        """:func:`describe` of every variable, in var_id order (worked out once: protect's
        rounds and the cube search ask for it every round)."""
        return describe(self.vars).to_list()

    @cached_property
    def districts(self) -> np.ndarray:
        """Each variable's district as a number: its code's place among the distinct codes,
        in sorted order ("" for the state's values, first). Worked out once: protect and
        each of its audit rounds ask (a sort of 400,000 strings each time on the full
        state). Read-only, as :attr:`regions`: every caller shares the one array. (A polars
        rank: 0.04 s for a full-state year's 670,000 values, where NumPy's sort of them as
        strings took 0.45 s.)"""
        ranks = self.vars["district_code"].fill_null("").rank("dense").to_numpy()
        return _frozen(ranks.astype(np.int64) - 1)

    @cached_property
    def regions(self) -> np.ndarray:
        """Each variable's proof region (:func:`regions.proof_regions`)."""
        return _frozen(proof_regions(self.vars["district_code"]))

    @cached_property
    def digest(self) -> str:
        """SHA-256 of :attr:`descriptions`: the variables, in order (what the audit's
        witnesses are tied to)."""
        return hashlib.sha256("\n".join(self.descriptions).encode()).hexdigest()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def with_population(cells: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Add ``population`` (from the topic, per the policy) if it is missing."""
    if "population" in cells.columns:
        return cells
    return cells.with_columns(
        pl.col("topic").replace_strict(policy.populations, default=None).alias("population"))


def build_system(cells: pl.DataFrame, policy: Policy) -> System:
    """Variables and relations for ``cells`` (KEY columns + population; one row per KEY)."""
    cells = with_population(cells, policy).with_row_index("_row")
    is_rate = ~pl.col("topic").is_in(policy.count_topics)

    dens = (cells.select(DENOMINATOR_KEY).unique().sort(DENOMINATOR_KEY)
            .with_row_index("var_id").with_columns(pl.col("var_id").cast(pl.Int64)))
    n_den = dens.height
    nums = (cells.filter(is_rate).select(KEY).sort(KEY).with_row_index("var_id")
            .with_columns(pl.col("var_id").cast(pl.Int64) + n_den))
    den_ids = dens.rename({"var_id": "den_id"})
    nums = nums.join(
        cells.filter(is_rate).select([*KEY, "population"]), on=list(KEY), how="left"
    ).join(den_ids, on=list(DENOMINATOR_KEY), how="left")

    dvars = dens.select(
        "var_id", pl.lit(True).alias("is_den"), pl.col("var_id").alias("den_id"),
        "year", "level", "district_code", "school_code",
        ("d:" + pl.col("population")).alias("series"),
        pl.lit("").alias("topic"), pl.lit("").alias("measure"),
        "subject", "grade", "group_family", "student_group")
    nvars = nums.select(
        "var_id", pl.lit(False).alias("is_den"), "den_id",
        "year", "level", "district_code", "school_code",
        ("n:" + pl.col("topic") + "/" + pl.col("measure")).alias("series"),
        "topic", "measure", "subject", "grade", "group_family", "student_group")
    vars_ = pl.concat([dvars, nvars]).sort("var_id")

    rows = cells.join(den_ids, on=list(DENOMINATOR_KEY), how="left").join(
        nums.select([*KEY, pl.col("var_id").alias("num_id")]), on=list(KEY), how="left"
    ).sort("_row")
    edges = _relations(vars_, policy)
    return System(vars_, edges, rows["den_id"], rows["num_id"], _bounds(dvars, policy))


def _bounds(dvars: pl.DataFrame, policy: Policy) -> np.ndarray:
    """(part, whole) pairs of head counts from the policy's ``population_bounds``: same
    place, grade and group (single grades only, unless the bound says ``all_grades``); the
    whole is the one without a subject, or of the same one."""
    on = ["year", "level", "district_code", "school_code", "grade", "group_family",
          "student_group"]
    out = [np.zeros((0, 2), np.int64)]
    for b in policy.population_bounds:
        part = dvars.filter(pl.col("series") == f"d:{b.population}")
        if not b.all_grades:
            part = part.filter(pl.col("grade") != policy.grade_partition.total)
        whole = dvars.filter(pl.col("series") == f"d:{b.within}").select(
            [*on, "subject", pl.col("var_id").alias("whole")])
        pairs = part.join(whole, on=on, how="inner").filter(
            (pl.col("subject_right") == "") | (pl.col("subject_right") == pl.col("subject")))
        out.append(pairs.select("var_id", "whole").sort("var_id", "whole").to_numpy()
                   .astype(np.int64))
    return np.concatenate(out)


def _pairs(totals: pl.DataFrame, parts: pl.DataFrame, on: list[str], rel_type: str,
           is_count: pl.Expr | bool) -> pl.DataFrame:
    """(total var, part var) pairs of one relation type, joined on ``on``."""
    t = totals.select([*on, pl.col("var_id").alias("total_id")])
    p = parts.select([*on, pl.col("var_id").alias("part_id"), pl.col("is_den")])
    out = p.join(t, on=on, how="inner")
    return out.select("total_id", "part_id",
                      pl.lit(rel_type).alias("rel_type"),
                      (pl.col("is_den") if not isinstance(is_count, bool)
                       else pl.lit(is_count)).alias("is_count"))


def _relations(v: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    loc = ["year", "level", "district_code", "school_code"]
    base = ["series", "subject"]
    grp = ["group_family", "student_group"]
    allg = (pl.col("group_family") == policy.all_students.group_family) & (
        pl.col("student_group") == policy.all_students.student_group)
    pairs: list[pl.DataFrame] = []

    for i, gp in enumerate(policy.group_partitions):
        parts = v.filter((pl.col("group_family") == gp.family)
                         & pl.col("student_group").is_in(gp.members))
        pairs.append(_pairs(v.filter(allg), parts, [*loc, *base, "grade"],
                            f"groups {gp.family} #{i}", pl.col("is_den")))

    gpart = policy.grade_partition
    pairs.append(_pairs(v.filter(pl.col("grade") == gpart.total),
                        v.filter(pl.col("grade").is_in(gpart.parts)),
                        [*loc, *base, *grp], "grades", pl.col("is_den")))

    for h in policy.hierarchy:
        on = ["year", *(["district_code"] if h.match_district else []), *base, "grade", *grp]
        pairs.append(_pairs(v.filter(pl.col("level") == h.total_level),
                            v.filter(pl.col("level") == h.part_level),
                            on, f"{h.part_level}s in {h.total_level}", pl.col("is_den")))

    nums = v.filter(~pl.col("is_den"))
    for i, lp in enumerate(policy.level_partitions):
        # Only where every level is published for the denominator: a section may show the
        # levels for some rows (e.g. All students) and not others, and a partial set of
        # levels does not add up to the number tested.
        parts = nums.filter((pl.col("topic") == lp.topic) & pl.col("measure").is_in(lp.measures)
                            ).filter(pl.len().over("den_id") == len(set(lp.measures)))
        pairs.append(parts.select(pl.col("den_id").alias("total_id"),
                                  pl.col("var_id").alias("part_id"),
                                  pl.lit(f"levels {lp.topic} #{i}").alias("rel_type"),
                                  pl.lit(False).alias("is_count")))
    for ms in policy.measure_sums:
        sel = nums.filter(pl.col("topic") == ms.topic)
        on = [*loc, "subject", "grade", *grp]
        pairs.append(_pairs(sel.filter(pl.col("measure") == ms.total),
                            sel.filter(pl.col("measure").is_in(ms.parts)),
                            on, f"{ms.total} = sum", False))

    allp = pl.concat(pairs)
    rels = (allp.select("rel_type", "total_id", "is_count").unique(["rel_type", "total_id"])
            .sort("total_id", "rel_type").with_row_index("rel_id")
            .with_columns(pl.col("rel_id").cast(pl.Int64)))
    part_edges = allp.join(rels.select("rel_type", "total_id", "rel_id"),
                           on=["rel_type", "total_id"]).select(
        "rel_id", pl.col("part_id").alias("var_id"), pl.lit(False).alias("is_total"),
        "rel_type", "is_count")
    total_edges = rels.select("rel_id", pl.col("total_id").alias("var_id"),
                              pl.lit(True).alias("is_total"), "rel_type", "is_count")
    return pl.concat([total_edges, part_edges]).sort("rel_id", "is_total", "var_id",
                                                     descending=[False, True, False])


def describe(vars_: pl.DataFrame) -> pl.Series:
    """Each variable's key in plain words, e.g.
    ``2024 school 048078/1234 enrollment, grade All, Black: number of students``."""
    where = (pl.when(pl.col("level") == "state").then(pl.lit("state"))
             .when(pl.col("level") == "district")
             .then("district " + pl.col("district_code"))
             .otherwise("school " + pl.col("district_code") + "/" + pl.col("school_code")))
    what = (pl.when(pl.col("is_den")).then(
        "number of students (" + pl.col("series").str.slice(2) + ")")
        .otherwise("students meeting " + pl.col("series").str.slice(2)))
    subj = pl.when(pl.col("subject") != "").then(", " + pl.col("subject")).otherwise(pl.lit(""))
    return vars_.select(
        (pl.col("year").cast(pl.String) + " " + where + subj + ", grade " + pl.col("grade")
         + ", " + pl.col("student_group") + ": " + what).alias("describe"))["describe"]
