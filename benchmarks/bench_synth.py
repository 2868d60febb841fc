"""Benchmark ``reportcard synth``: wall time and peak memory of one generation.

    .venv/bin/python benchmarks/bench_synth.py                 # full state, 2021-2025
    .venv/bin/python benchmarks/bench_synth.py --profile tiny
    .venv/bin/python benchmarks/bench_synth.py --scale 0.02

Runs the CLI in a child process under ``/usr/bin/time -v`` when available (so the peak RSS is
the generator's own), writes into a temporary directory, prints one JSON line, and deletes
the output. Results go in ``benchmarks/README.md`` ("synth").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="state", choices=["state", "central", "tiny"])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    args = ap.parse_args()

    exe = Path(sys.executable).with_name("reportcard")
    tmp = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    out = tmp / "extract"
    cmd = [str(exe), "synth", "--out", str(out), "--seed", str(args.seed), "--years", args.years,
           "--scale", str(args.scale), "--profile", args.profile, "--format", args.format]
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    try:
        t0 = time.perf_counter()
        run = subprocess.run(timer + cmd, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
        rss_mb = (int(m.group(1)) if m else
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        meta = json.loads((out / "extract.json").read_text())
        rows = sum(c["enrollment"] for c in meta["row_counts"].values())
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(json.dumps({
            "command": " ".join(["reportcard", *cmd[1:]]).replace(str(out), "OUT"),
            "wall_s": round(wall, 1), "peak_rss_mb": round(rss_mb), "student_years": rows,
            "output_mb": round(size / 1e6, 1), "cpus": os.cpu_count(),
            "python": platform.python_version(), "polars": pl.__version__,
        }))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
