"""Smoke test of ``make bench``: benchmarks/run.py on the tiny profile, baselines skipped.

Checks the one table is printed with a row for every stage. A short per-stage timeout keeps
the test fast even while disclosure control is slow: a stage that runs out is still a row
("TIMED OUT after N s"), which is what the benchmark must do on the full state too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("synth", "validate", "compute", "protect", "audit", "build", "gate")


def test_bench_tiny_quick_prints_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--profile", "tiny", "--quick",
         "--out", str(out), "--timeout", "25"],
        cwd=ROOT, capture_output=True, text=True, timeout=200)
    table = run.stdout
    assert "| what | wall s | CPU s | peak RSS MB |" in table, run.stdout + run.stderr
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()
            if line.startswith("| ")}
    for stage in STAGES:
        assert stage in rows, f"no row for {stage}:\n{table}"
    assert "sum of stages" in rows
    # The cheap stages must have finished with real figures.
    for stage in ("synth", "validate", "compute"):
        cells = [c.strip() for c in rows[stage].split("|")]
        assert cells[2] != "—" and float(cells[2].replace(",", "")) > 0, rows[stage]
        assert "FAILED" not in rows[stage] and "TIMED OUT" not in rows[stage], rows[stage]
    assert "17,097 student-years" in rows["synth"] or "student-years" in rows["synth"]
    assert (out / "table.md").read_text("utf-8").strip() == table.strip()
    assert run.returncode == 0, run.stderr[-2000:]
