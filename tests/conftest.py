"""The order `make test` runs the test files in, so that its two workers end together.

`make test` hands whole files to pytest-xdist's two workers (``--dist loadfile``: a file's
module-scoped fixtures, such as test_reliability.py's published site, are made once), the
next file to whichever worker is free, in the order below. The longest files go first: when
test_reliability.py (about 15 minutes of a worker) came near the end, the other worker had
nothing left for its last 10-15 minutes (session 57: 34 min 17 s, 158% of 2 cores; 29 min 7 s
and 173% in this order, with the bytecode kept too). Files not named here follow,
in pytest's order. The seconds are a worker's, measured with ``--durations`` beside the
other worker; only their order matters, and a wrong guess costs time, never a result.
"""

from __future__ import annotations

import pytest

SECONDS = {  # session 62's JUnit times (PYTEST_ADDOPTS=--junitxml=FILE)
    "test_reliability.py": 695,
    "test_disclosure_regions.py": 335,
    "test_publish.py": 303,
    "test_browser.py": 292,
    "test_disclosure_properties.py": 205,
    "test_incremental.py": 167,
    "test_disclosure_witnesses.py": 138,
    "test_site_scale.py": 130,
    "test_browser_planted.py": 116,
    "test_notebooks.py": 87,
    "test_contract.py": 83,
    "test_disclosure_releases.py": 67,
    "test_bench_smoke.py": 55,
    "test_compute.py": 49,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort keeps each file's tests together and in their own order.
    items.sort(key=lambda item: -SECONDS.get(item.path.name, 0))
