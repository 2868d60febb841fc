"""The demo site the end-to-end tests run against, built once per test run.

The site is made through the real ``reportcard publish``: synth -> validate -> compute
(papermill) -> protect -> build (mkdocs) -> gate -> atomic swap. Several pytest-xdist workers
share it: the first builds it under a file lock, the others wait and reuse it.

Which state: ``REPORTCARD_TEST_PROFILE=state`` publishes the full Missouri-size demo state
(what ``make demo`` publishes); the default is the tiny fixture state, because publishing
the full state takes about 7 minutes on 2 cores, half of what the whole suite takes now
(see benchmarks/README.md, "pipeline").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
RC = [sys.executable, "-m", "site_builder.cli"]
DEMO_SEED = "20240601"


def profile() -> str:
    return os.environ.get("REPORTCARD_TEST_PROFILE", "tiny")


def demo_root() -> Path:
    return ROOT / "build" / f"test-demo-{profile()}"


def run(*args: str, cwd: Path = ROOT) -> None:
    proc = subprocess.run([*RC, *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"reportcard {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def demo_site() -> Path:
    """Path of the published demo site (extract under ``demo_root()/extract``)."""
    root = demo_root()
    root.mkdir(parents=True, exist_ok=True)
    site = root / "site"
    done = root / ".published"
    with FileLock(str(root / ".lock")):
        if done.exists() and (site / "manifest.json").exists():
            return site
        extract = root / "extract"
        if not (extract / "extract.json").exists():
            synth = ["synth", "--out", str(extract), "--seed", DEMO_SEED, "--canaries", "5"]
            if profile() == "tiny":
                synth += ["--profile", "tiny"]
            run(*synth)
        run("publish", "--extract", str(extract), "--site", str(site),
            "--aggregates", str(root / "aggregates"))
        done.write_text("ok\n")
    return site
