"""How many processes a batch of years gets (site_builder.parallel)."""

from __future__ import annotations

import pytest

from site_builder.parallel import makespan, processes


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
