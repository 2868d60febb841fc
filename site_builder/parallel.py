"""How many processes to run a batch of jobs in, on a given number of cores.

Years are protected and audited one per process. With as many processes as cores, five
years on two cores run as three waves (2, 2, then 1), and one core idles through the last:
three years' time for five years' work. With three processes, three years share the two
cores and then two run alone, which ends after two and a half years' time. The operating
system shares the cores between the processes; each process holds one year in memory, so
for jobs of about the same length the fewest processes that give the shortest time are
taken (:func:`processes`).

A full state's years are not of the same length: by when each finished, protect took about
400 to 1,500 s of CPU a year in one run (session 57), and the longest, started last, ran
alone for its last 1,000 s while the other core idled. Jobs of uneven length all start at
once where memory allows (:func:`uneven_processes`): the cores are shared among the years
left to the end, so the longest year gets a core to itself only when every other year is
done.
:func:`pool` starts them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool

ALLOCATOR_VAR = "_RJEM_MALLOC_CONF"
"""The environment variable polars' allocator (jemalloc, prefixed ``_rjem_``) reads its
settings from, once, when the process first allocates."""
KEEP_FREED = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
"""Allocator settings for the pools' workers: keep the memory polars frees for its next
frames. polars' own settings hand it back to the system within half a second, and the
next frame faults it in again, page by page. Full state, 2022-2024 protected in one pool of
three: 3.5 million page faults instead of 10.9 million, 35-41 s of system time instead of
47-80 s, and about 11% less CPU time side by side, at 2.8 GB a worker instead of 2.1 GB
(benchmarks/README.md, session 35)."""


def makespan(jobs: int, processes: int, cores: int) -> float:
    """Time for ``jobs`` jobs of equal length (1) in a pool of ``processes`` on ``cores``:
    the pool runs them in waves of up to ``processes``, each taking
    ``max(1, jobs in it / cores)``."""
    if jobs < 1:
        return 0.0
    t, left = 0.0, jobs
    while left > 0:
        k = min(processes, left)
        t += max(1.0, k / cores)
        left -= k
    return t


def processes(jobs: int, cores: int) -> int:
    """The fewest processes (at least 1, at most ``jobs``) that finish ``jobs`` similar jobs
    soonest on ``cores`` cores. 5 jobs on 2 cores: 3 processes (2.5 jobs' time, where 2
    processes take 3); 4 jobs on 2 cores: 2."""
    if jobs <= 1 or cores <= 1:
        return 1
    options = range(min(cores, jobs), jobs + 1)
    return min(options, key=lambda p: (makespan(jobs, p, cores), p))


MEMORY_SHARE = 0.85
"""The share of the memory available as a pool of uneven jobs starts that its processes may
take together: the rest is for this process and what else runs on the machine (publishing
the full state: the compute notebook's kernel, 1.5 GB). On 2 cores and 24 GB, five
full-state years at 3.7 GB each fit."""


def available_memory() -> int:
    """Bytes of memory available to new processes: ``MemAvailable`` of /proc/meminfo (Linux),
    else the machine's physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def uneven_processes(jobs: int, cores: int, job_bytes: int, available: int) -> int:
    """Processes for ``jobs`` jobs of uneven length, each taking ``job_bytes`` of memory at
    most: all of them at once where MEMORY_SHARE of ``available`` holds them, else as many
    as it holds, and never fewer than :func:`processes` gives jobs of equal length."""
    fit = int(available * MEMORY_SHARE) // max(job_bytes, 1)
    return max(processes(jobs, cores), min(jobs, fit))


@contextmanager
def pool(jobs: int, cores: int, job_bytes: int | None = None) -> Iterator[Pool]:
    """A pool of fresh ("spawn") processes for ``jobs`` jobs on ``cores`` cores: as many as
    :func:`processes` gives, or, with ``job_bytes`` (the most memory one job takes; its
    jobs' lengths are uneven), :func:`uneven_processes`. Their allocator is set to
    KEEP_FREED, over whatever ALLOCATOR_VAR holds. This process's environment is left as
    it was."""
    import multiprocessing as mp

    before = os.environ.get(ALLOCATOR_VAR)
    # Last: where a setting is given twice, jemalloc takes the last. polars sets this
    # variable when it is imported, to its own settings followed by what was there before,
    # so in a process that has imported polars it is never empty.
    os.environ[ALLOCATOR_VAR] = KEEP_FREED if before is None else f"{before},{KEEP_FREED}"
    try:  # the workers start here, with the environment as it is now
        n = (processes(jobs, cores) if job_bytes is None
             else uneven_processes(jobs, cores, job_bytes, available_memory()))
        workers = mp.get_context("spawn").Pool(n)
    finally:
        if before is None:
            del os.environ[ALLOCATOR_VAR]
        else:
            os.environ[ALLOCATOR_VAR] = before
    with workers:
        yield workers
