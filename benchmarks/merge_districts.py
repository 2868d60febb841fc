"""Merge one district into another in one school year of an extract, as a consolidation
would: its students move to the absorbing district, its schools recoded there, and the
directory lists the recoded schools (the merged district and its old schools stay listed:
their pages keep their earlier years).

    .venv/bin/python benchmarks/merge_districts.py EXTRACT YEAR FROM INTO OLD=NEW [OLD=NEW ...]

For example, after ``reportcard synth --years 2021-2026 --out data/ext26`` (session 49, the
full state):

    benchmarks/merge_districts.py data/ext26 2026 013062 013055 4020=4030
    benchmarks/merge_districts.py data/ext26 2026 061150 061151 4020=4030 1050=1060

then ``reportcard publish --extract data/ext26 --site site`` over a site that publishes
2021-2025. The extract is changed in place; its student files keep their row counts. Given
an earlier year after a later one (a merger found to have taken effect a year sooner: a
correction), the recoded schools are listed once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extract", type=Path)
    ap.add_argument("year")
    ap.add_argument("src", metavar="FROM", help="the district that merges (6 digits)")
    ap.add_argument("dst", metavar="INTO", help="the district it merges into")
    ap.add_argument("moves", nargs="+", metavar="OLD=NEW",
                    help="each of its schools' code, and its code in the new district")
    args = ap.parse_args()
    moves = dict(m.split("=", 1) for m in args.moves)
    for f in sorted((args.extract / args.year).glob("*.parquet")):
        d = pl.read_parquet(f)
        hit = pl.col("district_code") == args.src
        n = d.filter(hit).height
        d.with_columns(
            pl.when(hit).then(pl.col("school_code").replace(moves))
            .otherwise(pl.col("school_code")).alias("school_code"),
            pl.when(hit).then(pl.lit(args.dst))
            .otherwise(pl.col("district_code")).alias("district_code"),
        ).write_parquet(f)
        print(f"{f}: {n:,} rows moved to {args.dst}")
    path = args.extract / "directory" / "schools.csv"
    schools = pl.read_csv(path, infer_schema=False)
    new = (schools.filter((pl.col("district_code") == args.src)
                          & pl.col("school_code").is_in(list(moves)))
           .with_columns(pl.lit(args.dst).alias("district_code"),
                         pl.col("school_code").replace(moves))
           .join(schools, on=["district_code", "school_code"], how="anti"))  # listed already
    pl.concat([schools, new]).sort("district_code", "school_code").write_csv(path)
    for row in new.iter_rows(named=True):
        print(f"{path}: {row['school_name']} listed as {row['district_code']}/"
              f"{row['school_code']}")


if __name__ == "__main__":
    main()
