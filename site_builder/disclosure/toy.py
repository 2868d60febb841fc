"""Small, linked, internally consistent raw cell tables for tests and benchmarks.

Cells are aggregated from random student records, exactly as compute does, so every
relation the policy declares holds: groups add up to All students, grades to All, schools
to their district, districts to the state, levels to the number tested. Zero counts are
present as rows. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from site_builder.cells import RAW_SCHEMA

RACES = ["American Indian or Alaska Native", "Asian", "Black", "Hispanic", "Multiracial",
         "Pacific Islander", "White"]
RACE_P = [0.003, 0.021, 0.152, 0.084, 0.054, 0.004, 0.682]
GRADES = ["PK", "K", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
TESTED_GRADES = ["03", "04", "05", "06", "07", "08"]
SUBJECTS = ["ELA", "Math"]
LEVELS = ["level_below_basic", "level_basic", "level_proficient", "level_advanced"]

PARTITIONS: list[tuple[str, str, list[str]]] = [
    ("g_race", "Race/Ethnicity", RACES),
    ("g_sex", "Sex", ["Female", "Male"]),
    ("g_el", "Program", ["English learners", "Not English learners"]),
    ("g_iep", "Program", ["Students with disabilities", "Students without disabilities"]),
    ("g_frl", "Program", ["Economically disadvantaged", "Not economically disadvantaged"]),
]


def toy_students(seed: int = 0, n_districts: int = 3, schools: tuple[int, int] = (1, 4),
                 size: tuple[float, float] = (5.0, 1.0), years: tuple[int, ...] = (2024,),
                 ) -> pl.DataFrame:
    """Random student records: one row per student-year."""
    rng = np.random.default_rng(seed)
    frames = []
    for year in years:
        rows = []
        for d in range(n_districts):
            dcode = f"{d + 1:06d}"
            for s in range(int(rng.integers(schools[0], schools[1] + 1))):
                n = max(1, int(rng.lognormal(size[0], size[1])))
                rows.append((dcode, f"{d + 1:02d}{s + 1:02d}", n))
        dc = np.repeat([r[0] for r in rows], [r[2] for r in rows])
        sc = np.repeat([r[1] for r in rows], [r[2] for r in rows])
        n = len(dc)
        frl = rng.random(n) < 0.47
        ability = rng.normal(0, 1, n) - 0.6 * frl
        chronic = rng.random(n) < (0.22 + 0.1 * frl)
        frames.append(pl.DataFrame({
            "year": np.full(n, year, dtype=np.int32), "district_code": dc, "school_code": sc,
            "grade": rng.choice(GRADES, n),
            "g_race": rng.choice(RACES, n, p=RACE_P),
            "g_sex": rng.choice(["Female", "Male"], n),
            "g_el": np.where(rng.random(n) < 0.05, "English learners", "Not English learners"),
            "g_iep": np.where(rng.random(n) < 0.14, "Students with disabilities",
                              "Students without disabilities"),
            "g_frl": np.where(frl, "Economically disadvantaged", "Not economically disadvantaged"),
            # Every pupil is one or the other (the policy's partition). The draw that once
            # made 3% of the others miss 90/90 as well is still taken, so that the toy
            # states the tests name keep their other columns.
            "attendance_90_90": ~chronic | (rng.random(n) < 0),
            "chronic_absence": chronic,
            "lvl_ELA": np.clip(np.floor(ability + 1.7 + rng.normal(0, .5, n)), 0, 3).astype(int),
            "lvl_Math": np.clip(np.floor(ability + 1.6 + rng.normal(0, .5, n)), 0, 3).astype(int),
            "graduation_4yr": rng.random(n) < 0.9,
            # A few pupils of a tested grade are not tested (Missouri's participation is
            # about 98%), drawn last so that every column above stays as it was. With every
            # pupil tested, every tested count equals its enrolment and moves only with it:
            # a state-level complement then needs enrolment withheld down to its schools.
            "tested": rng.random(n) >= 0.02,
        }))
    return pl.concat(frames)


def _entities(st: pl.DataFrame) -> pl.DataFrame:
    schools = st.select("year", "district_code", "school_code").unique()
    return pl.concat([
        schools.with_columns(pl.lit("school").alias("level")),
        schools.select("year", "district_code").unique().with_columns(
            pl.lit("").alias("school_code"), pl.lit("district").alias("level")),
        schools.select("year").unique().with_columns(
            pl.lit("").alias("district_code"), pl.lit("").alias("school_code"),
            pl.lit("state").alias("level")),
    ]).select("year", "level", "district_code", "school_code")


def _aggregate(st: pl.DataFrame, ents: pl.DataFrame, measures: dict[str, pl.Expr],
               grades: list[str] | None) -> pl.DataFrame:
    """n_students and numerators for every entity x breakdown (zeros filled)."""
    aggs = [pl.len().alias("n_students"), *[e.sum().alias(m) for m, e in measures.items()]]
    levels = {"school": ["district_code", "school_code"], "district": ["district_code"],
              "state": []}
    out = []
    breakdowns: list[tuple[str, str, list[str], str]] = [
        ("", "All", ["All students"], "All")]
    breakdowns += [(c, fam, mem, "All") for c, fam, mem in PARTITIONS]
    if grades:
        breakdowns.append(("grade", "All", ["All students"], "*"))
    for col, fam, members, grade in breakdowns:
        for level, by in levels.items():
            keys = ["year", *by] + ([col] if col else [])
            agg = st.group_by(keys).agg(aggs)
            if col == "grade":
                frame = pl.DataFrame({"grade": grades})
                agg = agg.with_columns(pl.lit("All students").alias("student_group"))
            elif col:
                frame = pl.DataFrame({"student_group": members})
                agg = agg.rename({col: "student_group"})
            else:
                frame = pl.DataFrame({"student_group": ["All students"]})
                agg = agg.with_columns(pl.lit("All students").alias("student_group"))
            e = ents.filter(pl.col("level") == level).join(frame, how="cross")
            if col != "grade":
                e = e.with_columns(pl.lit(grade).alias("grade"))
            else:
                e = e.with_columns(pl.lit("All students").alias("student_group"))
            on = ["year", *by, "student_group"] + (["grade"] if col == "grade" else [])
            j = e.join(agg, on=on, how="left").with_columns(
                pl.col(["n_students", *measures]).fill_null(0).cast(pl.Int64),
                pl.lit(fam).alias("group_family"))
            out.append(j)
    return pl.concat(out, how="diagonal")


def toy_cells(students: pl.DataFrame) -> pl.DataFrame:
    """Raw cells (cells.RAW_SCHEMA) for enrollment, attendance, assessment, graduation."""
    ents = _entities(students)
    out = []

    def emit(df: pl.DataFrame, topic: str, population: str, subject: str,
             measures: list[str] | None) -> None:
        common = [pl.lit(topic).alias("topic"), pl.lit(population).alias("population"),
                  pl.lit(subject).alias("subject")]
        if measures is None:
            out.append(df.with_columns(*common, pl.lit("enrollment").alias("measure"),
                                       pl.lit(None, pl.Int64).alias("n_meeting")))
            return
        for m in measures:
            out.append(df.with_columns(*common, pl.lit(m).alias("measure"),
                                       pl.col(m).alias("n_meeting")))

    enr = _aggregate(students, ents, {"attendance_90_90": pl.col("attendance_90_90"),
                                      "chronic_absence": pl.col("chronic_absence")}, GRADES)
    emit(enr, "enrollment", "enrolled", "", None)
    emit(enr, "attendance", "enrolled", "", ["attendance_90_90", "chronic_absence"])
    tested = students.filter(pl.col("grade").is_in(TESTED_GRADES) & pl.col("tested"))
    for subj in SUBJECTS:
        lv = pl.col(f"lvl_{subj}")
        ms = {name: lv == i for i, name in enumerate(LEVELS)}
        ms["proficient_or_advanced"] = lv >= 2
        emit(_aggregate(tested, ents, ms, TESTED_GRADES), "assessment", "tested", subj,
             ["proficient_or_advanced", *LEVELS])
    coh = students.filter(pl.col("grade") == "12")
    emit(_aggregate(coh, ents, {"graduation_4yr": pl.col("graduation_4yr")}, None),
         "graduation", "cohort", "", ["graduation_4yr"])
    cells = pl.concat([o.select(list(RAW_SCHEMA)) for o in out]).cast(RAW_SCHEMA)  # type: ignore[arg-type]
    return cells.sort(["year", "level", "district_code", "school_code", "topic", "measure",
                       "subject", "grade", "group_family", "student_group"])


def toy_state(seed: int = 0, **kwargs: object) -> pl.DataFrame:
    """Raw cells of a random small state (see :func:`toy_students` for the options)."""
    return toy_cells(toy_students(seed, **kwargs))  # type: ignore[arg-type]
