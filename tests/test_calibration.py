"""Calibration of the full synthetic state (scale 1.0) against the real DESE 2024 figures.

Slow (about 30 s): one full-state generation of 2024 (after the generator's 3 burn-in years).
Tolerances are the generator's promises: K-12 enrollment within 3% of the real file for every
LEA; race, free/reduced lunch, EL and IEP shares within 3 percentage points where DESE published
them (plus one student's worth of rounding, since a district of 20 students moves 5 points a
student); statewide proficiency, attendance and graduation near the published Missouri numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from site_builder.extract import load_extract
from site_builder.synth import generate
from site_builder.synth.reference import RACE_CODES, load_leas

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state_2024(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calibration") / "extract"
    generate(out, seed=20240601, years=(2024,), scale=1.0)
    return out


@pytest.fixture(scope="module")
def by_district(state_2024: Path) -> pl.DataFrame:
    enr = load_extract(state_2024).enrollment.filter(pl.col("grade") != "PK").collect()
    made = enr.group_by("district_code").agg(
        pl.len().alias("n"),
        pl.col("ecodis").mean().alias("frl"), pl.col("el").mean().alias("el"),
        pl.col("iep").mean().alias("iep"),
        *[(pl.col("race") == r).mean().alias(r) for r in RACE_CODES])
    leas = load_leas("state")
    real = pl.DataFrame({"district_code": leas.code, "real_n": leas.enrollment[2024],
                         **{f"real_{k}": v for k, v in leas.published.items()}})
    return real.join(made, on="district_code", how="left")


def test_every_lea_enrollment_within_3_percent(by_district: pl.DataFrame) -> None:
    # LEAs DESE suppressed entirely ('*', fewer than 10) are generated with 5 students.
    published = by_district.filter(pl.col("real_n") >= 10)
    assert published.height >= 555
    rel = (published["n"].fill_null(0) / published["real_n"] - 1).abs()
    bad = published.filter(rel > 0.03)
    assert bad.height == 0, bad.select("district_code", "n", "real_n").head()


@pytest.mark.parametrize("share", ["frl", "el", "iep", *RACE_CODES])
def test_published_shares_within_3_points(by_district: pl.DataFrame, share: str) -> None:
    d = by_district.filter(pl.col(f"real_{share}").is_not_nan())
    assert d.height > 0
    diff = (d[share] - d[f"real_{share}"]).abs()
    allowed = 0.03 + 1.0 / d["n"] + 1e-9
    bad = d.filter(diff > allowed)
    assert bad.height == 0, bad.select("district_code", "n", share, f"real_{share}").head()
    # And most LEAs are within 3 points without the rounding allowance.
    assert (diff <= 0.03 + 1e-9).mean() > 0.98


def test_statewide_group_shares(by_district: pl.DataFrame) -> None:
    n = by_district["n"].fill_null(0)
    total = n.sum()
    assert abs(total - 859_213) / 859_213 < 0.01

    def state(col: str) -> float:
        return float((by_district[col].fill_null(0) * n).sum() / total)

    expected = {"WH": 0.680, "BL": 0.152, "HI": 0.084, "MU": 0.054, "AS": 0.021, "frl": 0.467,
                "el": 0.046, "iep": 0.138}
    for col, want in expected.items():
        assert abs(state(col) - want) < 0.015, (col, state(col), want)


def test_proficiency_and_its_gaps(state_2024: Path) -> None:
    a = (load_extract(state_2024).assessment
         .filter(pl.col("subject").is_in(["ELA", "Math"]))
         .with_columns(prof=pl.col("achievement_level").is_in(["Proficient", "Advanced"]))
         .collect())
    rate = dict(a.group_by("subject").agg(pl.col("prof").mean()).iter_rows())
    assert abs(rate["ELA"] - 0.41) < 0.02
    assert abs(rate["Math"] - 0.40) < 0.02

    def by(col: str) -> dict[object, float]:
        return dict(a.group_by(col).agg(pl.col("prof").mean()).iter_rows())

    eco = by("ecodis")
    assert 0.4 < eco[True] / eco[False] < 0.6          # about half the rate of others
    iep, el = by("iep"), by("el")
    assert iep[True] < 0.6 * iep[False]
    assert el[True] < 0.7 * el[False]
    race = by("race")
    assert min(race["AS"], race["WH"]) > max(race["BL"], race["HI"])
    # District effects: LEAs differ widely.
    d = (a.group_by("district_code").agg(pl.col("prof").mean(), pl.len())
         .filter(pl.col("len") >= 200))
    assert d["prof"].quantile(0.9) - d["prof"].quantile(0.1) > 0.2


def test_attendance_rates(state_2024: Path) -> None:
    e = load_extract(state_2024).enrollment.select(
        (pl.col("days_attended") / pl.col("days_enrolled") >= 0.9).mean().alias("ninety"),
        ((pl.col("days_enrolled") - pl.col("days_attended")) / pl.col("days_enrolled") >= 0.1)
        .mean().alias("chronic")).collect()
    assert abs(e["ninety"][0] - 0.766) < 0.02
    assert abs(e["chronic"][0] - 0.218) < 0.02


def test_graduation_rates_spread(state_2024: Path) -> None:
    g = load_extract(state_2024).graduation.collect()
    state = (g["outcome"] == "graduated").mean()
    assert 0.86 < state < 0.95
    assert 55_000 < g.height < 80_000
    rates = (g.group_by("district_code")
             .agg((pl.col("outcome") == "graduated").mean().alias("r"), pl.len())
             .filter(pl.col("len") >= 30)["r"].to_numpy())
    assert rates.min() >= 0.6 and rates.max() <= 1.0
    assert np.quantile(rates, 0.05) < 0.82
    assert np.quantile(rates, 0.95) > 0.96


def test_grade_sizes(state_2024: Path) -> None:
    sizes = (load_extract(state_2024).enrollment.group_by("grade").len().collect())
    per = dict(sizes.iter_rows())
    for g in ("K", "01", "05", "08", "09", "12"):
        assert 55_000 < per[g] < 75_000, (g, per[g])
