"""Run ONE pipeline stage in this (fresh) process and print one JSON line.

    .venv/bin/python benchmarks/stage.py STAGE --out DIR [--profile state|tiny] [--seed N]
                                                [--years 2021-2025] [--pyinstrument FILE]

STAGE is one of synth, validate, compute, protect, audit, build, gate, publish. Stages read
and write a fixed layout under DIR (``extract/``, ``aggregates/``, ``site/``), so they run in
order, each in its own process (``benchmarks/run.py`` does that), and the peak RSS printed is
the stage's own: max of ``getrusage(RUSAGE_SELF)`` and ``getrusage(RUSAGE_CHILDREN)``
``ru_maxrss`` (children: the papermill kernel, the ``reportcard publish`` process).

The JSON line: ``{"stage", "wall_s", "cpu_s", "peak_rss_mb", "info"}``, with CPU = user + sys
of this process and its waited-for children. Wall time excludes interpreter start-up and the
``site_builder`` imports (measured from just before the stage's own work).
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "report_specs"
POLICY = SPECS / "policy.yaml"
STAGES = ("synth", "validate", "compute", "protect", "audit", "build", "gate", "publish")


def parse_years(text: str) -> tuple[int, ...]:
    if "-" in text:
        a, b = text.split("-")
        return tuple(range(int(a), int(b) + 1))
    return tuple(int(y) for y in text.split(","))


def usage() -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of this process and its waited-for children."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
    return cpu, max(s.ru_maxrss, c.ru_maxrss) / 1024  # Linux: kilobytes


def naive_published(raw: Any, policy: Any) -> Any:
    """Fallback publication when protect() did not finish: the TEST-ONLY naive rule of
    tests/test_site_scale.py (no complementary suppression). Only so build/gate can be timed."""
    sys.path[:0] = [str(ROOT / "tests")]
    from test_site_scale import naive_publish_fast

    return naive_publish_fast(raw, policy)


def run_stage(stage: str, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    extract, agg, site = out / "extract", out / "aggregates", out / "site"
    info: dict[str, Any] = {}
    if stage == "synth":
        from site_builder.synth import generate

        meta = generate(extract, seed=args.seed, years=parse_years(args.years),
                        profile=args.profile, canaries=args.canaries)
        counts = meta.get("row_counts", {}) if isinstance(meta, dict) else {}
        info["student_years"] = sum(c.get("enrollment", 0) for c in counts.values()) \
            if isinstance(counts, dict) else None
    elif stage == "validate":
        from site_builder.contract import validate_extract

        report = validate_extract(extract)
        info.update(ok=not report.problems, districts=report.districts, schools=report.schools)
    elif stage == "compute":
        from site_builder.compute import compute_cells, write_raw_cells
        from site_builder.extract import load_extract
        from site_builder.specs import load_specs

        cells = compute_cells(load_extract(extract, parse_years(args.years)), load_specs(SPECS))
        write_raw_cells(cells, agg)
        info["cells"] = cells.height
    elif stage == "protect":
        import polars as pl

        from site_builder.disclosure import load_policy, protect
        from site_builder.store import copy_directory, write_published_cells, write_witnesses

        # As `reportcard publish` runs it: two years at a time, the audit's proofs kept
        # beside the raw cells for the audit and the gate.
        raw = pl.read_parquet(agg / "cells.parquet")
        witnesses: dict[int, Any] = {}
        published = protect(raw, load_policy(POLICY), workers=2, witnesses=witnesses)
        write_published_cells(published, agg)
        write_witnesses(witnesses, agg)
        copy_directory(extract, agg)
        info.update(cells=published.height, withheld=int(published["suppressed"].sum()))
    elif stage == "audit":
        import polars as pl

        from site_builder.disclosure import audit_cells, load_policy
        from site_builder.disclosure.audit import read_witnesses

        # As the gate runs it: the raw cells as a starting point and protect's proofs, each
        # checked against everything published before it counts.
        report = audit_cells(pl.read_parquet(agg / "published.parquet"), load_policy(POLICY),
                             workers=2, hint=pl.read_parquet(agg / "cells.parquet"),
                             witnesses=read_witnesses(agg))
        info.update(ok=report.ok, failures=len(report.failures), lp_solves=report.n_lp_solves,
                    withheld=report.n_withheld)
    elif stage == "build":
        from site_builder.site.build import build_from_aggregates

        if not (agg / "published.parquet").exists():
            import polars as pl

            from site_builder.disclosure import load_policy
            from site_builder.store import copy_directory, write_published_cells

            t = time.perf_counter()
            raw = pl.read_parquet(agg / "cells.parquet")
            write_published_cells(naive_published(raw, load_policy(POLICY)), agg)
            copy_directory(extract, agg)
            info["fallback_naive_publication_s"] = round(time.perf_counter() - t, 1)
        res = build_from_aggregates(agg, site, specs=SPECS, extract=extract)
        info.update(pages=res.pages, timings={k: round(v, 1) for k, v in res.timings.items()})
    elif stage == "gate":
        from site_builder.gate import run_gate

        report = run_gate(site, extract=extract, policy=POLICY,
                          raw_cells=agg / "cells.parquet")
        info.update(ok=report.ok, findings=len(report.findings), files=report.files_scanned)
    elif stage == "publish":
        exe = Path(sys.executable).with_name("reportcard")
        cmd = [str(exe), "publish", "--extract", str(extract), "--site", str(out / "published"),
               "--aggregates", str(out / "publish-aggregates"), "--specs", str(SPECS)]
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        info.update(returncode=run.returncode, tail=(run.stdout + run.stderr)[-600:])
        if run.returncode:
            raise RuntimeError(f"reportcard publish exited {run.returncode}: "
                               + (run.stdout + run.stderr)[-1500:])
    else:
        raise SystemExit(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=STAGES)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--profile", default="state", choices=["state", "tiny"])
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--canaries", type=int, default=5)
    ap.add_argument("--pyinstrument", type=Path, default=None,
                    help="profile the stage with pyinstrument; write the text report here")
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    def on_term(signum: int, frame: object) -> None:  # run.py's timeout: stop, still report
        raise TimeoutError("stopped by SIGTERM (timeout)")

    signal.signal(signal.SIGTERM, on_term)
    profiler = None
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    cpu0, _ = usage()
    t0 = time.perf_counter()
    error = None
    try:
        info = run_stage(args.stage, out, args)
    except BaseException as err:  # noqa: BLE001 - reported in the JSON, exit code 1
        info, error = {}, f"{type(err).__name__}: {err}"[-2000:]
    wall = time.perf_counter() - t0
    cpu, rss = usage()
    if profiler is not None:
        profiler.stop()
        args.pyinstrument.write_text(profiler.output_text(unicode=True, color=False), "utf-8")
    print(json.dumps({"stage": args.stage, "wall_s": round(wall, 2),
                      "cpu_s": round(cpu - cpu0, 2), "peak_rss_mb": round(rss),
                      "info": info, "error": error}), flush=True)
    sys.exit(1 if error else 0)


if __name__ == "__main__":
    main()
