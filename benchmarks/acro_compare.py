"""Side by side with ACRO (pip ``acro``): the same tables, ACRO's primary suppression at a
threshold of 30 versus our protect(); both results audited by our LP audit.

ACRO checks each table it is asked for on its own (crosstab of student records with a
minimum cell count) and does no complementary suppression. We give it the same tables the
report card publishes for enrollment and attendance (counts by school, district and state,
by every student group and by grade; 90/90 and chronic absence rates over the same groups),
map its suppressed cells onto our cell keys, write both results as CSV, and audit them.

    .venv/bin/python benchmarks/acro_compare.py --districts 60 --seed 7

Tables come from ``site_builder.disclosure.toy`` (students aggregated exactly as compute
does), so the comparison runs without the full synthetic extract.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import polars as pl

from site_builder.cells import CSV_COLUMNS, KEY
from site_builder.disclosure import audit_published, load_policy, protect
from site_builder.disclosure.protect import COMPLEMENTARY, NONE, PRIMARY, render
from site_builder.disclosure.relations import build_system, with_population
from site_builder.disclosure.toy import PARTITIONS, toy_cells, toy_students

MEASURES = ("attendance_90_90", "chronic_absence")


def acro_tables(students: pl.DataFrame, threshold: int) -> tuple[pl.DataFrame, float]:
    """Cells ACRO suppresses: (level, district_code, school_code, grade, group_family,
    student_group, measure) where ACRO shows NaN. Returns the mask and ACRO's time."""
    from acro import ACRO, sdcchecks

    logging.getLogger("acro").setLevel(logging.ERROR)
    a = ACRO(suppress=True)
    a.config["safe_threshold"] = threshold
    a.config["zeros_are_disclosive"] = False  # our policy publishes zeros
    a.sdc_checks = sdcchecks.SDCChecks(a.config)
    df = students.with_columns(
        (pl.col("district_code") + "|" + pl.col("school_code")).alias("school"),
        (pl.col("district_code") + "|").alias("district"), pl.lit("|").alias("state"),
        pl.lit("All students").alias("all"),
        pl.col(list(MEASURES)).cast(pl.Float64)).to_pandas()
    out = []
    t0 = time.perf_counter()
    bys = [(c, fam) for c, fam, _ in PARTITIONS] + [("grade", "All"), ("all", "All")]
    for level in ("school", "district", "state"):
        for col, fam in bys:
            for measure in (None, *MEASURES):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kw = ({"values": df[measure], "aggfunc": "mean"} if measure else {})
                    tab = a.crosstab(df[level], df[col], **kw)
                tab.index.name = "entity"
                tab.columns.name = "student_group"
                long = pl.from_pandas(tab.reset_index().melt(
                    id_vars="entity", var_name="student_group", value_name="v"
                ).astype({"v": float, "entity": str, "student_group": str}))
                long = long.with_columns(
                    pl.col("entity").cast(pl.String).str.split_exact("|", 1).struct.rename_fields(
                        ["district_code", "school_code"])).unnest("entity")
                long = long.with_columns(
                    pl.lit(level).alias("level"),
                    pl.lit(measure or "enrollment").alias("measure"),
                    pl.lit(fam).alias("group_family"),
                    pl.when(pl.lit(col == "grade")).then(pl.col("student_group"))
                    .otherwise(pl.lit("All")).alias("grade"),
                    pl.when(pl.lit(col == "grade")).then(pl.lit("All students"))
                    .otherwise(pl.col("student_group")).alias("student_group"),
                    (pl.col("v").is_null() | pl.col("v").is_nan()).alias("acro_suppressed"))
                out.append(long.select("level", "district_code", "school_code", "measure",
                                       "grade", "group_family", "student_group",
                                       "acro_suppressed"))
    seconds = time.perf_counter() - t0
    mask = pl.concat(out).group_by("level", "district_code", "school_code", "measure", "grade",
                                   "group_family", "student_group").agg(
        pl.col("acro_suppressed").any())
    return mask, seconds


def acro_published(raw: pl.DataFrame, mask: pl.DataFrame, policy) -> pl.DataFrame:
    """Our cell table with exactly ACRO's suppressions (count and rate rows)."""
    import numpy as np

    cells = with_population(raw, policy).sort(list(KEY))
    system = build_system(cells, policy)
    m = cells.join(mask, on=["level", "district_code", "school_code", "measure", "grade",
                             "group_family", "student_group"], how="left")
    sup = m["acro_suppressed"].fill_null(False).to_numpy()
    reason = np.full(system.vars.height, NONE, np.int8)
    small = (cells["n_students"] < policy.min_cell_size).to_numpy()
    code = np.where(small, PRIMARY, COMPLEMENTARY)
    den = system.den_of_row.to_numpy()
    num = system.num_of_row.fill_null(-1).to_numpy()
    cnt = num < 0
    reason[den[cnt & sup]] = code[cnt & sup]
    reason[num[~cnt & sup]] = code[~cnt & sup]
    return render(cells, system, reason, policy)


def write(pub: pl.DataFrame, path: Path) -> Path:
    pub.with_columns(pl.lit("").alias("district_name"), pl.lit("").alias("school_name")
                     ).select(list(CSV_COLUMNS)).write_csv(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--districts", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    policy = load_policy()
    students = toy_students(args.seed, n_districts=args.districts, schools=(1, 6),
                            size=(5.8, 0.9))
    raw = toy_cells(students).filter(pl.col("topic").is_in(["enrollment", "attendance"]))
    print(f"{students.height:,} students, {raw.height:,} cells "
          f"(enrollment + attendance, {args.districts} districts)")
    mask, t_acro = acro_tables(students, policy.min_cell_size)
    pub_acro = acro_published(raw, mask, policy)
    t0 = time.perf_counter()
    pub_ours = protect(raw, policy)
    t_ours = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, pub, secs in (("ACRO 1.0 (primary only)", pub_acro, t_acro),
                                ("site_builder protect()", pub_ours, t_ours)):
            t1 = time.perf_counter()
            rep = audit_published([write(pub, Path(tmp) / "t.csv")], policy)
            t_audit = time.perf_counter() - t1
            c = rep.counts()
            rows.append((name, int(pub["suppressed"].sum()), pub.height,
                         c.get("exact", 0), c.get("approximate", 0),
                         c.get("derived_group", 0), secs, t_audit))
    print("| tool | cells withheld | of cells | exactly recoverable | narrowed too far "
          "| derived groups < 30 | time (s) | audit time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:,} | {r[2]:,} | {r[3]:,} | {r[4]:,} | {r[5]:,} "
              f"| {r[6]:.1f} | {r[7]:.1f} |")


if __name__ == "__main__":
    pd.set_option("future.no_silent_downcasting", True)
    main()
