"""Time a clean ``reportcard publish`` against incremental ones, on the tiny state.

    .venv/bin/python benchmarks/incremental.py [--out DIR] [--profile tiny]

In a copy of the repository (so that a template line can really be edited) it runs, each
through the real CLI in its own process:

1. ``clean``: the first publish, in a fresh directory (no cache yet: compute, protect and
   audit everything, and remember each year's protection and audit);
2. ``unchanged``: publish again, nothing changed;
3. ``template``: one line of ``district.html`` changed;
4. ``one district``: a tenth of one district's 2024 test results dropped;
5. ``clean again``: the inputs of step 4 published with ``--no-reuse`` into a fresh
   directory; its site must equal step 4's byte for byte (checked, and printed).

Prints one JSON line per run: wall seconds (process start to exit) and the step times the
publish itself reports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cli(repo: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(repo), COLUMNS="200")
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "site_builder.cli", *args], cwd=repo, env=env,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t
    if run.returncode != 0:
        sys.exit(f"reportcard {' '.join(args)} failed:\n{run.stdout}{run.stderr}")
    return wall, run.stdout + run.stderr


def publish(name: str, repo: Path, extract: Path, where: Path, *extra: str) -> None:
    wall, out = cli(repo, "publish", "--extract", str(extract), "--site", str(where / "site"),
                    "--aggregates", str(where / "aggregates"), "--specs",
                    str(repo / "report_specs"), *extra)
    steps = {m[0]: float(m[1]) for m in re.findall(r"^  (compute|build|gate and swap): done "
                                                   r"in ([0-9.]+) s", out, re.M)}
    notes = [line.strip() for line in out.splitlines()
             if re.match(r"\s*(compute: |protect: )", line) or "audit cache" in line]
    print(json.dumps({"run": name, "wall_s": round(wall, 1), "steps_s": steps,
                      "reused": notes}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--profile", default="tiny")
    args = ap.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    if base.exists():
        shutil.rmtree(base)
    repo = base / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("site_builder", "notebooks", "report_specs"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    shutil.copy2(ROOT / "mkdocs.yml", repo / "mkdocs.yml")
    extract = base / "extract"
    cli(repo, "synth", "--profile", args.profile, "--out", str(extract), "--seed", "7")
    inc = base / "incremental"

    publish("clean", repo, extract, inc)
    publish("unchanged", repo, extract, inc)
    template = repo / "site_builder" / "site" / "templates" / "district.html"
    template.write_text(template.read_text().replace(
        "{{ page.county }}", "{{ page.county }} (Missouri)", 1))
    publish("template", repo, extract, inc)
    path = extract / "2024" / "assessment.parquet"
    df = pl.read_parquet(path)
    ids = df.filter(pl.col("district_code") == "002090")["student_id"].unique().sort()
    df.filter(~((pl.col("district_code") == "002090")
                & pl.col("student_id").is_in(ids.to_list()[::10]))).write_parquet(path)
    publish("one district", repo, extract, inc)
    publish("clean again", repo, extract, base / "clean", "--no-reuse")
    same = tree(inc / "site") == tree(base / "clean" / "site")
    print(json.dumps({"incremental site == clean site, byte for byte": same}))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
