"""``generate``: run the panel, score tests, build cohorts, write the files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from site_builder import schema
from site_builder.errors import ReportcardError
from site_builder.synth import assessment, graduation, names, writer
from site_builder.synth.directory import Directory, build_directory
from site_builder.synth.progress import Steps
from site_builder.synth.reference import (
    GRADES,
    PROFILES,
    RACE_CODES,
    TINY_HISPANIC,
    Leas,
    load_leas,
)
from site_builder.synth.students import Panel, People, YearFrame

GENERATOR_VERSION = "2"
MAX_CANARIES = 9999


class SynthError(ReportcardError):
    """The generator was asked for something it cannot make."""
BURN_IN = 3
G12 = GRADES.index("12")
_STREAMS = {"directory": 1, "panel": 2, "assessment": 3, "graduation": 4, "canaries": 5,
            "tiny": 6, "ids": 7, "scores": 8}


def _rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        [seed, _STREAMS[stream], *more])))


class _Out:
    """What is kept per output year until writing."""

    def __init__(self, frame: YearFrame, tests: assessment.Tests, scores: np.ndarray,
                 levels: np.ndarray, cohort: graduation.Cohort) -> None:
        self.frame, self.tests, self.scores, self.levels, self.cohort = (
            frame, tests, scores, levels, cohort)


def _lookup(values: np.ndarray | Sequence[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(idx.astype(np.int64)))


def _pick_canaries(n: int, f: YearFrame, rng: np.random.Generator) -> np.ndarray:
    if n <= 0:
        return np.zeros(0, np.int64)
    pool = np.flatnonzero((f.grade >= GRADES.index("03")) & (f.grade <= GRADES.index("05")))
    if len(pool) < n:
        pool = np.arange(len(f.sid))
    if len(pool) < n:
        raise SynthError(f"only {len(pool)} students to turn into {n} canaries; ask for fewer")
    return np.sort(f.sid[rng.choice(pool, size=n, replace=False)])


def _force_hispanic(leas: Leas, people: People, f: YearFrame, rng: np.random.Generator) -> None:
    """Tiny profile: exact Hispanic head counts in the focus year (29 and 31)."""
    hi, wh = RACE_CODES.index("HI"), RACE_CODES.index("WH")
    for code, want in TINY_HISPANIC.items():
        d = int(np.flatnonzero(leas.code == code)[0])
        in_d = f.sid[f.dist == d]
        is_hi = people.race[in_d] == hi
        have = int(is_hi.sum())
        if have > want:
            people.race[rng.choice(in_d[is_hi], have - want, replace=False)] = wh
        elif have < want:
            people.race[rng.choice(in_d[~is_hi], want - have, replace=False)] = hi


class _Identity:
    """Student numbers -> published identity columns (with canaries swapped in)."""

    def __init__(self, people: People, canaries: np.ndarray, seed: int) -> None:
        self.people = people
        self.canaries = canaries
        self.salt = int(_rng(seed, "ids").integers(0, names.ID_SPAN))

    def ids(self, sid: np.ndarray) -> np.ndarray:
        out = names.student_ids(sid, self.salt)
        if len(self.canaries):
            pos = np.searchsorted(self.canaries, sid)
            hit = self._hit(sid, pos)
            out[hit] = 9_990_000_000 + pos[hit] + 1
        return out

    def _hit(self, sid: np.ndarray, pos: np.ndarray) -> np.ndarray:
        c = self.canaries
        return (pos < len(c)) & (c[np.minimum(pos, len(c) - 1)] == sid)

    def canary_no(self, sid: np.ndarray) -> np.ndarray:
        """1-based canary number, 0 for everyone else."""
        if not len(self.canaries):
            return np.zeros(len(sid), np.int64)
        pos = np.searchsorted(self.canaries, sid)
        return np.where(self._hit(sid, pos), pos + 1, 0)


def _enrollment_df(o: _Out, ident: _Identity, leas: Leas, dirx: Directory) -> pl.DataFrame:
    f, p = o.frame, ident.people
    ids = ident.ids(f.sid)
    order = np.argsort(ids, kind="stable")
    sid = f.sid[order]
    can = ident.canary_no(sid)
    male = p.male[sid]
    birth = p.birth[sid].astype(np.int64)
    first = names.first_name_series(p.first[sid])
    last = names.last_name_series(p.last[sid])
    ssn = p.ssn[sid].copy()
    if can.any():
        hit = can > 0
        first = first.scatter(np.flatnonzero(hit), "Canary")
        last = last.scatter(np.flatnonzero(hit), [f"Zzyzx{c:04d}" for c in can[hit]])
        ssn[hit] = 999_000_000 + can[hit]
        years = (np.datetime64("1970-01-01") + birth[hit].astype("timedelta64[D]")).astype(
            "datetime64[Y]").astype(np.int64) + 1970
        jan1 = (np.array([f"{y}-01-01" for y in years], "datetime64[D]")
                - np.datetime64("1970-01-01")).astype(np.int64)
        birth[hit] = jan1
    df = pl.DataFrame({
        "year": np.full(len(sid), f.year, np.int32),
        "student_id": pl.Series(ids[order]).cast(pl.String),
        "district_code": _lookup(leas.code, f.dist[order]),
        "school_code": _lookup(dirx.school_code, f.school[order]),
        "grade": _lookup(GRADES, f.grade[order]),
        "sex": pl.Series(np.where(male, "M", "F")),
        "race": _lookup(RACE_CODES, p.race[sid]),
        "el": f.el[order], "iep": f.iep[order], "ecodis": f.ecodis[order],
        "days_enrolled": f.days_enrolled[order], "days_attended": f.days_attended[order],
        "first_name": first, "last_name": last,
        "birth_date": pl.Series(birth.astype(np.int32)).cast(pl.Date),
        "ssn": pl.Series(np.where(ssn < 0, 0, ssn)).cast(pl.String).scatter(
            np.flatnonzero(ssn < 0), None),
    })
    return writer.typed(df, schema.ENROLLMENT)


def _assessment_df(o: _Out, ident: _Identity, leas: Leas, dirx: Directory) -> pl.DataFrame:
    t = o.tests
    ids = ident.ids(t.sid)
    order = np.lexsort((t.subject, ids))
    df = pl.DataFrame({
        "year": np.full(len(ids), o.frame.year, np.int32),
        "student_id": pl.Series(ids[order]).cast(pl.String),
        "district_code": _lookup(leas.code, t.dist[order]),
        "school_code": _lookup(dirx.school_code, t.school[order]),
        "grade": _lookup(GRADES, t.grade[order]),
        "subject": _lookup(assessment.SUBJECTS, t.subject[order]),
        "scale_score": o.scores[order],
        "achievement_level": _lookup(schema.ACHIEVEMENT_LEVELS, o.levels[order]),
    })
    return writer.typed(df, schema.ASSESSMENT)


def _graduation_df(o: _Out, ident: _Identity, leas: Leas, dirx: Directory) -> pl.DataFrame:
    c, p = o.cohort, ident.people
    ids = ident.ids(c.sid)
    order = np.argsort(ids, kind="stable")
    sid = c.sid[order]
    df = pl.DataFrame({
        "year": np.full(len(ids), o.frame.year, np.int32),
        "student_id": pl.Series(ids[order]).cast(pl.String),
        "district_code": _lookup(leas.code, c.dist[order]),
        "school_code": _lookup(dirx.school_code, c.school[order]),
        "sex": pl.Series(np.where(p.male[sid], "M", "F")),
        "race": _lookup(RACE_CODES, p.race[sid]),
        "el": c.el[order], "iep": c.iep[order], "ecodis": c.ecodis[order],
        "outcome": _lookup(graduation.OUTCOMES, c.outcome[order]),
    })
    return writer.typed(df, schema.GRADUATION)


def generate(out: Path | str, *, seed: int = 20240601,
             years: tuple[int, ...] = (2021, 2022, 2023, 2024, 2025), scale: float = 1.0,
             profile: str = "state", canaries: int = 0, fmt: str = "parquet",
             progress: bool = False) -> dict[str, object]:
    """Write a synthetic extract to ``out``; returns the contents of ``extract.json``."""
    out = Path(out)
    years = tuple(sorted(set(int(y) for y in years)))
    problems = []
    if not years or years[0] < 2000 or years[-1] > 2100:
        problems.append("years must be between 2000 and 2100")
    if fmt not in ("parquet", "csv"):
        problems.append(f"format must be parquet or csv, not {fmt!r}")
    if profile not in PROFILES:
        problems.append(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    if not 0 < scale <= 10:
        problems.append(f"scale must be above 0 and at most 10, not {scale}")
    if not 0 <= canaries <= MAX_CANARIES:
        problems.append(f"canaries must be between 0 and {MAX_CANARIES}, not {canaries}")
    if problems:
        raise SynthError("cannot generate the extract: " + "; ".join(problems))
    if profile == "tiny":
        scale = 1.0
    steps = Steps(progress, total=len(years) * 2 + BURN_IN + 3)
    try:
        meta = _build(out, seed, years, scale, profile, canaries, fmt, steps)
        steps.finish(f"extract written to {out}")
    finally:
        steps.stop()
    return meta


def _build(out: Path, seed: int, years: tuple[int, ...], scale: float, profile: str,
           canaries: int, fmt: str, steps: Steps) -> dict[str, object]:
    leas = load_leas(profile)
    dirx = build_directory(leas, _rng(seed, "directory"))
    steps.done(f"directory: {leas.n} LEAs, {dirx.schools.height} schools")
    panel = Panel(leas, dirx, scale, _rng(seed, "panel"))
    rng_a, rng_g = _rng(seed, "assessment"), _rng(seed, "graduation")
    effect = assessment.lea_effect(leas, rng_a)
    school_eff = assessment.school_effect(dirx.schools.height, rng_a)
    rates = graduation.target_rates(leas, rng_g)
    # One year past the last: who repeats grade 12 decides who is "continuing" in a cohort.
    sim_years = list(range(years[0] - BURN_IN, years[-1] + 2))
    kept: dict[int, tuple[YearFrame, assessment.Tests]] = {}
    repeating: dict[int, np.ndarray] = {}
    prev: YearFrame | None = None
    for f in panel.run(sim_years):
        tests = assessment.choose_eoc(f, panel.people, rng_a)
        if f.year in years:
            kept[f.year] = (f, tests)
        if prev is not None and prev.year in years:
            repeating[prev.year] = np.intersect1d(prev.sid[prev.grade == G12],
                                                  f.sid[f.grade == G12])
        prev = f
        steps.done(f"{f.year}: {len(f.sid):,} students simulated")
    del prev
    exits = panel.exits.arrays()
    people = panel.people
    if profile == "tiny":
        focus = 2024 if 2024 in years else years[-1]
        _force_hispanic(leas, people, kept[focus][0], _rng(seed, "tiny"))
    canary_sids = _pick_canaries(canaries, kept[years[0]][0], _rng(seed, "canaries"))
    ident = _Identity(people, canary_sids, seed)

    meta: dict[str, object] = {
        "generator": "site_builder.synth", "generator_version": GENERATOR_VERSION,
        "seed": seed, "years": list(years), "scale": scale, "profile": profile,
        "canaries": canaries, "format": fmt, "row_counts": {},
    }
    counts: dict[str, dict[str, int]] = {}
    canary_rows: dict[int, dict[str, object]] = {}
    with writer.atomic_extract(out) as tmp:
        d = writer.make_dir(tmp / "directory")
        writer.write_frame(writer.typed(dirx.districts, schema.DISTRICTS), d / "districts", "csv")
        writer.write_frame(writer.typed(dirx.schools, schema.SCHOOLS), d / "schools", "csv")
        for y in years:
            f, tests = kept.pop(y)
            # Each year's scores from a stream of its own: drawn from rng_a after every
            # simulated year's test choices, asking for one more year changed every earlier
            # year's results, and publishing a new year then meant revising the old ones.
            scores, levels = assessment.score(tests, f, people, effect, school_eff,
                                              _rng(seed, "scores", y))
            coh = graduation.cohort(y, f, exits, people, rates, repeating[y], rng_g)
            o = _Out(f, tests, scores, levels, coh)
            yd = writer.make_dir(tmp / str(y))
            enr = _enrollment_df(o, ident, leas, dirx)
            files = {"enrollment": enr,
                     "assessment": _assessment_df(o, ident, leas, dirx),
                     "graduation": _graduation_df(o, ident, leas, dirx)}
            for name, df in files.items():
                writer.write_frame(df, yd / name, fmt)
            counts[str(y)] = {k: v.height for k, v in files.items()}
            if canaries:
                _collect_canaries(enr, canary_rows)
            steps.done(f"{y}: wrote {counts[str(y)]['enrollment']:,} students, "
                       f"{counts[str(y)]['assessment']:,} tests, "
                       f"{counts[str(y)]['graduation']:,} cohort members")
            del o, files, enr
        meta["row_counts"] = counts
        meta["districts"] = dirx.districts.height
        meta["schools"] = dirx.schools.height
        if canaries:
            writer.write_json({"canaries": [canary_rows[k] for k in sorted(canary_rows)]},
                              tmp / "canaries.json")
        writer.write_json(meta, tmp / "extract.json")
    return meta


def _collect_canaries(enr: pl.DataFrame, rows: dict[int, dict[str, object]]) -> None:
    c = enr.filter(pl.col("first_name") == "Canary")
    for r in c.iter_rows(named=True):
        entry = rows.setdefault(int(r["student_id"]), {
            "student_id": r["student_id"], "first_name": r["first_name"],
            "last_name": r["last_name"], "birth_date": r["birth_date"].isoformat()
            if isinstance(r["birth_date"], dt.date) else str(r["birth_date"]),
            "ssn": r["ssn"], "enrollments": []})
        enrollments: list[dict[str, object]] = entry["enrollments"]  # type: ignore[assignment]
        enrollments.append({"year": r["year"], "district_code": r["district_code"],
                            "school_code": r["school_code"], "grade": r["grade"]})
