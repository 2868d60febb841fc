"""Baseline A: compute one district at a time, one papermill run (one kernel) per district.

    .venv/bin/python benchmarks/naive_per_district.py --extract DIR --work DIR [--districts 20]

The naive way an analyst team would do it: a small notebook with a ``district_code``
parameter that loads the extract, keeps that district's rows and computes its cells with the
same ``compute_cells``; run through papermill once per district, so every district pays kernel
start-up, imports and a scan of the extract. We time ``--districts`` of them (spread evenly
over the district codes, so big and small ones are both in), project the mean to every
district, and run the SAME notebook once with ``district_code = None`` (the vectorized way:
one kernel, every district at once) in the same process run, so the two are comparable.
(``notebooks/compute_aggregates.ipynb`` also validates and runs disclosure control; its time
is in the end-to-end figure, not here.)

Prints one JSON line: per-run seconds, the projection and the vectorized run's time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

PARAMS = '''extract_dir = "data/extract"
spec_dir = "report_specs"
output_dir = "build/naive"
district_code = None  # None: every district at once (the vectorized run)
'''

BODY = '''import dataclasses
from pathlib import Path

import polars as pl

from site_builder.compute import compute_cells
from site_builder.extract import load_extract
from site_builder.specs import load_specs

extract = load_extract(Path(extract_dir))
if district_code is not None:
    keep = pl.col("district_code") == district_code
    extract = dataclasses.replace(
        extract, districts=extract.districts.filter(keep), schools=extract.schools.filter(keep),
        enrollment=extract.enrollment.filter(keep), assessment=extract.assessment.filter(keep),
        graduation=extract.graduation.filter(keep))
cells = compute_cells(extract, load_specs(spec_dir))
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
cells.write_parquet(out / f"cells_{district_code or 'all'}.parquet")
print(cells.height, "cells")
'''


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def run(nb: Path, out_nb: Path, params: dict[str, object]) -> float:
    import papermill

    t = time.perf_counter()
    papermill.execute_notebook(str(nb), str(out_nb), parameters=params, kernel_name="python3",
                               progress_bar=False, cwd=str(ROOT))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extract", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--districts", type=int, default=20)
    args = ap.parse_args()
    extract, work = args.extract.resolve(), args.work.resolve()
    from site_builder.notebook_tools import read_directory

    codes = sorted(read_directory(extract)[0]["district_code"].to_list())
    n = min(args.districts, len(codes))
    step = len(codes) / n
    sample = [codes[int(i * step)] for i in range(n)]
    nb = notebook(work / "naive_district.ipynb")
    (work / "runs").mkdir(parents=True, exist_ok=True)
    base = {"extract_dir": str(extract), "spec_dir": str(ROOT / "report_specs"),
            "output_dir": str(work / "cells")}

    per: list[float] = []
    for code in sample:
        per.append(run(nb, work / "runs" / f"{code}.ipynb", {**base, "district_code": code}))
    vec = run(nb, work / "runs" / "all.ipynb", {**base, "district_code": None})
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    projected = statistics.fmean(per) * len(codes)
    print(json.dumps({
        "districts_total": len(codes), "districts_timed": n, "sample": sample,
        "per_district_s": [round(x, 2) for x in per],
        "mean_per_district_s": round(statistics.fmean(per), 2),
        "timed_s": round(sum(per), 1), "projected_all_s": round(projected, 1),
        "vectorized_s": round(vec, 1), "ratio": round(projected / vec, 1),
        "kernels_peak_rss_mb": round(ru.ru_maxrss / 1024),
    }), flush=True)


if __name__ == "__main__":
    main()
