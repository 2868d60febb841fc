"""How many processes to run a batch of similar jobs in, on a given number of cores.

Years are protected and audited one per process. With as many processes as cores, five
years on two cores run as three waves (2, 2, then 1), and one core idles through the last:
three years' time for five years' work. With three processes, three years share the two
cores and then two run alone, which ends after two and a half years' time. The operating
system shares the cores between the processes; each process holds one year in memory, so
the fewest processes that give the shortest time are taken.
"""

from __future__ import annotations


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
