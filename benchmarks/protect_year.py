"""Protect one year of raw cells with the audit, logging each step's time.

    .venv/bin/python benchmarks/protect_year.py RAW_CELLS.parquet YEAR [--audit-log]

RAW_CELLS is the unprotected aggregate file (``cells.parquet``) that
``reportcard compute --no-protect`` writes; ``--audit-log`` also logs the audit's passes per
large linked group. Prints the total time and how many rows were withheld.
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


if __name__ == "__main__":
    main()
