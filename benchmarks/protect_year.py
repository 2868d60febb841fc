"""Protect one year of raw cells with the audit, logging each step's time.

    .venv/bin/python benchmarks/protect_year.py RAW_CELLS.parquet YEAR [--audit-log]
        [--out PROTECTED.parquet]

RAW_CELLS is the unprotected aggregate file (``cells.parquet``) that
``reportcard compute --no-protect`` writes; ``--audit-log`` also logs the audit's passes per
large linked group. Prints the total time, how many rows were withheld, and how many of the
headline numbers (All students, all grades) are withheld at the state and district levels;
``--out`` keeps the protected cells.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time

import polars as pl

from site_builder.disclosure.policy import load_policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cells")
    ap.add_argument("year", type=int)
    ap.add_argument("--audit-log", action="store_true")
    ap.add_argument("--out", help="write the protected cells to this parquet file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("site_builder.disclosure.audit").setLevel(
        logging.INFO if args.audit_log else logging.WARNING)
    protect = importlib.import_module("site_builder.disclosure.protect")
    raw = pl.read_parquet(args.cells).filter(pl.col("year") == args.year)
    t0 = time.perf_counter()
    out = protect.protect(raw, load_policy(), audit=True)
    print(f"protect+audit {time.perf_counter() - t0:.1f} s; "
          f"{int(out['suppressed'].sum()):,} of {out.height:,} rows withheld", flush=True)
    state = out.filter(pl.col("level") == "state")
    print(f"state rows withheld: {int(state['suppressed'].sum())} of {state.height}; "
          "All students: "
          f"{int(state.filter(pl.col('student_group') == 'All students')['suppressed'].sum())}"
          f" of {state.filter(pl.col('student_group') == 'All students').height}")
    headline = out.filter((pl.col("student_group") == "All students") & (pl.col("grade") == "All")
                          & (pl.col("measure") == "proficient_or_advanced"))
    print("All students, all grades, proficient or advanced: share withheld")
    with pl.Config(tbl_rows=-1):
        print(headline.group_by("level", "subject").agg(pl.len().alias("rows"),
                                                        pl.col("suppressed").mean().round(3))
              .sort("level", "subject"))
    if args.out:
        out.write_parquet(args.out)


if __name__ == "__main__":
    main()
