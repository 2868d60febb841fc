"""Move some of a school's pupils to another school in one school year of an extract, as a
correction of their school would (a boundary misapplied, say): each moved pupil's every row
that year moves.

    .venv/bin/python benchmarks/move_pupils.py EXTRACT YEAR FROM TO N [--seed 1]

FROM and TO are DISTRICT/SCHOOL codes. For example (session 50, the full state), with
2024 already published:

    benchmarks/move_pupils.py data/ext26c 2024 039141/4200 039141/4220 40

then ``reportcard publish --extract data/ext26c --site site``. The extract is changed in
place; its files keep their row counts. The pupils are drawn with ``--seed``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extract", type=Path)
    ap.add_argument("year")
    ap.add_argument("src", metavar="FROM", help="DISTRICT/SCHOOL the pupils leave")
    ap.add_argument("dst", metavar="TO", help="DISTRICT/SCHOOL they are in fact at")
    ap.add_argument("n", type=int, help="how many pupils move")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    (sd, ss), (dd, ds) = args.src.split("/"), args.dst.split("/")
    year = args.extract / args.year
    here = (pl.col("district_code") == sd) & (pl.col("school_code") == ss)
    pupils = (pl.read_parquet(year / "enrollment.parquet").filter(here)
              .select("student_id").unique().sort("student_id")
              .sample(args.n, seed=args.seed)["student_id"].to_list())
    for f in sorted(year.glob("*.parquet")):
        d = pl.read_parquet(f)
        hit = here & pl.col("student_id").is_in(pupils)
        n = d.filter(hit).height
        d.with_columns(pl.when(hit).then(pl.lit(dd)).otherwise(pl.col("district_code"))
                       .alias("district_code"),
                       pl.when(hit).then(pl.lit(ds)).otherwise(pl.col("school_code"))
                       .alias("school_code")).write_parquet(f)
        print(f"{f}: {n:,} rows moved from {args.src} to {args.dst}")


if __name__ == "__main__":
    main()
