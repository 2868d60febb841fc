"""Open a charter LEA in one school year of an extract: a share of a district's students in
some grades leave for it (each student's every row that year moves), and the directory
lists it, with its one school, in the district's county.

    .venv/bin/python benchmarks/open_charter.py EXTRACT YEAR FROM CODE NAME \
        --grades K-05 --share 0.12 [--seed 1]

For example, after ``reportcard synth --years 2021-2026 --out data/ext26`` (session 50, the
full state):

    benchmarks/open_charter.py data/ext26 2026 048078 048930 "NEW DAWN ACADEMY" --grades K-05

then ``reportcard publish --extract data/ext26 --site site`` over a site that publishes
2021-2025. The extract is changed in place; its files keep their row counts. The students
who move are drawn with ``--seed``, so the same command gives the same extract.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

GRADES = ["PK", "K", *(f"{g:02d}" for g in range(1, 13))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extract", type=Path)
    ap.add_argument("year")
    ap.add_argument("src", metavar="FROM", help="the district its students leave (6 digits)")
    ap.add_argument("code", metavar="CODE", help="the charter's new LEA code (6 digits)")
    ap.add_argument("name", metavar="NAME", help="the charter's name, as the directory spells it")
    ap.add_argument("--grades", default="K-05", help="the grades it serves, LOW-HIGH")
    ap.add_argument("--share", type=float, default=0.12,
                    help="the share of FROM's students in those grades who move")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    low, high = args.grades.split("-")
    grades = GRADES[GRADES.index(low):GRADES.index(high) + 1]
    school = "4010"
    kind = ("elementary" if GRADES.index(high) <= GRADES.index("06") else
            "high" if GRADES.index(low) >= GRADES.index("09") else
            "middle" if GRADES.index(low) >= GRADES.index("06") else "k12")

    year = args.extract / args.year
    enrollment = pl.read_parquet(year / "enrollment.parquet")
    movers = (enrollment
              .filter((pl.col("district_code") == args.src) & pl.col("grade").is_in(grades))
              .select("student_id").unique().sort("student_id")
              .sample(fraction=args.share, seed=args.seed)["student_id"].to_list())
    for f in sorted(year.glob("*.parquet")):
        d = pl.read_parquet(f)
        hit = (pl.col("district_code") == args.src) & pl.col("student_id").is_in(movers)
        n = d.filter(hit).height
        d.with_columns(
            pl.when(hit).then(pl.lit(args.code)).otherwise(pl.col("district_code"))
            .alias("district_code"),
            pl.when(hit).then(pl.lit(school)).otherwise(pl.col("school_code"))
            .alias("school_code"),
        ).write_parquet(f)
        print(f"{f}: {n:,} rows moved to {args.code}/{school}")

    directory = args.extract / "directory"
    districts = pl.read_csv(directory / "districts.csv", infer_schema=False)
    if args.code not in districts["district_code"].to_list():
        county = districts.filter(pl.col("district_code") == args.src).row(0, named=True)
        row = {**county, "district_code": args.code, "district_name": args.name,
               "lea_kind": "charter", "low_grade": low, "high_grade": high}
        pl.concat([districts, pl.DataFrame([row], schema=districts.schema)]) \
            .sort("district_code").write_csv(directory / "districts.csv")
    schools = pl.read_csv(directory / "schools.csv", infer_schema=False)
    if args.code not in schools["district_code"].to_list():
        row = {"district_code": args.code, "school_code": school,
               "school_name": args.name.title(), "school_kind": kind,
               "low_grade": low, "high_grade": high}
        pl.concat([schools, pl.DataFrame([row], schema=schools.schema)]) \
            .sort("district_code", "school_code").write_csv(directory / "schools.csv")
    print(f"{directory}: {args.name} listed as {args.code}/{school} ({args.grades})")


if __name__ == "__main__":
    main()
