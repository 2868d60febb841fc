"""The input contract: one declaration of every file in a student-level extract.

Everything that knows the shape of an extract reads it from here:

* ``site_builder.synth`` writes files in exactly this shape;
* ``site_builder.contract`` checks a real or synthetic extract against it;
* the loader keeps only the columns that are not PII (the allow-list);
* the analysts' data dictionary is generated from it.

Layout of an extract directory::

    extract/
      extract.json                  what made it (generator, seed, years); optional
      directory/districts.csv       one row per LEA (public directory data)
      directory/schools.csv         one row per school building
      2021/enrollment.parquet       one row per student enrolled that school year
      2021/assessment.parquet       one row per test result
      2021/graduation.parquet       one row per student in the 4-year cohort ending that year
      2022/...
      canaries.json                 only with ``synth --canaries``: the planted canary students

A year directory is named by the school year's *ending* year: ``2024`` is 2023-24.
Files may also be CSV (``enrollment.csv``); Parquet is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

# --- code sets ---------------------------------------------------------------------

GRADES: tuple[str, ...] = ("PK", "K", "01", "02", "03", "04", "05", "06", "07", "08",
                           "09", "10", "11", "12")
"""Grade codes in order. PK is pre-kindergarten; K kindergarten."""

GRADE_ORDER: dict[str, int] = {g: i for i, g in enumerate(GRADES)}

RACES: dict[str, str] = {
    "AM": "American Indian or Alaska Native",
    "AS": "Asian",
    "BL": "Black",
    "HI": "Hispanic",
    "MU": "Multiracial",
    "PI": "Pacific Islander",
    "WH": "White",
}
"""The seven federal race/ethnicity categories: code -> public label."""

SEXES: dict[str, str] = {"F": "Female", "M": "Male"}

SUBJECTS: dict[str, tuple[str, ...]] = {
    "ELA": ("03", "04", "05", "06", "07", "08"),
    "Math": ("03", "04", "05", "06", "07", "08"),
    "Science": ("05", "08"),
    "English II": ("09", "10", "11", "12"),
    "Algebra I": ("08", "09", "10", "11", "12"),
    "Biology": ("09", "10", "11", "12"),
}
"""MAP subjects and the grades a student may take them in.

ELA, Math and Science are grade-level tests; English II, Algebra I and Biology are
end-of-course (EOC) tests taken in high school (Algebra I also by advanced 8th graders).
"""

ACHIEVEMENT_LEVELS: tuple[str, ...] = ("Below Basic", "Basic", "Proficient", "Advanced")

SCALE_SCORE_RANGE: tuple[int, int] = (100, 999)

GRADUATION_OUTCOMES: dict[str, str] = {
    "graduated": "Graduated with a regular diploma within four years",
    "continuing": "Still enrolled after four years",
    "dropped_out": "Left school without a diploma",
    "hse": "Earned a high-school equivalency instead of a diploma",
}

LEA_KINDS: tuple[str, ...] = ("district", "charter", "special")
SCHOOL_KINDS: tuple[str, ...] = ("elementary", "middle", "high", "k12", "other")

MAX_DAYS = 200
"""No Missouri school year has more than 200 days of instruction."""

# --- the declaration ---------------------------------------------------------------

DType = Literal["str", "int", "bool", "date"]

POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int32(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
}


@dataclass(frozen=True)
class Column:
    """One column of an extract file."""

    name: str
    dtype: DType
    description: str
    key: bool = False
    """Part of the row's identity; may never be null."""
    nullable: bool = False
    pii: bool = False
    """Personally identifiable: dropped by the loader, never leaves ``data/``."""
    codes: tuple[str, ...] | None = None
    """Allowed values, when the column is a code."""
    pattern: str | None = None
    """Regular expression a string value must match in full."""
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class FileSpec:
    """One file of an extract."""

    name: str
    """File stem: ``enrollment`` is read from ``enrollment.parquet`` or ``enrollment.csv``."""
    description: str
    columns: tuple[Column, ...]
    per_year: bool = True
    """True for files under a year directory; False for the directory files."""
    unique: tuple[str, ...] = ()
    """Columns that together identify a row."""
    grain: str = ""
    """One row per ... (plain words, for the data dictionary)."""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def public_columns(self) -> list[str]:
        """The allow-list: every column the loader passes on."""
        return [c.name for c in self.columns if not c.pii]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def polars_schema(self, *, include_pii: bool = True) -> dict[str, pl.DataType]:
        return {c.name: POLARS_TYPES[c.dtype] for c in self.columns if include_pii or not c.pii}


_YEAR = Column("year", "int", "School year by its ending year: 2024 is 2023-24.",
               key=True, min=2000, max=2100)
_STUDENT_ID = Column(
    "student_id", "str",
    "MOSIS state student identifier: 10 digits, the same for a student in every year.",
    key=True, pii=True, pattern=r"\d{10}")
_DISTRICT = Column("district_code", "str",
                   "County-district code: 3-digit county code then 3-digit district number.",
                   key=True, pattern=r"\d{6}")
_SCHOOL = Column("school_code", "str", "Building code, unique within its district: 4 digits.",
                 key=True, pattern=r"\d{4}")
_GRADE = Column("grade", "str", "Grade level: PK, K, 01 to 12.", codes=GRADES)
_SEX = Column("sex", "str", "Sex as reported: F or M.", codes=tuple(SEXES))
_RACE = Column("race", "str", "Federal race/ethnicity category code.", codes=tuple(RACES))
_EL = Column("el", "bool", "English learner (LEP) this year.")
_IEP = Column("iep", "bool",
              "Has an Individualized Education Program (students with disabilities).")
_ECODIS = Column("ecodis", "bool",
                 "Economically disadvantaged: eligible for free or reduced-price lunch.")

ENROLLMENT = FileSpec(
    name="enrollment",
    description="Every student enrolled in a Missouri public school that year, at their "
                "primary school of enrollment, with attendance.",
    grain="one row per student per school year",
    unique=("year", "student_id"),
    columns=(
        _YEAR, _STUDENT_ID, _DISTRICT, _SCHOOL, _GRADE, _SEX, _RACE, _EL, _IEP, _ECODIS,
        Column("days_enrolled", "int", "Days the student was enrolled this year.",
               min=1, max=MAX_DAYS),
        Column("days_attended", "int",
               "Days the student attended; never more than days enrolled.", min=0, max=MAX_DAYS),
        Column("first_name", "str", "Legal first name.", pii=True),
        Column("last_name", "str", "Legal last name.", pii=True),
        Column("birth_date", "date", "Date of birth.", pii=True),
        Column("ssn", "str", "Social Security number as held by the district (9 digits).",
               pii=True, nullable=True, pattern=r"\d{9}"),
    ),
)

ASSESSMENT = FileSpec(
    name="assessment",
    description="Missouri Assessment Program (MAP) results: grade-level tests in grades 3-8 "
                "and end-of-course tests in high school.",
    grain="one row per student per subject per school year",
    unique=("year", "student_id", "subject"),
    columns=(
        _YEAR, _STUDENT_ID, _DISTRICT, _SCHOOL,
        Column("grade", "str", "Grade the student was in when tested.", codes=GRADES),
        Column("subject", "str", "Subject tested.", key=True, codes=tuple(SUBJECTS)),
        Column("scale_score", "int", "MAP scale score.",
               min=SCALE_SCORE_RANGE[0], max=SCALE_SCORE_RANGE[1]),
        Column("achievement_level", "str", "MAP achievement level.", codes=ACHIEVEMENT_LEVELS),
    ),
)

GRADUATION = FileSpec(
    name="graduation",
    description="The four-year adjusted graduation cohort whose expected graduation is this "
                "year: students who entered grade 9 four years earlier, plus transfers in, "
                "minus transfers out, with each student's outcome.",
    grain="one row per student in the cohort",
    unique=("year", "student_id"),
    columns=(
        _YEAR, _STUDENT_ID, _DISTRICT, _SCHOOL, _SEX, _RACE, _EL, _IEP, _ECODIS,
        Column("outcome", "str", "What became of the student by the end of the fourth year.",
               codes=tuple(GRADUATION_OUTCOMES)),
    ),
)

DISTRICTS = FileSpec(
    name="districts",
    description="Directory of local education agencies (LEAs): public information.",
    grain="one row per LEA",
    per_year=False,
    unique=("district_code",),
    columns=(
        _DISTRICT,
        Column("district_name", "str", "LEA name as DESE publishes it."),
        Column("county_code", "str", "DESE 3-digit county code.", pattern=r"\d{3}"),
        Column("county_name", "str", "County name."),
        Column("lea_kind", "str", "district, charter or special.", codes=LEA_KINDS),
        Column("low_grade", "str", "Lowest grade the LEA serves.", codes=GRADES),
        Column("high_grade", "str", "Highest grade the LEA serves.", codes=GRADES),
    ),
)

SCHOOLS = FileSpec(
    name="schools",
    description="Directory of school buildings: public information.",
    grain="one row per school building",
    per_year=False,
    unique=("district_code", "school_code"),
    columns=(
        _DISTRICT, _SCHOOL,
        Column("school_name", "str", "Building name."),
        Column("school_kind", "str", "elementary, middle, high, k12 or other.",
               codes=SCHOOL_KINDS),
        Column("low_grade", "str", "Lowest grade the building serves.", codes=GRADES),
        Column("high_grade", "str", "Highest grade the building serves.", codes=GRADES),
    ),
)

YEAR_FILES: tuple[FileSpec, ...] = (ENROLLMENT, ASSESSMENT, GRADUATION)
DIRECTORY_FILES: tuple[FileSpec, ...] = (DISTRICTS, SCHOOLS)
ALL_FILES: tuple[FileSpec, ...] = DIRECTORY_FILES + YEAR_FILES
FILES_BY_NAME: dict[str, FileSpec] = {f.name: f for f in ALL_FILES}

PII_COLUMNS: frozenset[str] = frozenset(c for f in ALL_FILES for c in f.pii_columns)
"""Every column the loader must drop. ``student_id`` is among them: the loader uses it only to
join test results to the student's enrollment record, then drops it."""
