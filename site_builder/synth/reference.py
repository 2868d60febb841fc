"""The reference tables the generator calibrates to, and the three profiles.

``state`` is every real Missouri LEA of 2024 (``data/leas.csv``, derived from public DESE files
by ``data/derive.py``). ``central`` is every LEA of ten central Missouri counties. ``tiny`` is
five real Adair/Andrew county districts, with a few values overridden so that the test fixture
exercises the edge cases (see ``site_builder.synth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from site_builder import schema

DATA = Path(__file__).resolve().parent / "data"
RACE_CODES: tuple[str, ...] = tuple(schema.RACES)  # AM AS BL HI MU PI WH
GRADES = schema.GRADES
N_GRADES = len(GRADES)
FIRST_DATA_YEAR, LAST_DATA_YEAR = 2017, 2024

# Statewide race mix (DOMAIN.md), in RACE_CODES order: used to split suppressed shares.
STATE_RACE = np.array([0.003, 0.021, 0.152, 0.084, 0.054, 0.004, 0.680])

TINY_CODES = ("001090", "001091", "001092", "002089", "002090")
TINY_HISPANIC = {"002089": 29, "001091": 31}
"""Tiny profile: exact Hispanic head counts forced in the profile's focus year."""
TINY_SINGLE_SCHOOL = "001092"

CENTRAL_COUNTIES = ("Audrain", "Boone", "Callaway", "Cole", "Cooper", "Howard", "Miller",
                    "Moniteau", "Osage", "Randolph")
"""Central profile: every real LEA of ten central Missouri counties (Columbia, Jefferson City
and their rural neighbours): a whole region, big enough to look like Missouri and small
enough to protect, audit and build in a few minutes."""
PROFILES = ("state", "central", "tiny")


@dataclass
class Shares:
    """One year's target mix per LEA (filled where DESE printed '*')."""

    race: np.ndarray   # (D, 7), rows sum to 1
    frl: np.ndarray
    el: np.ndarray
    iep: np.ndarray


@dataclass
class Leas:
    """One row per LEA, as numpy arrays (index = LEA number in code order)."""

    code: np.ndarray          # str, 6 digits
    name: np.ndarray
    county_code: np.ndarray
    county_name: np.ndarray
    kind: np.ndarray          # district/charter/special
    city: np.ndarray
    enrollment: dict[int, np.ndarray]   # year -> real K-12 enrollment (float, filled)
    published: dict[str, np.ndarray]    # 2024 share columns as published (NaN = '*'), 0-1
    race_share: np.ndarray    # (D, 7) filled shares summing to 1
    frl: np.ndarray           # filled 0-1
    el: np.ndarray
    iep: np.ndarray
    grade_share: np.ndarray   # (D, 14) relative to K-12 total (PK may add to >1)
    single_school: np.ndarray  # bool
    by_year: dict[int, Shares]

    @property
    def n(self) -> int:
        return len(self.code)

    def shares_for(self, year: int) -> Shares:
        """The published mix of ``year`` (2017-2024; nearest year outside that range)."""
        return self.by_year[min(max(year, FIRST_DATA_YEAR), LAST_DATA_YEAR)]

    def enrollment_for(self, year: int) -> np.ndarray:
        """Real (or extrapolated) K-12 enrollment for any year."""
        if year in self.enrollment:
            return self.enrollment[year]
        if year < FIRST_DATA_YEAR:
            return self.enrollment[FIRST_DATA_YEAR]
        # Extrapolate the 2022-2024 trend, damped and bounded.
        e24, e22 = self.enrollment[2024], self.enrollment[2022]
        rate = np.clip(np.where(e22 > 0, (e24 / np.maximum(e22, 1)) ** 0.5, 1.0), 0.95, 1.05)
        return e24 * rate ** (year - LAST_DATA_YEAR)


def _fill_enrollment(df: pl.DataFrame) -> dict[int, np.ndarray]:
    years = list(range(FIRST_DATA_YEAR, LAST_DATA_YEAR + 1))
    m = np.column_stack([df[f"enr_{y}"].to_numpy().astype(float) for y in years])
    out = m.copy()
    for j in range(len(years)):
        col = out[:, j]
        miss = np.isnan(col)
        if j > 0:
            # Missing after a known year: carry the last known value (a suppressed '*').
            col[miss] = out[miss, j - 1]
    # Still missing: before the LEA opened (0), or suppressed throughout (a handful).
    never = np.isnan(m).all(axis=1)
    out[never] = 5.0
    out = np.nan_to_num(out, nan=0.0)
    return {y: out[:, j] for j, y in enumerate(years)}


def _fill_races(pub: np.ndarray, enr: np.ndarray) -> np.ndarray:
    """Fill '*' race shares: they share what the published ones leave, each under 10 students."""
    d = pub.shape[0]
    share = np.nan_to_num(pub, nan=0.0)
    miss = np.isnan(pub)
    rest = np.clip(1.0 - share.sum(axis=1), 0.0, 1.0)
    w = np.where(miss, STATE_RACE[None, :], 0.0)
    wsum = w.sum(axis=1)
    cap = 9.0 / np.maximum(enr, 1.0)
    fill = np.where(miss, rest[:, None] * w / np.where(wsum > 0, wsum, 1)[:, None], 0.0)
    fill = np.minimum(fill, cap[:, None])
    share = share + fill
    all_missing = miss.all(axis=1)
    share[all_missing] = STATE_RACE
    share = share / share.sum(axis=1, keepdims=True)
    assert share.shape == (d, 7)
    return share


def _fill_rate(pub: np.ndarray, enr: np.ndarray, default: float) -> np.ndarray:
    """'*' means fewer than 10 students: use about 5 students, never more than the default."""
    small = np.minimum(5.0 / np.maximum(enr, 1.0), default)
    return np.clip(np.where(np.isnan(pub), small, pub), 0.0, 1.0)


def load_leas(profile: str = "state") -> Leas:
    df = pl.read_csv(DATA / "leas.csv", schema_overrides={
        "district_code": pl.String, "county_code": pl.String, "city": pl.String})
    if profile == "tiny":
        df = df.filter(pl.col("district_code").is_in(list(TINY_CODES)))
    elif profile == "central":
        df = df.filter(pl.col("county_name").is_in(list(CENTRAL_COUNTIES)))
    elif profile != "state":
        raise ValueError(f"unknown profile {profile!r}")
    df = df.sort("district_code")
    enrollment = _fill_enrollment(df)
    e24 = enrollment[2024]

    published: dict[str, np.ndarray] = {}
    for col in ("frl", "el", "iep", *RACE_CODES):
        published[col] = df[col].to_numpy().astype(float) / 100.0
    pub_race = np.column_stack([published[r] for r in RACE_CODES])
    race_share = _fill_races(pub_race, e24)
    frl = _fill_rate(published["frl"], e24, 0.467)
    el = _fill_rate(published["el"], e24, 0.046)
    iep = _fill_rate(published["iep"], e24, 0.138)

    gcols = [f"g_{g}" for g in GRADES]
    gs = df.select(gcols).to_numpy().astype(float)
    missing = np.isnan(gs).any(axis=1) | (np.nan_to_num(gs[:, 1:]).sum(axis=1) <= 0)
    state_share = np.nanmean(gs[~missing], axis=0)
    gs[missing] = state_share
    k8 = df["k8"].to_numpy().astype(bool)
    gs[k8, GRADES.index("09"):] = 0.0
    # Regular districts serve K-12 (or K-8): a grade DESE suppressed ('*') still has students.
    is_district = df["lea_kind"].to_numpy() == "district"
    hi = np.where(k8, GRADES.index("08"), GRADES.index("12"))
    floor = np.minimum(4.0 / np.maximum(e24, 1.0), 1.0 / 13)
    span = (np.arange(N_GRADES)[None, :] >= 1) & (np.arange(N_GRADES)[None, :] <= hi[:, None])
    lift = is_district[:, None] & span
    gs = np.where(lift, np.maximum(gs, floor[:, None]), gs)
    gs = gs / gs[:, 1:].sum(axis=1, keepdims=True)
    gs[gs < 0.002] = 0.0
    gs = gs / gs[:, 1:].sum(axis=1, keepdims=True)

    codes = df["district_code"].to_numpy().astype(str)
    by_year = _shares_by_year(codes, enrollment,
                              Shares(race=race_share, frl=frl, el=el, iep=iep))
    return Leas(
        code=codes,
        name=df["district_name"].to_numpy().astype(str),
        county_code=df["county_code"].to_numpy().astype(str),
        county_name=df["county_name"].to_numpy().astype(str),
        kind=df["lea_kind"].to_numpy().astype(str),
        city=df["city"].fill_null("").to_numpy().astype(str),
        enrollment=enrollment,
        published=published,
        race_share=race_share,
        frl=frl, el=el, iep=iep,
        grade_share=gs,
        single_school=(codes == TINY_SINGLE_SCHOOL) if profile == "tiny"
        else np.zeros(len(codes), bool),
        by_year=by_year,
    )


def _shares_by_year(codes: np.ndarray, enrollment: dict[int, np.ndarray],
                    latest: Shares) -> dict[int, Shares]:
    """Filled shares for 2017-2024; an LEA missing in a year (not open yet) uses 2024's."""
    long = pl.read_csv(DATA / "lea_shares.csv", schema_overrides={"district_code": pl.String})
    index = {c: i for i, c in enumerate(codes)}
    out: dict[int, Shares] = {}
    for year in range(FIRST_DATA_YEAR, LAST_DATA_YEAR + 1):
        if year == LAST_DATA_YEAR:
            out[year] = latest
            continue
        rows = long.filter(pl.col("year") == year, pl.col("district_code").is_in(list(codes)))
        pos = np.array([index[c] for c in rows["district_code"]], dtype=np.int64)
        d = len(codes)

        def col(name: str, rows: pl.DataFrame = rows, pos: np.ndarray = pos,
                d: int = d) -> np.ndarray:
            a = np.full(d, np.nan)
            a[pos] = rows[name].to_numpy().astype(float) / 100.0
            return a

        e = np.maximum(enrollment[year], 1.0)
        present = np.zeros(d, bool)
        present[pos] = True
        pub = np.column_stack([col(r) for r in RACE_CODES])
        race = np.where(present[:, None], _fill_races(pub, e), latest.race)
        frl = np.where(present, _fill_rate(col("frl"), e, 0.467), latest.frl)
        el = np.where(present, _fill_rate(col("el"), e, 0.046), latest.el)
        iep = np.where(present, _fill_rate(col("iep"), e, 0.138), latest.iep)
        out[year] = Shares(race=race, frl=frl, el=el, iep=iep)
    return out


def load_school_names() -> pl.DataFrame:
    return pl.read_csv(DATA / "school_names.csv")
