"""Shared synthetic-extract fixtures (import them in a test module or a conftest).

    from synth_fixtures import tiny_extract  # noqa: F401

``tiny_extract`` is the ``--profile tiny`` extract (5 real Adair/Andrew county districts,
2021-2025, 3 canaries), made once per test session in about a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from site_builder.synth import generate

TINY_SEED = 7
TINY_CANARIES = 3


@pytest.fixture(scope="session")
def tiny_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "extract"
    generate(out, seed=TINY_SEED, profile="tiny", canaries=TINY_CANARIES)
    return out


@pytest.fixture(scope="session")
def small_state_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real LEA at 2% of its enrollment, two years (a few seconds)."""
    out = tmp_path_factory.mktemp("synth") / "state002"
    generate(out, seed=11, years=(2023, 2024), scale=0.02, canaries=2)
    return out
