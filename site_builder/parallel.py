"""How many processes to run a batch of similar jobs in, on a given number of cores.

Years are protected and audited one per process. With as many processes as cores, five
years on two cores run as three waves (2, 2, then 1), and one core idles through the last:
three years' time for five years' work. With three processes, three years share the two
cores and then two run alone, which ends after two and a half years' time. The operating
system shares the cores between the processes; each process holds one year in memory, so
the fewest processes that give the shortest time are taken. :func:`pool` starts them.
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


@contextmanager
def pool(jobs: int, cores: int) -> Iterator[Pool]:
    """A pool of :func:`processes` fresh ("spawn") processes for ``jobs`` similar jobs on
    ``cores`` cores, their allocator set to KEEP_FREED, over whatever ALLOCATOR_VAR holds.
    This process's environment is left as it was."""
    import multiprocessing as mp

    before = os.environ.get(ALLOCATOR_VAR)
    # Last: where a setting is given twice, jemalloc takes the last. polars sets this
    # variable when it is imported, to its own settings followed by what was there before,
    # so in a process that has imported polars it is never empty.
    os.environ[ALLOCATOR_VAR] = KEEP_FREED if before is None else f"{before},{KEEP_FREED}"
    try:  # the workers start here, with the environment as it is now
        workers = mp.get_context("spawn").Pool(processes(jobs, cores))
    finally:
        if before is None:
            del os.environ[ALLOCATOR_VAR]
        else:
            os.environ[ALLOCATOR_VAR] = before
    with workers:
        yield workers
