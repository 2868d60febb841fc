"""Derive the compact reference tables the synthetic generator carries.

Run from the repository root (the real files live outside the repo)::

    .venv/bin/python site_builder/synth/data/derive.py ../shared/data/mo_public

Writes, beside this script:

* ``leas.csv``: one row per 2024 LEA: code, name, county, kind, K-8 flag, city, K-12
  enrollment 2017-2024 (blank where DESE suppressed it), the 2024 published shares (blank for
  ``*``) and grade shares PK..12 from the latest year of the enrollment-by-grade file.
* ``lea_shares.csv``: the same published shares for every year 2017-2024 (percent; blank for
  ``*``), so other years follow the real trends.
* ``school_names.csv``: the real building names, each with a kind guessed from its words.

Deterministic: no randomness, rows sorted.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
GRADE_COLS = ["PK", "K", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
SHARE_COLS = {
    "LUNCH_COUNT_FREE_REDUCED_PCT": "frl",
    "ENROLLMENT_WHITE_PCT": "WH",
    "ENROLLMENT_BLACK_PCT": "BL",
    "ENROLLMENT_HISPANIC_PCT": "HI",
    "ENROLLMENT_ASIAN_PCT": "AS",
    "ENROLLMENT_MULTIRACIAL_PCT": "MU",
    "ENROLLMENT_INDIAN_PCT": "AM",
    "ENROLLMENT_PACIFIC_ISLANDER_PCT": "PI",
    "ELL_LEP_STUDENTS_ENROLLED_K_12_PCT": "el",
    "IEP_INCIDENCE_RATE": "iep",
}


def _num(col: str) -> pl.Expr:
    """DESE text value -> float; '*' and 'NULL' -> null."""
    return pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


KIND_WORDS = re.compile(
    r"(?P<middle>\bjr\.?\s*high\b|\bjunior\s+high\b|middle|\bjr\b|junior)"
    r"|(?P<high>\bhigh\b)"
    r"|(?P<elementary>elem|primary|intermediate|early|kindergarten|preschool|upper)",
    re.IGNORECASE)


def school_kind(name: str) -> str:
    """The kind a building's name says, by its last word of a kind: "High Pointe Elem." is an
    elementary school, "Marion C. Early High" a high school, "Pershing Jr. High" a middle
    school."""
    kinds = [m.lastgroup for m in KIND_WORDS.finditer(name)]
    return (kinds[-1] if kinds else None) or "other"


def derive(src: Path) -> None:
    summary = pl.read_csv(src / "derived_mo_lea_2024_summary.csv", infer_schema=False)
    demo = pl.read_csv(src / "mo_dese_district_demographics_1991_2024.csv", infer_schema=False)
    grades = pl.read_csv(src / "district_charter_enrollment_by_grade_1991_2021.csv",
                         infer_schema=False, encoding="utf8-lossy")
    grades = grades.rename({c: c.lstrip("\ufeff") for c in grades.columns})
    leadir = pl.read_csv(src / "mo_lea_directory_schwabepj_2021.csv", infer_schema=False)
    points = pl.read_csv(src / "mo_school_points_schwabepj_2021.csv", infer_schema=False)

    codes = summary["county_district_code"]
    demo = demo.with_columns(pl.col("YEAR").cast(pl.Int32)).filter(
        pl.col("YEAR") >= 2017, pl.col("COUNTY_DISTRICT_CODE").is_in(codes.implode()))
    enr = (demo.select("COUNTY_DISTRICT_CODE", "YEAR", _num("ENROLLMENT_GRADES_K_12").alias("e"))
           .pivot(on="YEAR", index="COUNTY_DISTRICT_CODE", values="e", sort_columns=True))
    enr = enr.rename({c: f"enr_{c}" for c in enr.columns if c != "COUNTY_DISTRICT_CODE"})

    shares = demo.filter(pl.col("YEAR") == 2024).select(
        "COUNTY_DISTRICT_CODE", *[_num(c).alias(a) for c, a in SHARE_COLS.items()])
    by_year = (demo.select(pl.col("COUNTY_DISTRICT_CODE").alias("district_code"),
                           pl.col("YEAR").alias("year"),
                           *[_num(c).round(2).alias(a) for c, a in SHARE_COLS.items()])
               .sort("district_code", "year"))
    by_year.write_csv(HERE / "lea_shares.csv")

    # Grade shares from the latest year each LEA appears in the by-grade file.
    g = grades.with_columns(pl.col("YEAR").cast(pl.Int32))
    g = g.filter(pl.col("YEAR") == pl.col("YEAR").max().over("COUNTY_DISTRICT_CODE"))
    gcols = [f"ENROLLMENT_GRADES_{x}" for x in GRADE_COLS]
    g = g.select("COUNTY_DISTRICT_CODE", pl.col("YEAR").alias("grade_year"),
                 *[_num(c).fill_null(0.0).alias(f"g_{x}")
                   for c, x in zip(gcols, GRADE_COLS, strict=True)],
                 _num("ENROLLMENT_GRADES_9_12").fill_null(0.0).alias("hs"))
    tot = pl.sum_horizontal([pl.col(f"g_{x}") for x in GRADE_COLS[1:]])
    # K-8: fewer than 10 students in grades 9-12 ('*' or 0); only meaningful for districts.
    g = g.with_columns(k8=pl.col("hs") < 10).drop("hs")
    g = g.with_columns([pl.when(tot > 0).then((pl.col(f"g_{x}") / tot).round(5)).alias(f"g_{x}")
                        for x in GRADE_COLS])

    # City from the LEA directory, matched on a normalised name.
    leadir = leadir.with_columns(
        pl.col("Name").map_elements(_norm, return_dtype=pl.String).alias("key"))
    city = dict(zip(leadir["key"], leadir["City"], strict=True))

    out = (summary.select(
        pl.col("county_district_code").alias("district_code"), "district_name", "county_code",
        "county_name", "lea_kind")
        .join(enr, left_on="district_code", right_on="COUNTY_DISTRICT_CODE", how="left")
        .join(shares, left_on="district_code", right_on="COUNTY_DISTRICT_CODE", how="left")
        .join(g, left_on="district_code", right_on="COUNTY_DISTRICT_CODE", how="left")
        .with_columns((pl.col("k8").fill_null(False) & (pl.col("lea_kind") == "district")),
                      pl.col("district_name").map_elements(
                          lambda n: city.get(_norm(n), ""), return_dtype=pl.String).alias("city"))
        .sort("district_code"))
    out.write_csv(HERE / "leas.csv", float_precision=5)

    names = (points.select(pl.col("school_name").str.strip_chars()).unique()
             .with_columns(pl.col("school_name").map_elements(school_kind, return_dtype=pl.String)
                           .alias("kind"))
             .sort("school_name"))
    names.write_csv(HERE / "school_names.csv")
    print(f"leas.csv: {out.height} rows; lea_shares.csv: {by_year.height} rows; "
          f"school_names.csv: {names.height} rows; "
          f"K-8 districts: {out.filter(pl.col('k8') & (pl.col('lea_kind') == 'district')).height}")


if __name__ == "__main__":
    derive(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared/data/mo_public")
