"""``make bench``: time every pipeline stage, the baselines and the end-to-end publish; ONE table.

    .venv/bin/python benchmarks/run.py                       # full demo state, 2021-2025
    .venv/bin/python benchmarks/run.py --profile tiny --quick
    .venv/bin/python benchmarks/run.py --stages synth,validate,compute --quick
    .venv/bin/python benchmarks/run.py --timeout 600 --pyinstrument protect

Each stage (synth, validate, compute, protect, audit, build, gate) runs in its own fresh
process (``benchmarks/stage.py``), so its wall time, CPU time and peak RSS are its own. Then,
unless ``--quick``:

* Baseline A (``naive_per_district.py``): one papermill run per district for ~20 districts,
  projected to all of them, versus the same notebook run once for every district.
* Baseline B (``nav_baseline.py``): a ~300-page subset built our way and with every page in
  the mkdocs ``nav:``.
* Peer (``acro_compare.py``, another helper's script): ACRO vs our protect() on the toy tables
  it supports (it does not take the full state's extract).
* End to end: ``reportcard publish`` (extract -> published, gated site).

Every process has a timeout (``--timeout``, default 60 minutes: protecting the full state's
5 years takes tens of minutes on 2 cores, see benchmarks/README.md); a stage that runs out is
recorded as "timed out after N s", and the run goes on. If protect did not finish, build runs
on a stand-in publication (the naive test rule of tests/test_site_scale.py) so build and gate
can still be timed; the table says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ("synth", "validate", "compute", "protect", "audit", "build", "gate")
TARGET_E2E_S = 240.0
TARGET_RSS_MB = 6 * 1024


@dataclass
class Result:
    name: str
    wall: float | None = None
    cpu: float | None = None
    rss: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    timed_out: float | None = None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc). Jupyter kernels start in their own session,
    so killing the process group would leave them running."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def kill_tree(pid: int, sig: int) -> None:
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, sig)


def run_json(name: str, cmd: list[str], timeout: float, log: Path) -> tuple[Result, str]:
    """Run ``cmd`` with a timeout (SIGTERM, then SIGKILL 30 s later); the last JSON line of its
    stdout is the result; stderr goes to ``log``."""
    res = Result(name)
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            res.timed_out = timeout
            # SIGTERM to the stage process only (it reports what it has), then the rest.
            tree = descendants(proc.pid)
            os.kill(proc.pid, signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
            for p in tree:  # whatever is left below it (papermill kernels)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
    res.wall = time.perf_counter() - t0
    data = None
    for line in reversed((out or "").splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if data and "wall_s" in data:
        res.wall, res.cpu, res.rss = data["wall_s"], data["cpu_s"], data["peak_rss_mb"]
        res.info, res.error = data.get("info") or {}, data.get("error")
    elif data:
        res.info = data
    if proc.returncode and not res.error and not res.timed_out:
        tail = log.read_text(errors="replace")[-800:]
        res.error = f"exit {proc.returncode}: {tail}"
    return res, out or ""


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    return f"{x:,.1f}{unit}" if x < 100 else f"{x:,.0f}{unit}"


def mb(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×" if a / b < 10 else f"{a / b:.0f}×"


def status(r: Result) -> str:
    if r.error and r.error.startswith("skipped"):
        return r.error
    if r.timed_out:
        return f"TIMED OUT after {r.timed_out:.0f} s"
    if r.error:
        return "FAILED: " + r.error.strip().splitlines()[-1][:120]
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="state", choices=["state", "central", "tiny"])
    ap.add_argument("--quick", action="store_true", help="skip baselines, peer and end to end")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-run"))
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per process")
    ap.add_argument("--e2e-timeout", type=float, default=None,
                    help="seconds for reportcard publish (default: --timeout)")
    ap.add_argument("--naive-districts", type=int, default=20)
    ap.add_argument("--nav-pages", type=int, default=300)
    ap.add_argument("--acro-districts", type=int, default=60)
    ap.add_argument("--pyinstrument", default="",
                    help="comma-separated stages to run under pyinstrument (report in --out)")
    ap.add_argument("--json", type=Path, default=None, help="also write every result here")
    args = ap.parse_args()

    stages = [s for s in args.stages.split(",") if s]
    bad = [s for s in stages if s not in STAGES]
    if bad:
        ap.error(f"unknown stage(s) {bad}; choose from {','.join(STAGES)}")
    out = args.out.resolve()
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    logs = out / "logs"
    logs.mkdir(parents=True)
    py = sys.executable
    profiled = {s for s in args.pyinstrument.split(",") if s}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    common = ["--out", str(out / "pipeline"), "--profile", args.profile, "--seed",
              str(args.seed), "--years", args.years]
    if "synth" not in stages and any(s in stages for s in STAGES[1:]):
        print("note: without synth the stages expect an extract in "
              f"{out / 'pipeline' / 'extract'}", file=sys.stderr)

    pipe = out / "pipeline"
    results: dict[str, Result] = {}
    for s in stages:
        if s == "audit" and "protect" in results and not (
                pipe / "aggregates" / "published.parquet").exists():
            results[s] = Result(s, error="skipped: protect did not finish (no published cells)")
            print("[bench] audit: skipped (no published cells)", file=sys.stderr, flush=True)
            continue
        cmd = [py, str(HERE / "stage.py"), s, *common]
        if s in profiled:
            cmd += ["--pyinstrument", str(out / f"pyinstrument-{s}.txt")]
        print(f"[bench] {s} ...", file=sys.stderr, flush=True)
        r, _ = run_json(s, cmd, args.timeout, logs / f"{s}.log")
        results[s] = r
        print(f"[bench] {s}: {fmt(r.wall)} s wall, {fmt(r.cpu)} s CPU, {fmt(r.rss)} MB "
              f"{status(r)}", file=sys.stderr, flush=True)

    extra: dict[str, Result] = {}
    if not args.quick:
        print("[bench] baseline A (naive per-district papermill) ...", file=sys.stderr,
              flush=True)
        extra["naive"], _ = run_json("naive", [
            py, str(HERE / "naive_per_district.py"), "--extract", str(pipe / "extract"),
            "--work", str(out / "naive"), "--districts", str(args.naive_districts)],
            args.timeout, logs / "naive.log")
        print("[bench] baseline B (all pages in nav) ...", file=sys.stderr, flush=True)
        extra["nav"], _ = run_json("nav", [
            py, str(HERE / "nav_baseline.py"), "--aggregates", str(pipe / "aggregates"),
            "--extract", str(pipe / "extract"), "--work", str(out / "nav"),
            "--pages", str(args.nav_pages)], args.timeout, logs / "nav.log")
        print("[bench] peer: ACRO ...", file=sys.stderr, flush=True)
        acro_out = ""
        r, acro_out = run_json("acro", [py, str(HERE / "acro_compare.py"), "--districts",
                                        str(args.acro_districts)], args.timeout,
                               logs / "acro.log")
        rows = [ln for ln in acro_out.splitlines() if ln.startswith("| ") and "---" not in ln]
        r.info = {"table": rows[1:], "head": [ln for ln in acro_out.splitlines()
                                               if not ln.startswith("|")][:2]}
        extra["acro"] = r
        print("[bench] end to end: reportcard publish ...", file=sys.stderr, flush=True)
        e2e_dir = out / "e2e"
        e2e_dir.mkdir()
        if (pipe / "extract").exists():
            os.symlink(pipe / "extract", e2e_dir / "extract")
        extra["publish"], _ = run_json("publish", [
            py, str(HERE / "stage.py"), "publish", *common[:1], str(e2e_dir), *common[2:]],
            args.e2e_timeout or args.timeout, logs / "publish.log")

    # ---- the table -------------------------------------------------------------------------
    done = [results[s] for s in stages]
    total_wall = sum(r.wall or 0 for r in done)
    total_cpu = sum(r.cpu or 0 for r in done)
    peak = max((r.rss or 0 for r in done), default=0)
    lines = [
        f"## Pipeline benchmark: profile {args.profile}, seed {args.seed}, years {args.years}",
        "",
        f"{started:%Y-%m-%d %H:%M} UTC, commit {commit}{' (+ uncommitted changes)' * bool(dirty)}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load_before[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end "
        f"(`uptime` at start: {uptime})",
        f"command: `.venv/bin/python benchmarks/run.py {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        "| what | wall s | CPU s | peak RSS MB | compared with (same run) | ratio | notes |",
        "|---|---:|---:|---:|---|---:|---|",
    ]

    def row(what: str, r: Result | None, base: str = "", rat: str = "", note: str = "") -> None:
        if r is None:
            lines.append(f"| {what} | — | — | — | {base} | {rat} | {note} |")
            return
        note = "; ".join(x for x in (status(r), note) if x)
        lines.append(f"| {what} | {fmt(r.wall)} | {fmt(r.cpu)} | {mb(r.rss)} | {base} | {rat} "
                     f"| {note} |")

    for s in stages:
        r = results[s]
        info = r.info
        note = ""
        if s == "synth":
            note = f"{info.get('student_years') or 0:,} student-years"
        elif s == "validate":
            note = f"{info.get('districts')} districts, {info.get('schools')} schools"
        elif s == "compute":
            note = f"{info.get('cells') or 0:,} raw cells (load + compute_cells + write)"
        elif s == "protect":
            note = (f"{info.get('withheld') or 0:,} of {info.get('cells') or 0:,} cells withheld "
                    "(protect() with its built-in audit rounds)") if info else ""
        elif s == "audit" and info:
            note = (f"ok={info.get('ok')}, {info.get('lp_solves')} LP solves") if info else ""
        elif s == "build" and info:
            t = info.get("timings") or {}
            note = f"{info.get('pages')} pages; " + ", ".join(f"{k} {v}" for k, v in t.items())
            if "fallback_naive_publication_s" in info:
                note += ("; ON A STAND-IN PUBLICATION (naive test rule: protect did not "
                         "finish)")
        elif s == "gate" and info:
            note = (f"ok={info.get('ok')}, {info.get('findings')} findings, "
                    f"{info.get('files')} files")
        share = ratio(r.wall, total_wall) if r.wall and total_wall else "—"
        row(s, r, "share of sum of stages", share, note)
    row("sum of stages", Result("sum", total_wall, total_cpu, peak), "target 240 s / 6 GB",
        f"{ratio(total_wall, TARGET_E2E_S)} / {ratio(peak, TARGET_RSS_MB)}",
        "peak RSS column: the largest single stage")

    if not args.quick:
        n = extra["naive"]
        i = n.info
        if "projected_all_s" in i:
            lines.append(
                f"| baseline A: one papermill run per district, projected to "
                f"{i['districts_total']} | {fmt(i['projected_all_s'])} | — | "
                f"{mb(i.get('kernels_peak_rss_mb'))} | same notebook once for every district: "
                f"{fmt(i['vectorized_s'])} s | {ratio(i['projected_all_s'], i['vectorized_s'])} "
                f"| measured {i['districts_timed']} districts ({fmt(i['timed_s'])} s, "
                f"{fmt(i['mean_per_district_s'])} s each incl. kernel start) |")
        else:
            row("baseline A: one papermill run per district", n)
        v = extra["nav"]
        i = v.info
        if "allnav_mkdocs_s" in i:
            lines.append(
                f"| baseline B: all {i['pages']} pages in mkdocs nav (subset: {i['districts']} "
                f"districts + {i['schools']} schools), mkdocs step | {fmt(i['allnav_mkdocs_s'])} "
                f"| — | — | ours on the same docs: {fmt(i['ours_mkdocs_warm_s'])} s "
                f"| {ratio(i['allnav_mkdocs_s'], i['ours_mkdocs_warm_s'])} | HTML "
                f"{i['allnav_html_mb']} MB vs {i['ours_html_mb']} MB, largest page "
                f"{i['allnav_largest_kb']} KB vs {i['ours_largest_kb']} KB |")
            lines.append(
                f"| baseline B: whole subset build, all in nav | {fmt(i['allnav_build_s'])} | — "
                f"| — | ours: {fmt(i['ours_build_s'])} s | "
                f"{ratio(i['allnav_build_s'], i['ours_build_s'])} | full state not built "
                "all-in-nav (too long on this machine) |")
        else:
            row("baseline B: all pages in nav", v)
        a = extra["acro"]
        tab = a.info.get("table") or []
        parsed = [[c.strip() for c in ln.strip("|").split("|")] for ln in tab]
        if len(parsed) >= 2 and len(parsed[0]) >= 8:
            ac, us = parsed[0], parsed[1]
            lines.append(
                f"| peer: {ac[0]}, toy tables ({args.acro_districts} districts) | {ac[6]} | — | "
                f"— | our protect() on the same tables: {us[6]} s | "
                f"{ratio(float(ac[6]), float(us[6]))} | withheld {ac[1]} vs {us[1]} of {ac[2]}; "
                f"exactly recoverable {ac[3]} vs {us[3]}, narrowed too far {ac[4]} vs {us[4]} "
                f"(our LP audit); NOT the full state (acro_compare.py only takes toy tables) |")
        else:
            row("peer: ACRO (acro_compare.py)", a)
        p = extra["publish"]
        if p.timed_out:  # killed before it reaped its children: their CPU and RSS are lost
            p.cpu = p.rss = None
        row("end to end: reportcard publish", p, "target 240 s / 6 GB",
            f"{ratio(p.wall, TARGET_E2E_S)} / {ratio(p.rss, TARGET_RSS_MB)}"
            if p.wall and not p.timed_out and not p.error else "—",
            "extract -> compute notebook -> protect -> build -> gate -> swap")

    table = "\n".join(lines)
    print(table, flush=True)
    (out / "table.md").write_text(table + "\n", "utf-8")
    if args.json:
        args.json.write_text(json.dumps(
            {k: r.__dict__ for k, r in {**results, **extra}.items()}, indent=1, default=str))
    profiles = sorted(out.glob("pyinstrument-*.txt"))
    for pf in profiles:
        print(f"\npyinstrument report: {pf}", file=sys.stderr)
    failed = [r for r in [*results.values(), *extra.values()]
              if r.error and not r.timed_out and not r.error.startswith("skipped")]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
