"""How many processes a batch of years gets, and how they start (site_builder.parallel)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from site_builder.parallel import (
    ALLOCATOR_VAR,
    KEEP_FREED,
    available_memory,
    makespan,
    pool,
    processes,
    uneven_processes,
)


def test_five_years_on_two_cores_run_in_three_processes() -> None:
    # Two processes: waves of 2, 2 and 1 year (3 years' time); three: 3 sharing the two
    # cores, then 2 (2.5 years' time).
    assert makespan(5, 2, 2) == 3.0
    assert makespan(5, 3, 2) == 2.5
    assert processes(5, 2) == 3
    assert processes(4, 2) == 2
    assert processes(3, 2) == 3
    assert processes(1, 2) == 1
    assert processes(5, 1) == 1


def test_uneven_jobs_start_at_once_where_the_memory_holds_them() -> None:
    gb = 1 << 30
    year = int(3.7 * gb)  # a full-state year's protect, at most
    # Five of them: 23 GB free holds all five (85% of it), 20 GB four.
    assert uneven_processes(5, 2, year, 23 * gb) == 5
    assert uneven_processes(5, 2, year, 20 * gb) == 4
    # Less memory never means fewer processes than jobs of equal length would get.
    assert uneven_processes(5, 2, year, 12 * gb) == processes(5, 2) == 3
    assert uneven_processes(5, 2, year, 1 * gb) == 3
    # Toy states: every year at once, never more processes than years.
    assert uneven_processes(3, 2, 1 << 20, 24 * gb) == 3
    assert uneven_processes(1, 2, 1 << 20, 24 * gb) == 1
    assert uneven_processes(5, 1, year, 24 * gb) == 5


def test_available_memory_is_this_machines() -> None:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < available_memory() <= total


@pytest.mark.parametrize("cores", [2, 3, 4])
def test_never_slower_than_one_process_per_core(cores: int) -> None:
    for jobs in range(1, 13):
        p = processes(jobs, cores)
        assert 1 <= p <= jobs
        # As soon as the cores allow, and never more processes than that needs.
        best = min(makespan(jobs, q, cores) for q in range(1, jobs + 1))
        assert makespan(jobs, p, cores) == best
        assert makespan(jobs, p, cores) <= makespan(jobs, min(cores, jobs), cores)
        assert all(makespan(jobs, q, cores) > best for q in range(1, p))


def _use_polars(_: int) -> int:
    """A worker's job that makes polars allocate."""
    import polars as pl

    return int(pl.DataFrame({"a": range(1000)})["a"].sum())


def test_pool_workers_keep_the_memory_polars_frees(monkeypatch, capfd) -> None:
    """The workers' allocator runs with KEEP_FREED, although importing polars (done in this
    process already, and again in each worker) sets its own, quicker decay in the same
    variable. jemalloc's ``stats_print`` shows the settings in force as a worker exits;
    this process's environment is left as it was."""
    import polars  # noqa: F401  (sets the variable here, as in the notebooks and the CLI)

    monkeypatch.setenv(ALLOCATOR_VAR, os.environ[ALLOCATOR_VAR] + ",stats_print:true")
    before = os.environ[ALLOCATOR_VAR]
    capfd.readouterr()
    with pool(5, 2) as procs:
        assert procs.map(_use_polars, range(3)) == [499500] * 3
        procs.close()
        procs.join()  # the workers exit normally: jemalloc prints its settings
    err = capfd.readouterr().err
    assert os.environ[ALLOCATOR_VAR] == before
    assert err.count("opt.dirty_decay_ms: -1") == 3, err[:2000]
    assert err.count("opt.muzzy_decay_ms: -1") == 3


@pytest.mark.parametrize("conf", ["no_such_setting:1", KEEP_FREED])
def test_polars_allocator_reads_the_settings_variable(conf: str) -> None:
    """The variable is the one this polars build's jemalloc reads: it rejects a setting
    it does not know, out loud, and takes KEEP_FREED without a word."""
    run = subprocess.run([sys.executable, "-c", "import polars as pl; "
                          "print(pl.DataFrame({'a': range(1000)})['a'].sum())"],
                         env={**os.environ, ALLOCATOR_VAR: conf}, capture_output=True,
                         text=True, check=True)
    assert run.stdout.strip() == "499500"
    assert ("<jemalloc>: Invalid conf pair" in run.stderr) == (conf != KEEP_FREED)
